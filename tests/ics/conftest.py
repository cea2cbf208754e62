"""The test ICS: five member organisations' cycles and the system cycle in one register.

R1D's staff in post is built from its published Core 5 cells (so it agrees with the
published statistics); the other organisations are synthetic trusts of ~300 staff (RL1's
therefore disagrees with what is published for RL1 — the deliberately inconsistent one).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import select

from plancycle.analysis.published import load_core5
from plancycle.config import load_config
from plancycle.documents import render_plan
from plancycle.planning import (
    analyse_returns,
    attach_template,
    documents_dir,
    gather_returns,
    plan_context,
    store_template,
)
from plancycle.register.cycles import start_cycle
from plancycle.register.models import Cycle, Task
from plancycle.returns import codes
from plancycle.runtime import Runtime
from plancycle.signoff import current_document, register_document
from plancycle.synthetic import generate_trust

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "ics"
ICS_CONFIG = FIXTURES / "ics_cycle.yaml"
ORG_TEMPLATE = FIXTURES / "organisation_cycle.yaml"
CORE5 = ROOT / "tests" / "fixtures" / "nhs" / \
    "hchs_core5_staff_groups_care_setting_level_grade_org_oct2025_QNC_QOC_QPM.csv"
ICS_CYCLE = "qoc-test-2026-27"
SIZE = 300


@dataclass(frozen=True)
class Member:
    code: str
    name: str
    type: str
    seed: int

    @property
    def cycle_id(self) -> str:
        return f"{self.code.lower()}-2026-27"


MEMBERS = (
    Member("R1D", "Shropshire Community Health NHS Trust", "community", 1),
    Member("RL1", "Robert Jones and Agnes Hunt Orthopaedic Hospital NHS Foundation Trust",
           "acute", 2),
    Member("ZMH", "Wrekin Minds NHS Trust (fictional)", "mental_health", 3),
    Member("ZAM", "Marches Ambulance Service (fictional)", "ambulance", 4),
    Member("ZPC", "Telford Central PCN (fictional)", "primary_care_network", 5),
)

#: Which person returns which kind in the organisation template (task, person prefix).
RETURNS = {
    "staff_in_post": ("staff_in_post_return", "hr"), "vacancies": ("vacancies_return", "hr"),
    "leavers": ("leavers_return", "hr"), "sickness_absence": ("sickness_return", "hr"),
    "pay_budget": ("pay_budget_return", "finance"),
    "bank_agency": ("bank_agency_return", "finance"),
    "activity_plan": ("activity_plan_return", "activity"),
    "service_changes": ("service_change_return", "service"),
    "education_training": ("education_training_return", "learning"),
}


def organisation_config(member: Member, directory: Path) -> Path:
    text = ORG_TEMPLATE.read_text(encoding="utf-8")
    for key, value in (("__ORG__", member.code), ("__org__", member.code.lower()),
                       ("__NAME__", member.name), ("__TYPE__", member.type)):
        text = text.replace(key, value)
    path = directory / f"{member.code.lower()}_cycle.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def start_cycles(runtime: Runtime, directory: Path) -> None:
    """The system cycle and every member organisation's cycle, in one register."""
    with runtime.register.session(actor="planner") as session:
        start_cycle(session, load_config(ICS_CONFIG), ICS_CONFIG)
        for member in MEMBERS:
            path = organisation_config(member, directory)
            start_cycle(session, load_config(path), path)


def published_like_staff(org_code: str, template: pd.DataFrame) -> pd.DataFrame:
    """A staff-in-post extract whose WTE by staff group is the published Core 5 one.

    Each published cell (staff group × grade, FTE, headcount) becomes ``headcount``
    assignments sharing its FTE; the other columns come from a synthetic extract.
    """
    core5 = load_core5(CORE5)
    cells = core5[(core5["ORG_CODE"] == org_code)
                  & (core5["staff_group"] != codes.UNKNOWN_CLASSIFICATION)]
    heads = cells["HEADCOUNT"].astype(int).clip(lower=1).to_numpy()
    fte = cells["FTE"].astype(float).to_numpy()
    rows = np.repeat(np.arange(len(cells)), heads)
    wte = np.round(np.repeat(fte / heads, heads), 2).clip(0.01, 1.0)
    base = template.iloc[np.arange(len(rows)) % len(template)].reset_index(drop=True).copy()
    grades = cells["GRADE"].to_numpy()[rows]
    known = set(codes.GRADES)
    base["staff_group"] = cells["staff_group"].to_numpy()[rows]
    base["grade"] = [g if g in known else b for g, b in zip(grades, base["grade"], strict=True)]
    base["wte"] = wte
    base["contracted_hours"] = np.round(wte * 37.5, 2)
    base["org_code"] = org_code
    base["assignment_id"] = [f"A{i + 1:08d}" for i in range(len(base))]
    base["person_id"] = [f"P{i + 1:07d}" for i in range(len(base))]
    return base


