"""The portal refuses what it must, with the right status, and changes nothing when it does.

Every refusal here is checked against a snapshot of the register (uploads, decisions,
assignments, task states, link generations) and of the raw upload store.
"""

from __future__ import annotations

import io
import zipfile

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from plancycle.cli import app as cli_app
from plancycle.cli.common import UserError
from plancycle.portal import PortalSettings, create_app
from plancycle.portal.security import sniff, unsafe_name
from plancycle.register.models import AuditEntry

from .helpers import (
    CYCLE,
    PLANNER_TOKEN,
    assignment_id,
    csrf_for,
    csrf_of,
    escalate,
    link,
    open_stage,
    snapshot,
)

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
CSV = b"assignment_id,org_code\n1,RXX\n"
HOW_TO_GET_A_NEW_LINK = "How to get a new link"


def tampered(path: str) -> str:
    """The same link with one character of its signed payload changed."""
    head, token = path.rsplit("/", 1)
    payload, rest = token.split(".", 1)
    swapped = payload[:-3] + ("A" if payload[-3] != "A" else "B") + payload[-2:]
    return f"{head}/{swapped}.{rest}"


def assert_link_page(response, status: int, *, says: str) -> None:
    assert response.status_code == status
    assert HOW_TO_GET_A_NEW_LINK in response.text
    assert "reply to the reminder email" in response.text
    assert says in response.text
    # Nothing about the task: not its name, stage, assignee or any form.
    for secret in ("Confirm the executive sponsor", "Kick-off", "Helen Shaw", "<form"):
        assert secret not in response.text


# --- links ----------------------------------------------------------------------------------

def test_a_forged_link_gets_a_clear_page_and_reveals_nothing(client, runtime):
    good = link(runtime, "helen.shaw", "confirm_exec_sponsor")
    assert client.get(good).status_code == 200
    before = snapshot(runtime)

    assert_link_page(client.get(tampered(good)), 403, says="does not work")
    assert_link_page(client.get("/t/not-a-token-at-all"), 403, says="does not work")
    response = client.post(tampered(good) + "/complete", data={"csrf_token": "x"})
    assert_link_page(response, 403, says="does not work")
    assert snapshot(runtime) == before


def test_a_signed_link_to_an_assignment_that_does_not_exist_is_not_found(client, runtime):
    response = client.get("/t/" + runtime.links.token("helen.shaw", 99999, CYCLE))
    assert_link_page(response, 404, says="no longer in the planning register")
    other_cycle = client.get("/t/" + runtime.links.token("helen.shaw", 1, "another-cycle"))
    assert other_cycle.status_code == 404


def test_a_link_expires_after_thirty_days_on_the_injected_clock(client, runtime, clock):
    path = link(runtime, "helen.shaw", "confirm_exec_sponsor")
    clock.advance(days=29)
    assert client.get(path).status_code == 200
    clock.advance(days=2)  # 31 days after it was signed
    before = snapshot(runtime)
    assert_link_page(client.get(path), 410, says="expired")
    assert_link_page(client.post(path + "/complete", data={}), 410, says="expired")
    assert snapshot(runtime) == before


def test_revoked_links_stop_working_and_the_next_link_works(client, runtime, home):
    old = link(runtime, "helen.shaw", "confirm_exec_sponsor")
    other_person = link(runtime, "rachel.moore", "align_business_planning")
    page = client.get(old)
    assert page.status_code == 200
    token = csrf_of(page.text)

    result = CliRunner().invoke(cli_app, ["link", "revoke", "--person", "helen.shaw",
                                          "--reason", "email forwarded"])
    assert result.exit_code == 0, result.output
    before = snapshot(runtime)

    assert_link_page(client.get(old), 410, says="withdrawn")
    assert_link_page(client.post(old + "/complete", data={"csrf_token": token}), 410,
                     says="withdrawn")
    assert snapshot(runtime) == before
    assert client.get(other_person).status_code == 200  # only her links were withdrawn
    fresh = link(runtime, "helen.shaw", "confirm_exec_sponsor")
    assert client.get(fresh).status_code == 200


