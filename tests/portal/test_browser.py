"""The portal in a real browser: Debian's Chromium driven by Playwright.

Each scenario runs the sample cycle on a simulated clock, serves the portal with uvicorn on
loopback and sends real email (Apprise → SMTP → an aiosmtpd mailbox). People start from the
link in the email they received, as they would. Screenshots of every page are saved under
``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import certifi
import pytest
from sqlalchemy import select

from plancycle.assignments import complete_assignment, find_person, find_task
from plancycle.clock import SimulatedClock
from plancycle.notify.channels import AppriseChannels
from plancycle.portal import PortalSettings, create_app
from plancycle.portal.settings import OidcSettings
from plancycle.register.db import home as data_home
from plancycle.register.models import AuditEntry, Decision, Task, TaskState, Upload
from plancycle.runtime import Runtime
from plancycle.synthetic import generate_trust

from .helpers import (
    CYCLE,
    PLANNER_TOKEN,
    ROOT,
    build_runtime,
    drive_until_open,
    open_stage,
    quietly,
    register_plan,
)
from .live import LiveServer, Mailbox, free_port
from .oidc_provider import CLIENT_ID, CLIENT_SECRET, Directory, Provider

CHROMIUM = Path("/usr/bin/chromium")
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
SHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="Debian's Chromium is not installed at /usr/bin/chromium "
           "(as root: apt-get install -y chromium; .ci/run does this)")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    # Generous: validation runs Great Expectations behind the upload, and CI machines are shared.
    context.set_default_timeout(60_000)
    yield context.new_page()
    context.close()


@dataclass
class Live:
    runtime: Runtime
    clock: SimulatedClock
    mailbox: Mailbox
    server: LiveServer

    @property
    def url(self) -> str:
        return self.server.url


def serve(home: Path, clock: SimulatedClock, monkeypatch: pytest.MonkeyPatch,
          **settings: object) -> Iterator[Live]:
    # Plain SMTP on loopback: skip loading the system CA bundle for every message (speed only).
    (home / "ca").mkdir()
    monkeypatch.setenv("SSL_CERT_FILE", str(home / "ca" / "none.pem"))
    monkeypatch.setenv("SSL_CERT_DIR", str(home / "ca"))
    mailbox = Mailbox()
    mailbox.start()
    port = free_port()
    runtime = build_runtime(home, clock, AppriseChannels(email_url=mailbox.apprise_url),
                            portal_url=f"http://127.0.0.1:{port}")
    server = LiveServer(create_app(runtime, PortalSettings(
        prefect_ui_url="http://127.0.0.1:4200", public_url=f"http://127.0.0.1:{port}",
        **settings)), port)  # type: ignore[arg-type]
    server.start()
    yield Live(runtime, clock, mailbox, server)
    server.stop()
    mailbox.stop()
    runtime.register.dispose()


@pytest.fixture
def live(home: Path, clock: SimulatedClock, monkeypatch: pytest.MonkeyPatch) -> Iterator[Live]:
    yield from serve(home, clock, monkeypatch, planner_token=PLANNER_TOKEN)


@pytest.fixture
def provider(clock: SimulatedClock) -> Iterator[Provider]:
    """The organisation's OpenID Connect provider, on loopback (see ``oidc_provider``)."""
    directory = Directory()
    directory.add("helen.shaw@riverside.nhs.uk", "Helen Shaw")
    idp = Provider(now=lambda: clock.now().timestamp(), directory=directory).start()
    yield idp
    idp.stop()


@pytest.fixture
def live_signin(home: Path, clock: SimulatedClock, monkeypatch: pytest.MonkeyPatch,
                provider: Provider) -> Iterator[Live]:
    for live in serve(home, clock, monkeypatch, oidc=OidcSettings(
            discovery_url=provider.discovery_url, client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET)):
        # The portal's HTTP client to the provider loads the CA bundle (serve() hides it).
        monkeypatch.setenv("SSL_CERT_FILE", certifi.where())
        yield live


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def staff_in_post_csv(defects: set[str] | None = None) -> bytes:
    frame = generate_trust(size=200, seed=3, defects=defects)["staff_in_post"]
    return frame.to_csv(index=False, lineterminator="\n").encode()


