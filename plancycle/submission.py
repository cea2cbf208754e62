"""Submission to the ICS: package the signed plan and its evidence, lock the cycle, deliver.

Once the final (board) gate has passed:

1. :func:`build_package` writes ``<PLANCYCLE_HOME>/submissions/<cycle>/<package sha>/`` —
   the signed plan PDF, the accepted returns (raw files as received), the DQ summary and the
   decision trail (CSV and JSON), and ``manifest.json`` with the SHA-256 of every file — and
   a zip of it beside the directory. The package's hash is the hash of its manifest, so
   :func:`verify_manifest` can check a package (directory or zip) end to end. A package with
   the same *basis* (approved document, decisions, accepted uploads) is reused rather than
   rebuilt, so a re-run has the same hash even if PDF rendering is not byte-stable.
2. :func:`lock_cycle` locks the cycle's returns and plan (uploads and new plan versions are
   refused); only :func:`unlock_cycle`, with a recorded reason, opens it again.
3. :func:`send` delivers the zip to one destination (outbox directory, HTTP POST with
   retries and backoff, email through Apprise); :func:`open_record` / :func:`record_outcome`
   keep one :class:`SubmissionRecord` per package × destination, so a delivered package is
   never sent again and a failed one is retried on the next run. The HTTP request carries
   an ``Idempotency-Key`` so a receiver can drop a repeat after a crash mid-delivery.

No Prefect here: ``flows/submission.py`` runs these steps as tasks.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import tempfile
import time
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from plancycle.config import parse_config
from plancycle.config.model import Destination
from plancycle.register.db import home
from plancycle.register.models import (
    AssignmentState,
    AuditEntry,
    Cycle,
    Decision,
    Person,
    RoleHolder,
    Stage,
    SubmissionRecord,
    Task,
    TaskState,
    Upload,
)
from plancycle.returns.hostile import neutralise_rows
from plancycle.signoff import (
    Verdict,
    current_document,
    decision_trail,
    document_kind,
    dq_summary,
    gate_status,
)

if TYPE_CHECKING:
    from plancycle.context import CycleContext
    from plancycle.documents import Signature

FORMAT = "plancycle-submission/1"
MANIFEST = "manifest.json"
DELIVERED, FAILED, PENDING = "delivered", "failed", "pending"
#: Waits between HTTP attempts (seconds): a 5xx or a network error is retried after each.
HTTP_BACKOFF = (1.0, 2.0, 4.0, 8.0)
_ZIP_TIME = (2000, 1, 1, 0, 0, 0)  # fixed member times: the same files give the same zip


class SubmissionError(Exception):
    """Submission cannot go ahead; the message says what to do."""


# --- readiness and signatures -------------------------------------------------------------------

def final_gate(session: Session, cycle_id: str) -> Task | None:
    """The last gate of the cycle in calendar order (the board's sign-off)."""
    gates = session.execute(
        select(Task).join(Stage, Task.stage_id == Stage.id)
        .where(Task.cycle_id == cycle_id, Task.kind == "gate")
        .order_by(Stage.starts_on, Stage.sequence, Task.sequence)).scalars().all()
    return gates[-1] if gates else None


def ready_gate(session: Session, cycle_id: str, gate_key: str | None = None) -> Task:
    """The passed gate the submission rests on, or a SubmissionError saying what is missing."""
    if session.get(Cycle, cycle_id) is None:
        raise SubmissionError(f"no cycle '{cycle_id}' in the register")
    if gate_key:
        gate = session.scalars(select(Task).where(Task.cycle_id == cycle_id,
                                                  Task.key == gate_key)).one_or_none()
    else:
        gate = final_gate(session, cycle_id)
    if gate is None or gate.kind != "gate":
        raise SubmissionError(f"cycle '{cycle_id}' has no gate "
                              f"{'named ' + repr(gate_key) if gate_key else ''} to submit after")
    status = gate_status(session, gate)
    if status.outcome != "passed":
        approved = ", ".join(status.approved_roles) or "nobody"
        raise SubmissionError(
            f"'{gate.name}' has not passed (approved by {approved}, "
            f"{len(status.approved_roles)}/{status.needed} needed; gate is {status.state}): "
            "the plan can be submitted only once it has")
    return gate


def approving_decisions(session: Session, cycle_id: str) -> list[tuple[Decision, Person, str]]:
    """Valid approvals of the current document at every gate: (decision, person, role name)."""
    names = {h.role_key: h.role_name for h in session.scalars(
        select(RoleHolder).where(RoleHolder.cycle_id == cycle_id))}
    out = []
    for decision, task, person in session.execute(
            select(Decision, Task, Person).join(Task, Decision.task_id == Task.id)
            .join(Person, Decision.person_id == Person.id)
            .where(Decision.cycle_id == cycle_id, Decision.valid.is_(True),
                   Decision.decision != Verdict.REJECT)
            .order_by(Decision.decided_at, Decision.id)).all():
        document = current_document(session, cycle_id, document_kind(task))
        if document is None or document.sha256 == decision.document_sha256:
            out.append((decision, person, names.get(decision.role_key, decision.role_key)))
    return out


def signatures(session: Session, cycle_id: str) -> list[Signature]:
    """The signature page: each approving role's latest decision (later gates win)."""
    from plancycle.documents import Signature

    latest: dict[str, Signature] = {}
    for decision, person, role_name in approving_decisions(session, cycle_id):
        latest[role_name] = Signature(
            role=role_name, name=decision.signature or person.name,
            decision={"approve": "Approved", "approve_with_conditions":
                      "Approved with conditions"}.get(decision.decision, decision.decision),
            decided_at=decision.decided_at, document_hash=decision.document_sha256)
    return list(latest.values())


def signed_plan_pdf(runtime: CycleContext, cycle_id: str) -> Path:
    """The signed plan PDF, built by the planning service from the recorded decisions."""
    try:
        from plancycle.planning import build_plan
    except ImportError as exc:  # pragma: no cover - the planning service ships with plancycle
        raise SubmissionError(f"the plan builder is not available ({exc}); pass the signed "
                              "plan PDF explicitly") from None
    with runtime.register.session() as session:
        page = signatures(session, cycle_id)
    try:
        build = build_plan(runtime, cycle_id, signatures=page, actor="submission")
    except Exception as exc:  # AnalysisRefused / PlanningError: say why, keep the trace
        raise SubmissionError(f"the signed plan could not be built: {exc}") from exc
    return Path(build.pdf_path)


# --- the package --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Package:
    cycle_id: str
    sha256: str
    directory: Path
    zip_path: Path
    manifest: dict[str, Any]
    reused: bool = False

    @property
    def zip_sha256(self) -> str:
        return _sha256_file(self.zip_path)


def submissions_dir(root: Path | None = None) -> Path:
    return (root or home()) / "submissions"


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _latest_accepted(session: Session, cycle_id: str) -> list[tuple[Upload, Task]]:
    """The accepted upload each data request ends with (what the plan was built from)."""
    latest: dict[int, tuple[Upload, Task]] = {}
    for upload, task in session.execute(
            select(Upload, Task).join(Task, Upload.task_id == Task.id)
            .where(Upload.cycle_id == cycle_id, Upload.state == "accepted")
            .order_by(Upload.id)).all():
        latest[task.id] = (upload, task)
    return sorted(latest.values(), key=lambda pair: pair[0].id)


def basis(session: Session, cycle_id: str, gate: Task) -> dict[str, Any]:
    """What a package is a package *of*: the same basis means the same package."""
    document = current_document(session, cycle_id, document_kind(gate))
    return {
        "cycle": cycle_id,
        "gate": gate.key,
        "document_kind": document_kind(gate),
        "document_version": document.version if document else None,
        "document_sha256": document.sha256 if document else None,
        "decisions": [d.id for d, _, _ in approving_decisions(session, cycle_id)],
        "returns": [u.sha256 for u, _ in _latest_accepted(session, cycle_id)],
    }


def _csv(rows: Sequence[Mapping[str, Any]]) -> bytes:
    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()  # our own field names: never formula-like
        writer.writerows(neutralise_rows(rows))
    return out.getvalue().encode("utf-8")


def _json(data: Any) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def _safe(name: str) -> str:
    keep = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)
    return keep.strip("._") or "file"