def test_revoking_links_of_an_unknown_person_names_the_mistake(runtime):
    result = CliRunner().invoke(cli_app, ["link", "revoke", "--person", "nobody.here"])
    assert isinstance(result.exception, UserError)
    assert "no person 'nobody.here'" in str(result.exception)


def test_a_managers_escalation_link_shows_the_task_but_cannot_act_on_it(client, runtime,
                                                                      settings):
    # Rachel's line manager is David Okafor; the chaser sends him a link to *her* assignment.
    escalate(runtime, "align_business_planning", "rachel.moore")
    manager = link(runtime, "david.okafor", "align_business_planning", holder="rachel.moore")
    page = client.get(manager)
    assert page.status_code == 200
    assert "You are seeing this task because it is late" in page.text
    assert "Rachel Moore" in page.text
    assert 'action="' + manager + '/complete"' not in page.text
    # Even with a valid CSRF token for that link, acting is forbidden.
    token = csrf_for(client, "david.okafor",
                     assignment_id(runtime, "rachel.moore", "align_business_planning"))
    before = snapshot(runtime)
    for action, data in (("complete", {}), ("reassign", {"reason": "away"})):
        response = client.post(f"{manager}/{action}", data={"csrf_token": token, **data})
        assert response.status_code == 403, action
        assert "not act on it" in response.text
    upload = client.post(f"{manager}/upload", data={"csrf_token": token},
                         files={"file": ("staff.csv", CSV, "text/csv")})
    assert upload.status_code == 403
    assert snapshot(runtime) == before


def test_one_persons_link_cannot_reach_another_persons_upload(client, runtime, clock):
    open_stage(runtime, clock, "workforce_data")
    # An upload id that exists, but belongs to a different task and person.
    from plancycle.uploads import receive_upload

    upload_id = receive_upload(runtime, CYCLE, "pay_budget_return", "rachel.moore", CSV,
                               "pay.csv")
    lucy = link(runtime, "lucy.fernandes", "staff_in_post_return")
    assert client.get(f"{lucy}/uploads/{upload_id}").status_code == 404
    assert client.get(f"{lucy}/uploads/999999").status_code == 404


# --- CSRF -----------------------------------------------------------------------------------

def test_forms_without_a_valid_csrf_token_change_nothing(client, runtime):
    helen = link(runtime, "helen.shaw", "confirm_exec_sponsor")
    rachel = link(runtime, "rachel.moore", "align_business_planning")
    page = client.get(helen)
    before = snapshot(runtime)

    missing = client.post(f"{helen}/complete", data={"note": "done"})
    assert missing.status_code == 403
    assert "nothing was changed" in missing.text
    wrong = client.post(f"{helen}/complete", data={"csrf_token": "0" * 64})
    assert wrong.status_code == 403
    # A token from someone else's page is bound to their link, not this one.
    other = csrf_of(client.get(rachel).text)
    assert client.post(f"{helen}/complete", data={"csrf_token": other}).status_code == 403
    # The right token without the cookie it was made from (another browser) fails too.
    token = csrf_of(page.text)
    with TestClient(client.app, follow_redirects=False) as stranger:
        assert stranger.post(f"{helen}/complete",
                             data={"csrf_token": token}).status_code == 403
    assert snapshot(runtime) == before

    done = client.post(f"{helen}/complete", data={"csrf_token": token})
    assert done.status_code == 303
    assert snapshot(runtime) != before


# --- uploads --------------------------------------------------------------------------------

@pytest.fixture
def lucy(runtime, clock) -> str:
    open_stage(runtime, clock, "workforce_data")
    return link(runtime, "lucy.fernandes", "staff_in_post_return")


def upload(client: TestClient, path: str, name: str, data: bytes, token: str | None = None):
    token = token or csrf_of(client.get(f"{path}/upload").text)
    return client.post(f"{path}/upload", data={"csrf_token": token},
                       files={"file": (name, data, "text/csv")})


