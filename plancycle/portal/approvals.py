"""The approval page of a gate: the document and its hash, the DQ summary, and a decision.

A decision is made in two steps: the form (approve / approve with conditions / reject, with
no choice made for the approver, and a typed-name signature), then a confirmation page
that repeats exactly what will be recorded. Only the confirmed post calls
:func:`plancycle.signoff.decide`, on the document hash the approver was shown.

A gate configured with ``sign_in: true`` also needs organisational sign-in: the link is not
enough, the signed-in identity must be the person the link is for (the approver, or their
deputy or delegate standing in). Refusals are audited with the identity, and so is the
decision.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from plancycle.config.model import TaskKind
from plancycle.portal.deps import PortalDep, VisitDep, signed_in
from plancycle.portal.identity import Identity
from plancycle.portal.problems import PortalProblem
from plancycle.portal.roleholder import LIVE, task_view
from plancycle.portal.security import DOCUMENT_CSP
from plancycle.portal.services import Portal, Visit, client_of
from plancycle.portal.signin import audit_identity, people_of, sign_in_url
from plancycle.register.models import (
    Decision,
    DQResult,
    Person,
    RoleHolder,
    Stage,
    Task,
    Upload,
)
from plancycle.signoff import (
    TEMPLATE_KIND,
    Condition,
    SignoffError,
    Verdict,
    current_document,
    decide,
    gate_status,
)

MAX_CONDITIONS = 5
VERDICTS = {
    Verdict.APPROVE.value: "Approve",
    Verdict.APPROVE_WITH_CONDITIONS.value: "Approve with conditions",
    Verdict.REJECT.value: "Reject",
}
_TITLES = re.compile(r"^(dr|mr|mrs|ms|miss|mx|prof|professor|sir|dame)\.?\s+", re.I)


def normalise_name(name: str) -> str:
    """Names compared for a typed signature: case, spacing and titles (Dr, Prof…) ignored."""
    name = re.sub(r"\s+", " ", name.strip().lower())
    return _TITLES.sub("", name)


def file_sha256(path: Path) -> str | None:
    if not path.is_file():
        return None
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class DecisionForm:
    """What the approver filled in, and what is wrong with it."""

    verdict: str = ""
    reason: str = ""
    signature: str = ""
    document_sha256: str = ""
    conditions: list[dict[str, str]] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, form: FormData, roles: dict[str, str]) -> DecisionForm:
        text = {k: str(v).strip() for k, v in form.multi_items() if isinstance(v, str)}
        out = cls(verdict=text.get("verdict", ""), reason=text.get("reason", "")[:4000],
                  signature=text.get("signature", "")[:200],
                  document_sha256=text.get("document_sha256", ""))
        for i in range(1, MAX_CONDITIONS + 1):
            condition = text.get(f"condition_text_{i}", "")[:1000]
            role = text.get(f"condition_role_{i}", "")
            out.conditions.append({"text": condition, "role": role})
        if out.verdict not in VERDICTS:
            out.errors["verdict"] = "Choose approve, approve with conditions or reject."
        if out.verdict == Verdict.REJECT and not out.reason:
            out.errors["reason"] = "Say why you reject the plan and what must change."
        if out.verdict == Verdict.APPROVE_WITH_CONDITIONS:
            filled = out.filled_conditions()
            if not filled:
                out.errors["conditions"] = "Write at least one condition and choose who owns it."
            for i, c in enumerate(out.conditions, start=1):
                if c["text"] and c["role"] not in roles:
                    out.errors["conditions"] = (f"Condition {i}: choose the role that will act "
                                                "on it.")
                elif c["role"] and not c["text"]:
                    out.errors["conditions"] = f"Condition {i}: write the condition or clear it."
        return out

    def filled_conditions(self) -> list[dict[str, str]]:
        return [c for c in self.conditions if c["text"]]

    def check_signature(self, name: str) -> None:
        if not self.signature:
            self.errors["signature"] = f"Type your full name ({name}) to sign."
        elif normalise_name(self.signature) != normalise_name(name):
            self.errors["signature"] = (f"The signature must be your name as recorded: {name}.")


def dq_summary(session: Session, cycle_id: str) -> list[dict[str, Any]]:
    """The latest upload of each data request with its verdict and check counts."""
    rows = []
    tasks = session.scalars(select(Task).where(Task.cycle_id == cycle_id,
                                               Task.kind == TaskKind.DATA_REQUEST)
                            .order_by(Task.sequence)).all()
    stage_order = {s.id: (s.starts_on, s.sequence) for s in session.scalars(
        select(Stage).where(Stage.cycle_id == cycle_id))}
    for task in sorted(tasks, key=lambda t: (stage_order.get(t.stage_id), t.sequence)):
        latest = session.execute(
            select(Upload, DQResult).outerjoin(DQResult, DQResult.upload_id == Upload.id)
            .where(Upload.task_id == task.id).order_by(Upload.id.desc()).limit(1)).first()
        counts = {"pass": 0, "warn": 0, "fail": 0}
        if latest and latest[1] is not None:
            for check in latest[1].report.get("checks", []):
                counts[check.get("status", "pass")] = counts.get(check.get("status"), 0) + 1
        rows.append({"task": task.name, "kind": task.return_kind, "state": task.state,
                     "version": latest[0].version if latest else None,
                     "verdict": latest[1].verdict if latest and latest[1] else None,
                     "counts": counts})
    return rows


router = APIRouter()


def gate_view(portal: Portal, visit: Visit, session: Session) -> dict[str, Any]:
    view = task_view(portal, session, visit)
    task: Task = view["task"]
    if task.kind != TaskKind.GATE:
        raise PortalProblem(409, "This task is not a gate",
                            "Only sign-off gates have an approval page. Go back to the task.")
    gate = task.settings.get("gate") or {}
    document = current_document(session, task.cycle_id, gate.get("document", "plan"))
    on_disk = file_sha256(Path(document.path)) if document else None
    roles = {r.role_key: r.role_name for r in session.scalars(
        select(RoleHolder).where(RoleHolder.cycle_id == task.cycle_id))}
    status = gate_status(session, task)
    mine = session.scalars(select(Decision).where(
        Decision.task_id == task.id, Decision.person_id == visit.person_id)
        .order_by(Decision.id.desc())).first()
    approvers = [{"role": roles.get(r, r), "approved": r in status.approved_roles}
                 for r in gate.get("approvers", [task.role_key])]
    template = (current_document(session, task.cycle_id, TEMPLATE_KIND)
                if gate.get("document", "plan") == "plan" else None)
    template_ok = template is not None and file_sha256(Path(template.path)) == template.sha256
    view.update(
        workforce_template=template, workforce_template_ok=template_ok,
        document=document, document_ok=document is not None and on_disk == document.sha256,
        document_missing=document is not None and on_disk is None,
        document_type="PDF" if document and document.path.lower().endswith(".pdf")
        else "web page",
        gate_state=status, approvers=approvers, roles=roles, my_decision=mine,
        decider=session.get(Person, mine.person_id) if mine else None,
        verdicts=VERDICTS, dq=dq_summary(session, task.cycle_id),
        can_decide=view["actionable"] and document is not None
        and on_disk == document.sha256,
        max_conditions=MAX_CONDITIONS)
    return view


def read_gate(portal: Portal, visit: Visit) -> dict[str, Any]:
    with portal.runtime.register.session(actor=visit.actor) as session:
        return gate_view(portal, visit, session)


class SignInFirst(Exception):
    """The gate needs organisational sign-in and the browser has none: go and sign in."""


def gate_needs_sign_in(portal: Portal, visit: Visit) -> bool:
    with portal.runtime.register.session(actor=visit.actor) as session:
        task = session.get(Task, visit.task_id)
        return bool(((task.settings or {}).get("gate") or {}).get("sign_in"))


def approver_identity(request: Request, portal: Portal, visit: Visit) -> Identity | None:
    """The signed-in identity deciding this gate, when the gate asks for one.

    None: the gate does not ask for sign-in. Raises :class:`SignInFirst` when nobody is
    signed in, and a 403 (audited) when the signed-in person is not the link's person.
    """
    if not gate_needs_sign_in(portal, visit):
        return None
    if portal.oidc is None:
        raise PortalProblem(503, "Sign-in is needed for this decision",
                            "This gate asks approvers to sign in with their organisational "
                            "account, but the portal has no sign-in configured. Tell the "
                            "workforce planner.")
    identity = signed_in(request, portal)
    if identity is None:
        raise SignInFirst()
    with portal.runtime.register.session(actor=visit.actor) as session:
        keys = {p.key for p in people_of(session, identity, visit.cycle_id)}
    if visit.person_key in keys:
        return identity
    audit_identity(portal, "approval_refused", identity,
                   {"client": client_of(request), "link_for": visit.person_key,
                    "assignment": visit.assignment_id, "signed_in_as": sorted(keys)},
                   cycle_id=visit.cycle_id)
    raise PortalProblem(403, "You are signed in as someone else",
                        f"This approval is for {visit.person_name}, but you are signed in as "
                        f"{identity.label}. Sign out and sign in as {visit.person_name}, or "
                        "ask the workforce planner to record you as their delegate.")


@router.get("/t/{token}/approve", response_class=HTMLResponse)
def approval_page(request: Request, portal: PortalDep, visit: VisitDep,
                  recorded: int | None = None) -> Response:
    try:
        approver_identity(request, portal, visit)
    except SignInFirst:
        return RedirectResponse(sign_in_url(f"{visit.base}/approve"), status_code=303)
    view = read_gate(portal, visit)
    return portal.page(request, "approval.html.j2", scope=visit.scope, form=DecisionForm(),
                       recorded=recorded, **view)


@router.get("/t/{token}/document")
def document(request: Request, portal: PortalDep, visit: VisitDep) -> Response:
    try:
        approver_identity(request, portal, visit)
    except SignInFirst:
        return RedirectResponse(sign_in_url(f"{visit.base}/approve"), status_code=303)
    view = read_gate(portal, visit)
    doc = view["document"]
    if doc is None or view["document_missing"]:
        raise PortalProblem(404, "No document yet",
                            "There is no document for this gate yet; the workforce planner "
                            "will send a new link when there is.")
    path = Path(doc.path)
    media = "application/pdf" if path.suffix.lower() == ".pdf" else "text/html"
    return FileResponse(path, media_type=media, headers={
        "Content-Security-Policy": DOCUMENT_CSP,
        "Content-Disposition": f'inline; filename="{doc.kind}-v{doc.version}{path.suffix}"'})


XLSX_MEDIA = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/t/{token}/template")
def template_file(request: Request, portal: PortalDep, visit: VisitDep) -> Response:
    """The workforce plan template approved with the plan (xlsx), verified by its hash."""
    try:
        approver_identity(request, portal, visit)
    except SignInFirst:
        return RedirectResponse(sign_in_url(f"{visit.base}/approve"), status_code=303)
    view = read_gate(portal, visit)
    doc = view["workforce_template"]
    if doc is None or not view["workforce_template_ok"]:
        raise PortalProblem(404, "No workforce plan template",
                            "There is no verified workforce plan template for this plan yet; "
                            "the workforce planner builds it with the plan.")
    return FileResponse(Path(doc.path), media_type=XLSX_MEDIA, headers={
        "Content-Disposition": f'attachment; filename="workforce-template-v{doc.version}.xlsx"'})


def record(portal: Portal, visit: Visit, form: DecisionForm,
           identity: Identity | None = None) -> int:
    rt = portal.runtime
    with rt.register.session(actor=visit.actor, note="decided in the portal") as session:
        task = session.get(Task, visit.task_id)
        person = session.get(Person, visit.person_id)
        conditions = [Condition(c["text"], c["role"]) for c in form.filled_conditions()] \
            if form.verdict == Verdict.APPROVE_WITH_CONDITIONS else None
        try:
            decision = decide(session, task, person, form.verdict, form.document_sha256,
                              rt.clock.now(), rt.calendar, reason=form.reason or None,
                              conditions=conditions, signature=form.signature)
        except SignoffError as exc:
            raise PortalProblem(409, "The decision could not be recorded", str(exc)) from None
        portal.audit(session, visit.actor, "decide", "decisions", decision.id,
                     {"gate": task.key, "decision": form.verdict,
                      "document_sha256": form.document_sha256,
                      "conditions": [c.__dict__ for c in conditions or []],
                      "reason": form.reason or None, "signature": form.signature,
                      "identity": identity.audit() if identity else None},
                     cycle_id=visit.cycle_id)
        decision_id = decision.id
    rt.advance(visit.cycle_id, actor=visit.actor)
    return decision_id


@router.post("/t/{token}/approve")
async def approve(request: Request, portal: PortalDep, visit: VisitDep,
                  background: BackgroundTasks) -> Response:
    posted = await portal.form(request)
    portal.check_csrf(request, posted, visit.scope)
    try:
        identity = await run_in_threadpool(approver_identity, request, portal, visit)
    except SignInFirst:
        raise PortalProblem(403, "Sign in to decide",
                            "This gate needs you to sign in with your organisational account. "
                            "Open the approval page again and sign in; nothing was recorded."
                            ) from None
    if not visit.acts:
        raise PortalProblem(403, "This link lets you see this gate, not decide it",
                            "It was sent to you so that you know the decision is late. Only "
                            "the approvers it is assigned to can decide.")
    view = await run_in_threadpool(read_gate, portal, visit)
    if view["task"].state not in LIVE or not view["actionable"]:
        raise PortalProblem(409, "This gate is not open for your decision",
                            "The gate is closed or your part of it is done. Reload the "
                            "approval page to see where it stands.")
    form = DecisionForm.parse(posted, view["roles"])
    form.check_signature(view["viewer"].name)
    document = view["document"]
    if not view["can_decide"]:
        form.errors["document"] = "There is no verified document to decide on yet."
    elif form.document_sha256 != document.sha256:
        form.errors["document"] = (
            "The document has changed since you opened the page. Review the current version "
            f"(SHA-256 {document.sha256[:12]}…) and decide again.")
    step = str(posted.get("step") or "")
    if form.errors or step == "edit":
        status = 400 if form.errors and step != "edit" else 200
        if step == "edit":
            form.errors = {}
        return portal.page(request, "approval.html.j2", status=status, scope=visit.scope,
                           form=form, recorded=None, **view)
    if step != "confirm":
        return portal.page(request, "approval_confirm.html.j2", scope=visit.scope,
                           form=form, **view)
    visit = await run_in_threadpool(portal.take_over, visit)
    decision_id = await run_in_threadpool(record, portal, visit, form, identity)
    background.add_task(portal.deliver, visit.cycle_id)
    return RedirectResponse(f"{visit.base}/approve?recorded={decision_id}", status_code=303)