def _existing(folder: Path, wanted: dict[str, Any]) -> Package | None:
    """A verified package already built on the same basis (newest first)."""
    if not folder.is_dir():
        return None
    candidates = sorted((p for p in folder.iterdir() if p.is_dir() and len(p.name) == 64),
                        key=lambda p: p.stat().st_mtime, reverse=True)
    for directory in candidates:
        try:
            manifest = json.loads((directory / MANIFEST).read_text())
        except (OSError, ValueError):
            continue
        zip_path = directory.with_suffix(".zip")
        if manifest.get("basis") == wanted and zip_path.exists() \
                and verify_manifest(directory).ok and verify_manifest(zip_path).ok:
            return Package(manifest["cycle"]["id"], directory.name, directory, zip_path,
                           manifest, reused=True)
    return None


def build_package(session: Session, cycle_id: str, plan_pdf: bytes | Path | None,
                  *, root: Path | None = None, gate_key: str | None = None) -> Package:
    """Write the submission package (directory + zip) for a cycle whose final gate passed.

    ``plan_pdf`` is the signed plan (bytes or a path). It may be None only when a package on
    the same basis already exists (then that package is returned as it is).
    """
    gate = ready_gate(session, cycle_id, gate_key)
    cycle = session.get(Cycle, cycle_id)
    wanted = basis(session, cycle_id, gate)
    folder = submissions_dir(root) / cycle_id
    found = _existing(folder, wanted)
    if found is not None:
        return found
    if plan_pdf is None:
        raise SubmissionError("no signed plan PDF was given to package")
    pdf = plan_pdf if isinstance(plan_pdf, bytes) else Path(plan_pdf).read_bytes()
    if not pdf.startswith(b"%PDF"):
        raise SubmissionError("the signed plan given is not a PDF file")

    files: dict[str, bytes | Path] = {f"plan/{cycle.org_code}-workforce-plan-"
                                      f"{cycle.financial_year.replace('/', '-')}.pdf": pdf}
    returns = []
    for upload, task in _latest_accepted(session, cycle_id):
        source = Path(upload.stored_path)
        if not source.exists():
            raise SubmissionError(
                f"the accepted {task.return_kind} return (upload {upload.id}) is missing from "
                f"the store at {source}; restore it from backup before submitting")
        name = f"returns/{task.key}-v{upload.version}-{_safe(upload.original_name)}"
        files[name] = source
        returns.append({"path": name, "task": task.key, "return_kind": task.return_kind,
                        "upload_id": upload.id, "version": upload.version,
                        "original_name": upload.original_name, "sha256": upload.sha256})
    summary = dq_summary(session, cycle_id)
    files["dq_summary.csv"] = _csv(summary.rows)
    files["dq_summary.json"] = _json({"accepted": summary.accepted, "warned": summary.warned,
                                      "failed": summary.failed, "received": summary.received,
                                      "uploads": summary.rows})
    trail = decision_trail(session, cycle_id)
    files["decisions.csv"] = _csv(trail)
    files["decisions.json"] = _json(trail)
    config = parse_config(cycle.config_text, file=cycle.config_path)

    folder.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder, prefix=".staging-"))
    try:
        listed = []
        for name, content in sorted(files.items()):
            target = staging / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, Path):
                shutil.copyfile(content, target)
            else:
                target.write_bytes(content)
            listed.append({"path": name, "sha256": _sha256_file(target),
                           "bytes": target.stat().st_size})
        for entry in returns:  # the copy must be the file as received
            copied = next(f["sha256"] for f in listed if f["path"] == entry["path"])
            if copied != entry["sha256"]:
                raise SubmissionError(
                    f"upload {entry['upload_id']} in the store no longer matches its recorded "
                    "hash; the raw file has been altered — restore it before submitting")
        manifest = {
            "format": FORMAT,
            "cycle": {"id": cycle.id, "name": cycle.name, "financial_year": cycle.financial_year,
                      "org_code": cycle.org_code, "org_name": cycle.org_name},
            "recipient": config.submission.recipient,
            "approved": {"gate": gate.key, "gate_name": gate.name,
                         "passed_at": gate.completed_at.isoformat() if gate.completed_at
                         else None},
            "basis": wanted,
            "returns": returns,
            "dq": {"accepted": summary.accepted, "warned": summary.warned,
                   "failed": summary.failed},
            "files": listed,
        }
        data = _json(manifest)
        (staging / MANIFEST).write_bytes(data)
        sha = hashlib.sha256(data).hexdigest()
        directory = folder / sha
        if directory.exists():
            shutil.rmtree(staging)
        else:
            os.replace(staging, directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    zip_path = directory.with_suffix(".zip")
    _write_zip(directory, zip_path, [f["path"] for f in listed] + [MANIFEST])
    return Package(cycle_id, sha, directory, zip_path, manifest)


def _write_zip(directory: Path, zip_path: Path, names: list[str]) -> None:
    """A reproducible zip (fixed member times, sorted), written atomically."""
    fd, tmp = tempfile.mkstemp(dir=zip_path.parent, prefix=".zip-")
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name in sorted(names):
                info = zipfile.ZipInfo(f"{directory.name[:12]}/{name}", date_time=_ZIP_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                archive.writestr(info, (directory / name).read_bytes())
        os.replace(tmp, zip_path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@dataclass
class ManifestCheck:
    """The result of checking a package against its manifest."""

    package_sha256: str | None
    checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_manifest(path: str | Path) -> ManifestCheck:
    """Check every file of a package (directory or zip) against ``manifest.json``.

    Reports files changed, missing or added since packaging, and a manifest that no longer
    matches the package's hash (its directory name).
    """
    path = Path(path)
    if path.is_dir():
        members = {p.relative_to(path).as_posix(): p.read_bytes
                   for p in path.rglob("*") if p.is_file()}
        expected_sha = path.name if len(path.name) == 64 else None
    elif zipfile.is_zipfile(path):
        archive = zipfile.ZipFile(path)
        prefixes = {n.split("/", 1)[0] for n in archive.namelist()}
        members = {}
        for name in archive.namelist():
            inner = name.split("/", 1)[1] if len(prefixes) == 1 and "/" in name else name
            members[inner] = (lambda n=name: archive.read(n))
        expected_sha = None
    else:
        return ManifestCheck(None, problems=[f"{path} is neither a package directory nor a zip"])
    if MANIFEST not in members:
        return ManifestCheck(None, problems=[f"{path} has no {MANIFEST}"])
    data = members.pop(MANIFEST)()
    sha = hashlib.sha256(data).hexdigest()
    check = ManifestCheck(sha)
    if expected_sha and expected_sha != sha:
        check.problems.append(f"{MANIFEST} was changed: its hash {sha[:12]}… is not the "
                              f"package's {expected_sha[:12]}…")
    try:
        listed = {f["path"]: f for f in json.loads(data)["files"]}
    except (ValueError, KeyError, TypeError):
        check.problems.append(f"{MANIFEST} is not a valid manifest")
        return check
    for name, entry in sorted(listed.items()):
        reader = members.pop(name, None)
        if reader is None:
            check.problems.append(f"{name}: missing")
            continue
        actual = hashlib.sha256(reader()).hexdigest()
        check.checked += 1
        if actual != entry["sha256"]:
            check.problems.append(f"{name}: SHA-256 {actual[:12]}… does not match the "
                                  f"manifest's {entry['sha256'][:12]}…")
    for name in sorted(members):
        check.problems.append(f"{name}: not in the manifest")
    return check


# --- lock and unlock ----------------------------------------------------------------------------

def _audit(session: Session, cycle_id: str, action: str, actor: str, note: str,
           now: datetime) -> None:
    session.add(AuditEntry(cycle_id=cycle_id, at=now, actor=actor, action=action,
                           entity="cycles", entity_id=cycle_id, before=None, after=None,
                           note=note))


def lock_cycle(session: Session, cycle_id: str, now: datetime, reason: str,
               actor: str = "submission") -> bool:
    """Lock the cycle's returns and plan; True if it was not locked already."""
    cycle = session.get(Cycle, cycle_id)
    if cycle is None:
        raise SubmissionError(f"no cycle '{cycle_id}' in the register")
    if cycle.locked:
        return False
    session.info["note"] = reason
    cycle.locked = True
    session.flush()
    _audit(session, cycle_id, "lock", actor, reason, now)
    session.flush()
    return True


def unlock_cycle(session: Session, cycle_id: str, now: datetime, reason: str,
                 actor: str) -> bool:
    """Unlock a locked cycle (a recorded planner action); True if it was locked."""
    if not (reason or "").strip():
        raise SubmissionError("say why the cycle is being unlocked (--reason); it is recorded "
                              "in the audit trail")
    cycle = session.get(Cycle, cycle_id)
    if cycle is None:
        raise SubmissionError(f"no cycle '{cycle_id}' in the register")
    if not cycle.locked:
        return False
    session.info["note"] = reason.strip()
    cycle.locked = False
    session.flush()
    _audit(session, cycle_id, "unlock", actor, reason.strip(), now)
    session.flush()
    return True


# --- delivery -----------------------------------------------------------------------------------

def destinations(session: Session, cycle_id: str) -> list[Destination]:
    cycle = session.get(Cycle, cycle_id)
    if cycle is None:
        raise SubmissionError(f"no cycle '{cycle_id}' in the register")
    return list(parse_config(cycle.config_text, file=cycle.config_path).submission.destinations)


def label(destination: Destination) -> str:
    """How a destination is named in the register (never a secret: the URL's env var name)."""
    if destination.type == "outbox":
        return f"outbox:{destination.path or 'outbox'}"
    if destination.type == "http":
        return f"http:{destination.url_env}"
    return f"email:{destination.to}"


@dataclass
class Outcome:
    ok: bool
    receipt: dict[str, Any]
    attempts: int = 1


def open_record(session: Session, package: Package, destination: Destination,
                now: datetime) -> SubmissionRecord:
    """The package × destination record (created pending on first use)."""
    name = label(destination)
    record = session.scalars(select(SubmissionRecord).where(
        SubmissionRecord.cycle_id == package.cycle_id,
        SubmissionRecord.package_sha256 == package.sha256,
        SubmissionRecord.destination == name)).one_or_none()
    if record is None:
        record = SubmissionRecord(cycle_id=package.cycle_id, package_sha256=package.sha256,
                                  destination=name, status=PENDING, attempts=0, receipt=None,
                                  created_at=now)
        session.add(record)
        session.flush()
    return record


def record_outcome(session: Session, record_id: int, outcome: Outcome, now: datetime
                   ) -> SubmissionRecord:
    record = session.get(SubmissionRecord, record_id)
    record.attempts += outcome.attempts
    record.status = DELIVERED if outcome.ok else FAILED
    record.receipt = {**outcome.receipt, "at": now.isoformat()}
    if outcome.ok:
        record.delivered_at = now
    session.flush()
    return record


def send(package: Package, destination: Destination, *, env: Mapping[str, str] | None = None,
         sleep: Callable[[float], None] = time.sleep,
         backoff: Sequence[float] = HTTP_BACKOFF, timeout: float = 30.0) -> Outcome:
    """Deliver the package's zip to one destination (no register access: slow I/O only)."""
    env = os.environ if env is None else env
    if destination.type == "outbox":
        return _to_outbox(package, destination)
    if destination.type == "http":
        return _to_http(package, destination, env, sleep, backoff, timeout)
    return _to_email(package, destination, env)


def _zip_name(package: Package) -> str:
    return f"{package.cycle_id}-{package.sha256[:12]}.zip"


def _to_outbox(package: Package, destination: Destination) -> Outcome:
    folder = Path(destination.path or "outbox")
    folder = folder if folder.is_absolute() else home() / folder
    try:
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / _zip_name(package)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".incoming-")
        os.close(fd)
        shutil.copyfile(package.zip_path, tmp)
        os.replace(tmp, target)
    except OSError as exc:
        return Outcome(False, {"error": f"could not write to the outbox {folder}: {exc}"})
    return Outcome(True, {"path": str(target), "sha256": _sha256_file(target),
                          "bytes": target.stat().st_size})


def _to_http(package: Package, destination: Destination, env: Mapping[str, str],
             sleep: Callable[[float], None], backoff: Sequence[float], timeout: float
             ) -> Outcome:
    import httpx

    url = env.get(destination.url_env or "")
    if not url:
        return Outcome(False, {"error": f"the ICS endpoint is not configured: set the "
                                        f"environment variable {destination.url_env}"},
                       attempts=0)
    body = package.zip_path.read_bytes()
    headers = {"Content-Type": "application/zip",
               "Idempotency-Key": f"{package.cycle_id}:{package.sha256}",
               "X-Plancycle-Cycle": package.cycle_id,
               "X-Plancycle-Package-SHA256": package.sha256,
               "Content-Disposition": f'attachment; filename="{_zip_name(package)}"'}
    tries: list[dict[str, Any]] = []
    with httpx.Client(timeout=timeout) as client:
        for attempt in range(len(backoff) + 1):
            if attempt:
                sleep(backoff[attempt - 1])
            try:
                response = client.post(url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                tries.append({"error": f"{type(exc).__name__}: {exc}"})
                continue
            tries.append({"status": response.status_code})
            receipt = {"url_env": destination.url_env, "status": response.status_code,
                       "body": response.text[:2000], "tries": tries}
            if response.is_success:
                return Outcome(True, receipt, attempts=len(tries))
            if response.status_code < 500:  # the receiver refused it: retrying will not help
                return Outcome(False, receipt, attempts=len(tries))
    return Outcome(False, {"url_env": destination.url_env, "tries": tries,
                           "error": f"no success after {len(tries)} attempts"},
                   attempts=len(tries))


def _to_email(package: Package, destination: Destination, env: Mapping[str, str]) -> Outcome:
    import apprise

    base = env.get("PLANCYCLE_EMAIL_URL")
    if not base or not destination.to:
        return Outcome(False, {"error": "email is not configured: set PLANCYCLE_EMAIL_URL "
                                        "and the destination's 'to' address"}, attempts=0)
    from urllib.parse import quote

    url = f"{base}{'&' if '?' in base else '?'}to={quote(destination.to, safe='@')}"
    notifier = apprise.Apprise()
    if not notifier.add(url):
        return Outcome(False, {"error": "PLANCYCLE_EMAIL_URL is not a valid Apprise URL"})
    manifest = package.manifest
    title = (f"Workforce plan submission: {manifest['cycle']['org_name']} "
             f"{manifest['cycle']['financial_year']}")
    body = (f"Please find attached the signed workforce plan and its evidence package for "
            f"{manifest['cycle']['org_name']} ({manifest['cycle']['org_code']}).\n\n"
            f"Package SHA-256: {package.sha256}\nFiles: {len(manifest['files'])} "
            f"(listed with their SHA-256 in {MANIFEST})\n")
    attachment = apprise.AppriseAttachment()
    attachment.add(str(package.zip_path))
    with apprise.LogCapture(level=30) as log:
        ok = notifier.notify(title=title, body=body, attach=attachment)
        captured = log.getvalue().strip()
    receipt = {"to": destination.to, "subject": title}
    if not ok:
        receipt["error"] = captured.splitlines()[-1] if captured else "Apprise notify failed"
    return Outcome(ok, receipt)


# --- the whole submission (CLI and tests; the flow runs the same steps as tasks) -----------

@dataclass
class SubmissionResult:
    package: Package
    locked_now: bool
    records: list[dict[str, Any]]

    @property
    def delivered(self) -> bool:
        return all(r["status"] == DELIVERED for r in self.records)


def deliver_to(runtime: CycleContext, package: Package, destination: Destination, *,
               env: Mapping[str, str] | None = None,
               sleep: Callable[[float], None] = time.sleep,
               backoff: Sequence[float] = HTTP_BACKOFF) -> dict[str, Any]:
    """One destination, idempotently: a delivered record is never sent again."""
    with runtime.register.session(actor="submission") as session:
        record = open_record(session, package, destination, runtime.clock.now())
        if record.status == DELIVERED:
            return _record_dict(record, sent=False)
        record_id = record.id
    outcome = send(package, destination, env=env, sleep=sleep, backoff=backoff)
    with runtime.register.session(actor="submission") as session:
        return _record_dict(record_outcome(session, record_id, outcome, runtime.clock.now()),
                            sent=True)


def _record_dict(record: SubmissionRecord, sent: bool) -> dict[str, Any]:
    return {"destination": record.destination, "status": record.status,
            "attempts": record.attempts, "receipt": record.receipt, "sent_now": sent}


def complete_submission_tasks(runtime: CycleContext, cycle_id: str, package: Package,
                              records: list[dict[str, Any]]) -> list[str]:
    """Once every destination has the package, the cycle's open submission tasks are done."""
    if not records or any(r["status"] != DELIVERED for r in records):
        return []
    done = []
    note = (f"submitted package {package.sha256[:12]}… to "
            + ", ".join(r["destination"] for r in records))
    with runtime.register.session(actor="submission") as session:
        states = dict(session.execute(select(Task.key, Task.state).where(
            Task.cycle_id == cycle_id)).all())
        for task in session.scalars(select(Task).where(
                Task.cycle_id == cycle_id, Task.kind == "submission",
                Task.state.in_([TaskState.OPEN, TaskState.RESUBMISSION_REQUIRED,
                                TaskState.PENDING]))):
            if task.state == TaskState.PENDING:
                # Submitted before its stage opened: nothing left to ask anyone to do.
                if any(states.get(d) not in (TaskState.COMPLETE, TaskState.CANCELLED)
                       for d in task.depends_on or []):
                    continue
                task.state, task.completed_at = TaskState.COMPLETE, runtime.clock.now()
            for assignment in task.assignments:
                if assignment.state == AssignmentState.OPEN:
                    assignment.state = AssignmentState.COMPLETE
                    assignment.completed_at = runtime.clock.now()
                    assignment.reason = note
            done.append(task.key)
        # The cycle's state stays "started": its in-year tasks are still chased.
    if done:
        runtime.advance(cycle_id, actor="submission")
    return done


def submit(runtime: CycleContext, cycle_id: str, plan_pdf: bytes | Path | None = None, *,
           env: Mapping[str, str] | None = None, sleep: Callable[[float], None] = time.sleep,
           backoff: Sequence[float] = HTTP_BACKOFF, gate_key: str | None = None
           ) -> SubmissionResult:
    """Package, lock and deliver; safe to run again (nothing is delivered twice)."""
    with runtime.register.session(actor="submission") as session:
        gate = ready_gate(session, cycle_id, gate_key)
        package = _existing(submissions_dir() / cycle_id, basis(session, cycle_id, gate))
    if package is None:
        pdf = plan_pdf if plan_pdf is not None else signed_plan_pdf(runtime, cycle_id)
        with runtime.register.session(actor="submission") as session:
            package = build_package(session, cycle_id, pdf, gate_key=gate_key)
    with runtime.register.session(actor="submission") as session:
        locked_now = lock_cycle(session, cycle_id, runtime.clock.now(),
                                f"submitted: package {package.sha256}")
        targets = destinations(session, cycle_id)
    records = [deliver_to(runtime, package, d, env=env, sleep=sleep, backoff=backoff)
               for d in targets]
    complete_submission_tasks(runtime, cycle_id, package, records)
    return SubmissionResult(package, locked_now, records)


def load_package(directory: str | Path) -> Package:
    """A package already on disk (directory named by its hash, zip beside it)."""
    directory = Path(directory)
    manifest = json.loads((directory / MANIFEST).read_text())
    return Package(manifest["cycle"]["id"], directory.name, directory,
                   directory.with_suffix(".zip"), manifest, reused=True)