def test_a_role_holder_fixes_a_broken_return_from_the_link_in_their_email(live: Live, page):
    rt = live.runtime
    open_stage(rt, live.clock, "workforce_data")
    rt.deliver(CYCLE)
    mail = live.mailbox.latest("lucy.fernandes@riverside.nhs.uk", "Staff in post extract")
    link = mail.task_link(live.url)

    page.goto(link)
    assert page.locator("h1").inner_text() == "Staff in post extract (ESR)"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
    shot(page, "01-task")

    page.get_by_role("link", name="Upload your return").click()
    page.wait_for_selector("h1:has-text('Upload your return')")
    assert page.locator("html.js").count() == 1  # the enhancement script ran under the CSP
    shot(page, "02-upload")

    # A picture renamed .csv is refused by its content (the script shows the refusal page).
    page.set_input_files("#file", files=[{"name": "staff_in_post.csv", "mimeType": "text/csv",
                                          "buffer": PNG}])
    page.get_by_role("button", name="Upload and check").click()
    page.wait_for_selector("#file-error")
    assert "is a PNG image, not a spreadsheet" in page.locator("#file-error").inner_text()
    shot(page, "02b-upload-refused")

    # A broken extract: three staff with a WTE outside 0-1.
    page.set_input_files("#file", files=[{"name": "staff_in_post_april.csv",
                                          "mimeType": "text/csv",
                                          "buffer": staff_in_post_csv({"wte_out_of_range"})}])
    page.get_by_role("button", name="Upload and check").click()
    page.wait_for_selector("h2:has-text('Resubmission required')")
    report = page.locator(".dq-report")
    assert "range.wte" in report.inner_text()
    failing = report.locator("table").first
    assert failing.locator("tbody tr").count() == 3  # the rows to fix, with row numbers
    shot(page, "03-dq-report-fail")

    # The corrected file, dropped on the resubmission form (drag-and-drop enhancement).
    fixed = staff_in_post_csv().decode()
    transfer = page.evaluate_handle(
        """text => { const dt = new DataTransfer();
                     dt.items.add(new File([text], 'staff_in_post_april_v2.csv',
                                           {type: 'text/csv'}));
                     return dt; }""", fixed)
    page.dispatch_event("[data-dropzone]", "drop", {"dataTransfer": transfer})
    assert page.evaluate("document.querySelector('#file').files[0].name") \
        == "staff_in_post_april_v2.csv"
    page.get_by_role("button", name="Upload and check").click()
    page.wait_for_selector("h2:has-text('Accepted')")
    assert "staff_in_post_april_v2.csv" in page.locator("h1").inner_text()
    shot(page, "04-dq-report-accepted")

    page.get_by_role("link", name="All my tasks").first.click()
    page.wait_for_selector("h1:has-text('Your open tasks')")
    assert "Staff in post extract" not in page.locator("main").inner_text()
    assert page.get_by_role("link", name="Vacancies by staff group, band and service").count()
    shot(page, "05-my-tasks")

    with rt.register.session() as session:
        states = session.scalars(select(Upload.state).order_by(Upload.id)).all()
        task = find_task(session, CYCLE, "staff_in_post_return")
        assert states == ["failed", "accepted"]
        assert task.state == TaskState.COMPLETE
    # The DQ report of each upload also went to Lucy by email.
    assert live.mailbox.latest("lucy.fernandes@riverside.nhs.uk", "Staff in post")