def member_returns(member: Member) -> dict[str, pd.DataFrame]:
    returns = generate_trust(size=SIZE, seed=member.seed, org_code=member.code)
    if member.code == "R1D":
        returns["staff_in_post"] = published_like_staff("R1D", returns["staff_in_post"])
    return returns


def upload_returns(runtime: Runtime, member: Member, returns: dict[str, pd.DataFrame]) -> None:
    """Every return through the real upload path (stored, validated, accepted)."""
    from plancycle.uploads import submit_return

    for kind, (task, who) in RETURNS.items():
        data = returns[kind].to_csv(index=False, lineterminator="\n").encode("utf-8")
        outcome = submit_return(runtime, member.cycle_id, task, f"{who}.{member.code.lower()}",
                                data, f"{kind}.csv")
        assert outcome.accepted, (member.code, kind, outcome.report.to_dict())


def register_plan(runtime: Runtime, cycle_id: str) -> str:
    """The organisation's plan from its accepted returns, registered for its board gate.

    The real gather → analyse → render → register steps of the planning service, without
    the PDF (an organisation's PDF is not what the roll-up reads; it keeps the test fast).
    """
    with runtime.register.session(actor="planner") as session:
        cycle = session.get(Cycle, cycle_id)
        gathered = gather_returns(session, cycle_id)
        context = plan_context(session, cycle_id)
        year = cycle.financial_year
    analysis = analyse_returns(gathered, year)
    with runtime.register.session(actor="planner") as session:
        context = attach_template(session, cycle_id, context, analysis, gathered)
    document = render_plan(analysis, context, pdf=False)
    path = documents_dir(cycle_id) / f"plan-{document.sha256}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(document.html, encoding="utf-8")
    template = store_template(context, documents_dir(cycle_id))
    with runtime.register.session(actor="planner") as session:
        register_document(session, cycle_id, "plan", document.sha256, str(path),
                          runtime.clock.now())
        register_document(session, cycle_id, template.kind, template.sha256,
                          str(template.html_path), runtime.clock.now())
    return document.sha256


def task_state(runtime: Runtime, cycle_id: str, key: str) -> str:
    with runtime.register.session() as session:
        return session.scalars(select(Task.state).where(Task.cycle_id == cycle_id,
                                                        Task.key == key)).one()


def has_plan(runtime: Runtime, cycle_id: str) -> bool:
    with runtime.register.session() as session:
        return current_document(session, cycle_id, "plan") is not None


def record_accepted(runtime: Runtime, member: Member, returns: dict[str, pd.DataFrame]
                    ) -> None:
    """Every return stored and recorded as accepted, as the upload path leaves it, without
    running the validation suites (for tests about what comes after acceptance)."""
    from sqlalchemy import func

    from plancycle.register.models import DQResult, Person, Upload
    from plancycle.returns import RawStore
    from plancycle.uploads import upload_store

    store: RawStore = upload_store()
    with runtime.register.session(actor="test-upload") as session:
        for kind, (task_key, who) in RETURNS.items():
            data = returns[kind].to_csv(index=False, lineterminator="\n").encode("utf-8")
            stored = store.store(data, f"{kind}.csv")
            task = session.scalars(select(Task).where(Task.cycle_id == member.cycle_id,
                                                      Task.key == task_key)).one()
            person = session.scalars(select(Person).where(
                Person.cycle_id == member.cycle_id,
                Person.key == f"{who}.{member.code.lower()}")).one()
            version = (session.scalar(select(func.max(Upload.version))
                                      .where(Upload.task_id == task.id)) or 0) + 1
            upload = Upload(cycle_id=member.cycle_id, task_id=task.id, person_id=person.id,
                            version=version, original_name=stored.original_name,
                            sha256=stored.sha256, size_bytes=stored.size,
                            stored_path=str(stored.path), uploaded_at=runtime.clock.now(),
                            state="accepted")
            session.add(upload)
            session.flush()
            session.add(DQResult(cycle_id=member.cycle_id, upload_id=upload.id, verdict="pass",
                                 report={"checks": [], "row_count": len(returns[kind])},
                                 created_at=runtime.clock.now()))