def test_an_oversized_upload_is_refused_by_its_declared_length(client, runtime, lucy):
    before = snapshot(runtime)
    too_big = CSV + b"9,RXX\n" * (1024 * 1024 // 6 + 20_000)  # > 1 MB + form overhead
    response = upload(client, lucy, "staff.csv", too_big)
    assert response.status_code == 413
    assert "larger than the portal accepts (1 MB)" in response.text
    assert snapshot(runtime) == before


def test_an_upload_just_over_the_limit_is_refused_after_reading(client, runtime, lucy):
    before = snapshot(runtime)
    response = upload(client, lucy, "staff.csv", b"a" * (1024 * 1024 + 1))
    assert response.status_code == 413
    assert snapshot(runtime) == before


def test_a_streamed_upload_without_a_length_is_cut_off_at_the_limit(client, runtime, lucy):
    token = csrf_of(client.get(f"{lucy}/upload").text)
    boundary = "plancycleboundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n"
            f"{token}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"staff.csv\"\r\nContent-Type: text/csv\r\n\r\n").encode()

    def chunks():
        yield head
        for _ in range(40):
            yield b"1,RXX\n" * 10_000  # 60 kB a chunk, 2.4 MB in all

    before = snapshot(runtime)
    response = client.post(f"{lucy}/upload", content=chunks(), headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert "content-length" not in {k.lower() for k in response.request.headers}
    assert response.status_code == 413
    assert snapshot(runtime) == before


def test_the_type_is_decided_by_content_not_by_the_extension(client, runtime, lucy):
    before = snapshot(runtime)
    png = upload(client, lucy, "staff_in_post.csv", PNG)
    assert png.status_code == 415
    assert "is a PNG image, not a spreadsheet" in png.text
    xls = upload(client, lucy, "staff.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    assert xls.status_code == 415
    assert "old-style Excel" in xls.text
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("notes.txt", "hello")
    assert upload(client, lucy, "staff.xlsx", zipped.getvalue()).status_code == 415
    assert upload(client, lucy, "staff.csv", b"").status_code in (400, 415)
    assert snapshot(runtime) == before


def test_sniffing_accepts_csv_text_and_xlsx_workbooks():
    assert sniff(CSV).kind == "csv"
    assert sniff("\ufeffname,grade\nSiân,5\n".encode()).ok  # UTF-8 with BOM, from Excel
    assert sniff("name\nJosé\n".encode("cp1252")).ok
    book = io.BytesIO()
    import openpyxl

    workbook = openpyxl.Workbook()
    workbook.active.append(["assignment_id"])
    workbook.save(book)
    assert sniff(book.getvalue()).kind == "xlsx"
    assert not sniff(PNG).ok
    assert not sniff(b"<html><body>hi</body></html>").ok


# (A full Windows path, "C:\\Users\\…", is cut to its base name by the multipart parser
# itself, as old browsers sent it; a relative one still reaches the portal and is refused.)
@pytest.mark.parametrize("name", ["../../etc/passwd.csv", "..\\..\\windows\\staff.csv",
                                  "sub/dir/staff.csv", "..", "./staff.csv"])
def test_file_names_with_paths_are_refused(client, runtime, lucy, name):
    before = snapshot(runtime)
    response = upload(client, lucy, name, CSV)
    assert response.status_code == 400
    assert "Rename the file" in response.text
    assert snapshot(runtime) == before


def test_names_with_control_characters_or_drives_are_unsafe():
    assert unsafe_name("staff\x00.csv") and unsafe_name("staff\n.csv")
    assert unsafe_name("C:staff.csv") and unsafe_name("/etc/passwd")
    assert unsafe_name("Staff in post (April) v2.csv") is None
    assert unsafe_name("staff..final.csv") is None


def test_displayed_file_names_are_escaped(client, runtime, lucy):
    from plancycle.uploads import receive_upload

    upload_id = receive_upload(runtime, CYCLE, "staff_in_post_return", "lucy.fernandes", CSV,
                               "<script>alert(1)</script>.csv")
    page = client.get(lucy)
    assert "<script>alert" not in page.text
    assert f"/uploads/{upload_id}" in page.text


# --- rate limiting --------------------------------------------------------------------------

def test_too_many_bad_links_from_one_address_get_429_for_a_minute(client, runtime, clock):
    good = link(runtime, "helen.shaw", "confirm_exec_sponsor")
    for i in range(10):
        assert client.get(f"/t/forged-{i}").status_code == 403
    blocked = client.get(good)
    assert blocked.status_code == 429
    assert blocked.headers["retry-after"] == "60"
    assert "Confirm the executive sponsor" not in blocked.text
    clock.advance(hours=1 / 60 + 1 / 3600)  # a minute and a second later
    assert client.get(good).status_code == 200


def test_wrong_planner_tokens_are_rate_limited_too(client):
    for _ in range(10):
        page = client.get("/planner/login")
        response = client.post("/planner/login", data={"csrf_token": csrf_of(page.text),
                                                       "token": "guess"})
        assert response.status_code == 401
    page = client.get("/planner/login")
    response = client.post("/planner/login", data={"csrf_token": csrf_of(page.text),
                                                   "token": PLANNER_TOKEN})
    assert response.status_code == 429


# --- headers --------------------------------------------------------------------------------

def test_every_response_carries_the_security_headers(client, runtime):
    helen = link(runtime, "helen.shaw", "confirm_exec_sponsor")
    first = client.get(helen)
    cookie = first.headers["set-cookie"]  # the CSRF cookie, set on the first page
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    for response in (first, client.get("/t/forged"), client.get("/"),
                     client.get("/static/portal.css"), client.get("/planner/login"),
                     client.get("/nothing-here")):
        csp = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
    assert first.headers["cache-control"] == "no-store"


# --- the planner's dashboard ----------------------------------------------------------------

def test_the_dashboard_needs_the_planners_token(client):
    assert client.get(f"/planner/cycles/{CYCLE}").headers["location"] == "/planner/login"
    client.cookies.set("pc_planner", "forged.cookie.value", path="/planner")
    assert client.get(f"/planner/cycles/{CYCLE}").status_code == 303
    client.cookies.clear()

    page = client.get("/planner/login")
    assert client.post("/planner/login", data={"token": PLANNER_TOKEN}).status_code == 403
    wrong = client.post("/planner/login", data={"csrf_token": csrf_of(page.text),
                                                "token": "not-it"})
    assert wrong.status_code == 401
    right = client.post("/planner/login", data={"csrf_token": csrf_of(page.text),
                                                "token": PLANNER_TOKEN})
    assert right.status_code == 303
    assert "HttpOnly" in right.headers["set-cookie"]
    dashboard = client.get(f"/planner/cycles/{CYCLE}")
    assert dashboard.status_code == 200
    assert "Timeline" in dashboard.text and "<svg" in dashboard.text


def test_the_planner_session_expires_on_the_clock(client, clock):
    page = client.get("/planner/login")
    client.post("/planner/login", data={"csrf_token": csrf_of(page.text),
                                        "token": PLANNER_TOKEN})
    assert client.get(f"/planner/cycles/{CYCLE}").status_code == 200
    clock.advance(hours=13)
    assert client.get(f"/planner/cycles/{CYCLE}").status_code == 303


def test_without_a_planner_token_the_dashboard_is_off(runtime):
    app = create_app(runtime, PortalSettings(planner_token=None))
    with TestClient(app, follow_redirects=False) as client:
        response = client.get("/planner")
        assert response.status_code == 503
        assert "PLANCYCLE_PLANNER_TOKEN" in response.text


# --- audit ----------------------------------------------------------------------------------

def test_portal_actions_are_audited_as_the_person(client, runtime):
    helen = link(runtime, "helen.shaw", "confirm_exec_sponsor")
    client.post(f"{helen}/complete", data={"csrf_token": csrf_of(client.get(helen).text),
                                           "note": "Priya Nair confirmed"})
    with runtime.register.session() as session:
        entries = session.scalars(select(AuditEntry).where(
            AuditEntry.actor == "portal:helen.shaw")).all()
    actions = {(e.action, e.entity) for e in entries}
    assert ("complete", "assignments") in actions         # the explicit portal entry
    assert ("update", "assignments") in actions           # the row change itself
    explicit = next(e for e in entries if e.action == "complete")
    assert explicit.after == {"task": "confirm_exec_sponsor", "note": "Priya Nair confirmed"}