def open_executive_gate(live: Live, sign_in: bool = False) -> tuple[str, str]:
    """The executive gate opened with the draft plan, its approvers emailed: (Helen's link,
    the plan's SHA-256). ``sign_in``: the gate as ``sign_in: true`` in the YAML."""
    rt, clock = live.runtime, live.clock
    drive_until_open(rt, clock, "medical_review")   # the executive reviews are open
    quietly(rt)                                     # the year so far, not in the mailbox
    sha = register_plan(rt, data_home() / "documents", clock.now())
    with rt.register.session(actor="setup") as session:
        for key, person in (("nursing_review", "grace.mensah"),
                            ("medical_review", "james.whitfield")):
            complete_assignment(session, find_task(session, CYCLE, key),
                                find_person(session, CYCLE, person), clock.now())
        if sign_in:
            gate = find_task(session, CYCLE, "executive_gate")
            gate.settings = {**gate.settings, "gate": {**gate.settings["gate"], "sign_in": True}}
    rt.advance(CYCLE)   # the gate opens: its approvers are asked to decide
    rt.deliver(CYCLE)
    mail = live.mailbox.latest("helen.shaw@riverside.nhs.uk", "Executive approval")
    return mail.task_link(live.url), sha


def test_an_executive_approves_the_draft_plan_with_conditions(live: Live, page):
    rt = live.runtime
    link, sha = open_executive_gate(live)

    page.goto(link)
    page.get_by_role("link", name="Review the document and decide").click()
    page.wait_for_selector("legend:has-text('What is your decision')")
    assert sha in page.locator("main").inner_text()
    assert page.locator("input[name=verdict]:checked").count() == 0  # no default choice
    shot(page, "06-approval")

    with page.expect_popup() as popup:
        page.get_by_role("link", name=re.compile("open the document")).click()
    document = popup.value
    document.wait_for_load_state()
    assert "Workforce plan 2026/27" in document.locator("h1").inner_text()
    shot(document, "07-document")
    document.close()

    page.get_by_label("Approve with conditions").check()
    page.get_by_label("Condition 1", exact=True).fill(
        "Agency spend trajectory reviewed at the May finance committee")
    page.get_by_label("Who acts on condition 1").select_option("finance_lead")
    page.get_by_label("Condition 2", exact=True).fill("Nursing pipeline risks added to the "
                                                      "corporate risk register")
    page.get_by_label("Who acts on condition 2").select_option("director_of_nursing")
    page.get_by_label("Signature: type your full name").fill("Helen Shaw")
    page.get_by_role("button", name="Continue to check your decision").click()

    page.wait_for_selector("h1:has-text('Check your decision')")
    main = page.locator("main").inner_text()
    assert "Approve with conditions" in main and "Finance Lead" in main and sha in main
    with rt.register.session() as session:
        assert session.scalars(select(Decision)).first() is None  # not recorded before confirming
    shot(page, "08-approval-confirm")

    page.get_by_role("button", name="Confirm and record my decision").click()
    page.wait_for_selector("h2:has-text('Your decision has been recorded')")
    shot(page, "09-approval-recorded")

    with rt.register.session() as session:
        decision = session.scalars(select(Decision)).one()
        assert decision.decision == "approve_with_conditions"
        assert decision.document_sha256 == sha and decision.signature == "Helen Shaw"
        assert [c["role"] for c in decision.conditions] == ["finance_lead",
                                                             "director_of_nursing"]
        conditions = session.scalars(select(Task).where(
            Task.key.like("executive_gate-condition-%"))).all()
        assert len(conditions) == 2


def test_an_executive_signs_in_with_their_organisation_and_approves(live_signin: Live, page,
                                                                   provider: Provider):
    live = live_signin
    rt = live.runtime
    link, sha = open_executive_gate(live, sign_in=True)

    page.goto(link)
    page.get_by_role("link", name="Review the document and decide").click()
    # The link alone is not enough for this gate: off to the organisation's sign-in page.
    page.wait_for_selector("h1:has-text('Sign in to your account')")
    assert page.url.startswith(f"{provider.issuer}/authorize?")
    shot(page, "15-provider-sign-in")
    page.get_by_label("Email address").fill("helen.shaw@riverside.nhs.uk")
    page.get_by_role("button", name="Sign in").click()

    page.wait_for_selector("legend:has-text('What is your decision')")
    assert page.url.startswith(live.url) and page.url.endswith("/approve")
    assert "Signed in as Helen Shaw" in page.locator("header").inner_text()
    shot(page, "16-approval-signed-in")
    page.get_by_label("Approve", exact=True).check()
    page.get_by_label("Signature: type your full name").fill("Helen Shaw")
    page.get_by_role("button", name="Continue to check your decision").click()
    page.wait_for_selector("h1:has-text('Check your decision')")
    page.get_by_role("button", name="Confirm and record my decision").click()
    page.wait_for_selector("h2:has-text('Your decision has been recorded')")
    shot(page, "17-approval-recorded-signed-in")

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_selector("h1:has-text('Signed out')")
    assert page.url == f"{live.url}/signed-out" and provider.logouts

    with rt.register.session() as session:
        decision = session.scalars(select(Decision)).one()
        assert (decision.decision, decision.document_sha256) == ("approve", sha)
        actions = {e.action: e.after for e in session.scalars(select(AuditEntry).where(
            AuditEntry.action.in_(["sign_in", "decide", "sign_out"])))}
    assert set(actions) == {"sign_in", "decide", "sign_out"}
    for entry in actions.values():
        assert entry["identity"]["email"] == "helen.shaw@riverside.nhs.uk"


