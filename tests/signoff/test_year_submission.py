"""Scenario: the sample trust's year from kick-off through board approval to a delivered
submission, through the real Prefect API.

Given the sample cycle rehearsed on the simulated clock, a plan issued each time the draft is
finished, the board rejecting the first draft, and an ICS endpoint on the loopback that fails
twice before accepting, when the annual-cycle flow walks the year and the submission flow
runs the day the board gate passes, then the package built on the approved v2 is delivered
to the outbox and exactly once to the ICS, the signature page carries the approvers' names,
the cycle is locked, and running the submission again sends nothing.
"""

from __future__ import annotations

import hashlib
import io
import re
from datetime import date
from pathlib import Path

import pypdf
import pytest
from sqlalchemy import select

from plancycle import runtime as runtime_mod
from plancycle.analysis import analyse
from plancycle.assignments import find_task
from plancycle.clock import SimulatedClock
from plancycle.documents import PlanContext, render_plan
from plancycle.notify.channels import RecordingChannels
from plancycle.register.models import Cycle, RoleHolder, SubmissionRecord
from plancycle.signoff import current_document, gate_status, register_document
from plancycle.simulation import Rehearsal, Script
from plancycle.submission import signatures, verify_manifest
from plancycle.synthetic import RETURN_KINDS, generate_trust
from tests.engine.conftest import CYCLE, build_runtime
from tests.signoff.conftest import Receiver

FAST = [0.01, 0.02, 0.04, 0.08]


