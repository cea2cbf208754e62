"""Scenario: the sample trust's plan built from its accepted returns, rebuilt, revised, signed.

Given the sample cycle with a 600-person synthetic trust's nine returns accepted on 20 April,
when the planner builds the plan on 1 June, then plan version 1 and its executive summary are
registered, the files exist content-addressed and the PDF has every Appendix F section;
building again with the same data registers nothing new; a corrected sickness return makes
version 2 and voids the executive sponsor's approval of version 1; the signed plan built from
the board's decisions is a document of its own and leaves approvals standing.

The steps build on each other, so the tests run in file order on one module-scoped cycle.
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pypdf
import pytest
from sqlalchemy import select

from plancycle.assignments import assign_task, find_person, find_task
from plancycle.clock import LONDON
from plancycle.documents import SECTION_HEADINGS, Signature
from plancycle.planning import PlanBuild, build_plan, document_files
from plancycle.register.models import Decision, Document, TaskState
from plancycle.signoff import current_document, decide, gate_status
from plancycle.synthetic import generate_trust
from tests.engine.conftest import CYCLE
from tests.foundation.helpers import cli_env, run_cli_many
from tests.planning.conftest import Trust, open_trust


def pdf_text(path: Path) -> str:
    reader = pypdf.PdfReader(io.BytesIO(path.read_bytes()))
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages))


@dataclass
class Story:
    trust: Trust
    first: PlanBuild


@pytest.fixture(scope="module")
def story(tmp_path_factory, trust_returns):
    with pytest.MonkeyPatch.context() as env:
        trust = open_trust(tmp_path_factory.mktemp("plan"), env)
        trust.upload_all(trust_returns, on=date(2026, 4, 20))
        trust.clock.set(date(2026, 6, 1))
        yield Story(trust, build_plan(trust.runtime, CYCLE))
    trust.runtime.register.dispose()


def documents(story: Story) -> list[Document]:
    with story.trust.runtime.register.session() as session:
        return list(session.scalars(select(Document).where(Document.cycle_id == CYCLE)
                                    .order_by(Document.id)))


def test_first_build_registers_plan_and_summary_as_version_1(story, trust_returns):
    first = story.first
    assert (first.kind, first.version, first.new_version) == ("plan", 1, True)
    rows = documents(story)
    assert [(d.kind, d.version) for d in rows] == [("plan", 1), ("exec_summary", 1),
                                                   ("workforce_template", 1)]
    plan, summary, template = rows
    # The workforce plan template: its xlsx hash is registered and stated in Annex D.
    assert template.sha256 == first.template_sha256
    assert hashlib.sha256(Path(template.path).read_bytes()).hexdigest() == template.sha256
    assert template.sha256 in Path(plan.path).read_text(encoding="utf-8")
    assert plan.id == first.document_id and plan.sha256 == first.sha256
    assert summary.sha256 == first.summary_sha256 and first.summary_version == 1
    # Content-addressed under <home>/documents/<cycle>/: the registered hash is the HTML's.
    folder = story.trust.home / "documents" / CYCLE
    for doc, pdf in ((plan, first.pdf_path), (summary, first.summary_pdf_path)):
        html = Path(doc.path)
        assert html.parent == folder and doc.sha256 in html.name
        assert hashlib.sha256(html.read_bytes()).hexdigest() == doc.sha256
        assert document_files(doc) == (html, pdf)
        assert pdf.read_bytes().startswith(b"%PDF")
    assert plan.created_at == datetime(2026, 6, 1, 9, 0, tzinfo=LONDON)
    assert first.uploads == {kind: [n] for n, kind in enumerate(trust_returns, start=1)}
    assert first.measures["Headcount"] == "600"


def test_the_pdf_has_every_appendix_f_section_and_the_cycles_names(story):
    text = pdf_text(story.first.pdf_path)
    missing = [h for h in SECTION_HEADINGS if h not in text]
    assert missing == []
    assert SECTION_HEADINGS[0] == "1.1 Executive summary"
    assert SECTION_HEADINGS[-1] == "1.12 Signatures"
    assert "Riverside Hospitals NHS Foundation Trust (RXX)" in text
    assert "Staffordshire and Stoke-on-Trent" in text                 # ICS from the config
    assert "Prepared by: Amira Khan, Workforce Planner" in text       # analysis task holder
    for signatory in ("Executive Sponsor (Chief People Officer)", "Director of Finance",
                      "Chief Executive", "Trust Board (chair and non-executive directors)"):
        assert signatory in text                                      # the gates' approvers
    summary = pypdf.PdfReader(io.BytesIO(story.first.summary_pdf_path.read_bytes()))
    assert len(summary.pages) == 1


def test_building_again_with_the_same_returns_registers_nothing_new(story):
    story.trust.clock.set(date(2026, 6, 2))
    again = build_plan(story.trust.runtime, CYCLE)
    assert (again.version, again.new_version, again.sha256) == (1, False, story.first.sha256)
    assert again.pdf_path == story.first.pdf_path
    assert again.summary_sha256 == story.first.summary_sha256
    assert again.template_sha256 == story.first.template_sha256  # the xlsx is byte-stable
    assert [(d.kind, d.version) for d in documents(story)] == [
        ("plan", 1), ("exec_summary", 1), ("workforce_template", 1)]


def test_plan_build_on_the_command_line_converges_too(story):
    home = story.trust.home
    env = cli_env(PLANCYCLE_HOME=str(home), PLANCYCLE_LINK_SECRET="test-secret",
                  PLANCYCLE_DATABASE_URL=f"sqlite:///{home / 'register.db'}")
    built, shown, unknown = run_cli_many([
        (["plan", "build"], env),
        (["plan", "show", "--cycle", CYCLE], env),
        (["plan", "build", "--cycle", "rxx-2025-26"], env)])
    assert built.returncode == 0, built.stderr
    assert f"plan unchanged — still version 1 (sha256 {story.first.sha256})" in built.stdout
    assert "Executive summary v1:" in built.stdout and "Vacancy rate:" in built.stdout
    assert (f"Workforce plan template v1 (unchanged, sha256 {story.first.template_sha256})"
            in built.stdout)
    assert "at opening →" in built.stdout and "in March" in built.stdout
    assert shown.returncode == 0 and f"plan: version 1, sha256 {story.first.sha256}" in \
        shown.stdout
    assert unknown.returncode == 2 and "Traceback" not in unknown.stderr
    assert "no cycle 'rxx-2025-26'" in unknown.stderr
    assert len(documents(story)) == 3


def approve(trust: Trust, gate_key: str, person_key: str, sha: str) -> None:
    """The approver decides on ``sha`` at an open gate (opened here for the scenario)."""
    rt = trust.runtime
    with rt.register.session(actor=f"test:{person_key}") as session:
        gate = find_task(session, CYCLE, gate_key)
        if gate.state != TaskState.OPEN:
            gate.state = TaskState.OPEN
            assign_task(session, gate, rt.clock.now())
            session.flush()
        decide(session, gate, find_person(session, CYCLE, person_key), "approve", sha,
               rt.clock.now(), rt.calendar)


def test_a_corrected_return_makes_version_2_and_voids_approval_of_version_1(story):
    trust = story.trust
    trust.clock.set(date(2026, 6, 3))
    approve(trust, "executive_gate", "priya.nair", story.first.sha256)
    with trust.runtime.register.session() as session:
        assert gate_status(session, find_task(session, CYCLE, "executive_gate")) \
            .approved_roles == ("exec_sponsor",)

    corrected = generate_trust(size=600, seed=12)["sickness_absence"]
    trust.upload("sickness_absence", corrected, on=date(2026, 6, 8))
    trust.clock.set(date(2026, 6, 9))
    second = build_plan(trust.runtime, CYCLE)

    assert (second.version, second.new_version) == (2, True)
    assert second.sha256 != story.first.sha256 and second.summary_version == 2
    assert second.uploads["sickness_absence"] == [10]
    assert [(d.kind, d.version) for d in documents(story)] == [
        ("plan", 1), ("exec_summary", 1), ("workforce_template", 1), ("plan", 2),
        ("exec_summary", 2), ("workforce_template", 2)]
    # The new sickness return changes the template's KPIs; `plan build` says what changed.
    from plancycle.template.compare import describe_change

    lines = describe_change(second.template_path, second.template_previous_path)
    assert second.template_version == 2 and len(lines) == 2
    assert lines[1].startswith("March WTE against the previous version:")
    assert story.first.pdf_path.exists()  # version 1 is kept, not overwritten
    with trust.runtime.register.session() as session:
        decision = session.scalars(select(Decision)).one()
        assert decision.document_sha256 == story.first.sha256 and decision.valid is False
        status = gate_status(session, find_task(session, CYCLE, "executive_gate"))
        assert status.document_sha256 == second.sha256 and status.approved_roles == ()


def test_the_signed_plan_is_its_own_document_and_keeps_the_approvals(story):
    trust = story.trust
    with trust.runtime.register.session() as session:
        plan = current_document(session, CYCLE, "plan")
    approve(trust, "executive_gate", "priya.nair", plan.sha256)
    signed_at = datetime(2026, 6, 10, 14, 30, tzinfo=LONDON)
    signatures = [Signature(role="Executive Sponsor (Chief People Officer)", name="Priya Nair",
                            decision="Approved", decided_at=signed_at,
                            document_hash=plan.sha256)]

    signed = build_plan(trust.runtime, CYCLE, signatures=signatures)

    assert (signed.kind, signed.version, signed.new_version) == ("signed_plan", 1, True)
    assert signed.summary_pdf_path is None
    text = pdf_text(signed.pdf_path)
    assert "Priya Nair" in text and "Status: Approved (signed)" in text
    assert plan.sha256[:12] in text
    with trust.runtime.register.session() as session:
        assert current_document(session, CYCLE, "plan").version == 2
        status = gate_status(session, find_task(session, CYCLE, "executive_gate"))
        assert status.document_sha256 == plan.sha256
        assert status.approved_roles == ("exec_sponsor",)   # still counted
        assert [d.valid for d in session.scalars(select(Decision).order_by(Decision.id))] == \
            [False, True]
    # …and building it again with the same decisions is a no-op.
    again = build_plan(trust.runtime, CYCLE, signatures=signatures)
    assert (again.version, again.new_version) == (1, False)