def open_dashboard(page, live: Live, screenshot: str | None = None) -> None:  # type: ignore[no-untyped-def]
    """Go to the dashboard, signing in when the session has lapsed (12 hours on the clock)."""
    page.goto(f"{live.url}/planner")
    if page.locator("h1:has-text('Sign in')").count():
        if screenshot:
            shot(page, screenshot)
        page.get_by_label("Planner's token").fill(PLANNER_TOKEN)
        page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("h2#timeline")


def test_the_planner_sees_the_gantt_and_the_overdue_list_change(live: Live, page):
    rt, clock = live.runtime, live.clock
    rt.advance(CYCLE)
    rt.deliver(CYCLE)

    open_dashboard(page, live, screenshot="10-planner-login")
    kickoff = page.locator("svg.gantt g[data-stage=kickoff]")
    assert kickoff.get_attribute("data-rag") == "green"
    assert "Nothing is overdue." in page.locator("section:has(#overdue)").inner_text()
    assert page.get_by_role("link", name="Flow runs in Prefect").get_attribute("href") \
        == "http://127.0.0.1:4200/runs"
    shot(page, "11-dashboard-on-track")

    clock.set(date(2026, 4, 9))  # the executive sponsor was due on Wed 8 April
    open_dashboard(page, live)
    assert kickoff.get_attribute("data-rag") == "amber"
    overdue = page.locator("table.overdue tr[data-task=confirm_exec_sponsor]")
    assert "Helen Shaw" in overdue.inner_text() and "Not yet" in overdue.inner_text()
    shot(page, "12-dashboard-overdue")

    clock.set(date(2026, 4, 16))  # 6 working days late: escalation is due
    rt.chase(CYCLE)
    rt.deliver(CYCLE)
    open_dashboard(page, live)
    assert kickoff.get_attribute("data-rag") == "red"
    row = page.locator("table.overdue tr[data-task=align_business_planning]").inner_text()
    assert "Level 1" in row and "line manager (David Okafor)" in row
    log = page.locator("table.log").inner_text()
    assert "escalation" in log
    assert page.locator("tr[data-stage=kickoff]").get_by_text("Red").count() == 1
    shot(page, "13-dashboard-escalated")


def test_the_pages_work_without_javascript(live: Live, browser):  # type: ignore[no-untyped-def]
    rt = live.runtime
    rt.advance(CYCLE)
    rt.deliver(CYCLE)
    mail = live.mailbox.latest("rachel.moore@riverside.nhs.uk", "Confirm business-planning")
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280,
                                                                        "height": 900})
    page = context.new_page()
    try:
        page.goto(mail.task_link(live.url))
        assert page.locator("html.js").count() == 0
        page.get_by_label("Note for the workforce planner").fill("Dates agreed with finance")
        page.get_by_role("button", name="Mark as complete").click()
        page.wait_for_selector("h2:has-text('Thank you')")
        shot(page, "14-task-complete-no-js")
    finally:
        context.close()
    with rt.register.session() as session:
        task = find_task(session, CYCLE, "align_business_planning")
        assert task.state == TaskState.COMPLETE
        assert task.assignments[0].reason == "Dates agreed with finance"