class PlanDesk:
    """The workforce planner's desk: issues a plan version whenever the draft is finished,
    and submits once the board has signed it off."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.seen = None
        self.versions: list[str] = []
        self.submitted: dict | None = None
        self.pdf: bytes = b""

    def issue_plan(self, rt, day: date) -> None:
        with rt.register.session(actor="planner") as session:
            draft = find_task(session, CYCLE, "draft_plan_document")
            if draft.state != "complete" or draft.completed_at == self.seen:
                return
            self.seen = draft.completed_at
            text = f"<h1>Workforce plan, draft {len(self.versions) + 1} of {day}</h1>".encode()
            sha = hashlib.sha256(text).hexdigest()
            path = self.home / "documents" / f"plan-{sha}.html"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(text)
            register_document(session, CYCLE, "plan", sha, str(path), rt.clock.now(),
                              rt.calendar)
            self.versions.append(sha)

    def submit_when_signed(self, rt, day: date) -> None:
        from flows.submission import submit_cycle

        if self.submitted is not None:
            return
        with rt.register.session() as session:
            if gate_status(session, find_task(session, CYCLE, "board_gate")).outcome != "passed":
                return
            page = signatures(session, CYCLE)
            cycle = session.get(Cycle, CYCLE)
            roles = list(dict.fromkeys(h.role_name for h in session.scalars(
                select(RoleHolder).where(RoleHolder.cycle_id == CYCLE,
                                         RoleHolder.role_key.in_(
                                             ["exec_sponsor", "director_of_finance",
                                              "chief_executive", "board"])))))
        returns = generate_trust(size=300, seed=11)
        analysis = analyse(returns, {kind: True for kind in RETURN_KINDS})
        plan = render_plan(analysis, PlanContext(
            organisation_name=cycle.org_name, version="Approved by the board (signed)",
            signatures=page, signatories=roles))
        self.pdf = plan.pdf
        pdf_path = self.home / "signed-plan.pdf"
        pdf_path.write_bytes(plan.pdf)
        self.submitted = submit_cycle(CYCLE, plan_pdf=str(pdf_path), http_backoff=FAST)
        self.submitted["day"] = day


@pytest.fixture(scope="module")
def year(prefect_api, tmp_path_factory):
    from flows.annual_cycle import annual_cycle

    home = tmp_path_factory.mktemp("year-submission")
    ics = Receiver([500, 500])
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PLANCYCLE_HOME", str(home))
        env.setenv("PLANCYCLE_LINK_SECRET", "test-secret")
        env.setenv("PLANCYCLE_PORTAL_URL", "http://portal.test")
        env.setenv("PLANCYCLE_ICS_SUBMISSION_URL", ics.url)
        runtime = build_runtime(home, SimulatedClock(date(2026, 4, 1)), RecordingChannels())
        desk = PlanDesk(home)
        script = Script(gate_rounds={"board_gate": ["reject"]},
                        hooks=[desk.issue_plan, desk.submit_when_signed])
        rehearsal = Rehearsal(runtime, CYCLE, script, end=date(2027, 3, 31))
        runtime.waiter = rehearsal.wait
        with runtime_mod.use(runtime):
            result = annual_cycle(CYCLE, until_complete=True)
        yield runtime, desk, ics, result, home
    ics.close()
    runtime.register.dispose()


def test_the_year_runs_to_completion_with_the_plan_submitted(year):
    runtime, desk, ics, result, _ = year
    assert result["complete"] is True
    assert desk.submitted is not None and desk.submitted["status"] == "delivered"
    assert len(desk.versions) == 2  # the board rejected draft 1; draft 2 was approved
    with runtime.register.session() as session:
        assert session.get(Cycle, CYCLE).locked is True
        assert current_document(session, CYCLE, "plan").sha256 == desk.versions[1]
        board = find_task(session, CYCLE, "board_gate")
        assert desk.submitted["day"] >= board.completed_at.date()
        assert find_task(session, CYCLE, "submit_to_ics").state == "complete"


def test_the_ics_got_the_package_exactly_once_after_two_failures(year):
    runtime, desk, ics, _, home = year
    package = desk.submitted["package"]
    assert [code for _, _, code in ics.requests] == [500, 500, 200]
    assert list(ics.accepted) == [f"{CYCLE}:{package['sha256']}"]
    assert ics.accepted[f"{CYCLE}:{package['sha256']}"] == Path(package["zip"]).read_bytes()
    outbox = home / "outbox" / f"{CYCLE}-{package['sha256'][:12]}.zip"
    for where in (Path(package["directory"]), Path(package["zip"]), outbox):
        assert verify_manifest(where).ok
    with runtime.register.session() as session:
        records = sorted((r.destination, r.status, r.attempts, (r.receipt or {}).get("status"))
                         for r in session.scalars(select(SubmissionRecord)))
    assert records == [("http:PLANCYCLE_ICS_SUBMISSION_URL", "delivered", 3, 200),
                       ("outbox:outbox", "delivered", 1, None)]


def test_the_package_rests_on_the_approved_revision_and_the_signatures(year):
    _, desk, _, _, _ = year
    from plancycle.submission import load_package

    package = load_package(desk.submitted["package"]["directory"])
    assert package.manifest["basis"]["document_version"] == 2
    assert package.manifest["basis"]["document_sha256"] == desk.versions[1]
    decisions = (package.directory / "decisions.csv").read_text()
    assert "reject" in decisions and desk.versions[0] in decisions
    text = re.sub(r"\s+", " ", " ".join(
        page.extract_text() for page in pypdf.PdfReader(io.BytesIO(desk.pdf)).pages))
    for name in ("Helen Shaw", "Priya Nair", "David Okafor"):
        assert name in text
    assert desk.versions[1][:12] in text or desk.versions[1] in text.replace(" ", "")


def test_running_the_submission_again_sends_nothing(year):
    from flows.submission import submit_cycle

    runtime, desk, ics, _, _ = year
    before = len(ics.requests)
    with runtime_mod.use(runtime):
        again = submit_cycle(CYCLE, http_backoff=FAST)
    assert again["status"] == "delivered"
    assert again["package"]["sha256"] == desk.submitted["package"]["sha256"]
    assert again["package"]["reused"] is True
    assert not any(r["sent_now"] for r in again["records"])
    assert len(ics.requests) == before
