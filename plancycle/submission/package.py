"""The submission package: a content-addressed directory + reproducible zip with a manifest.

The package's hash is the hash of its ``manifest.json`` (which lists every file's SHA-256), so
:func:`verify_manifest` checks a directory or zip end to end. A package with the same *basis*
(approved document, decisions, accepted uploads) is reused, not rebuilt, so a re-run has the
same hash even if PDF rendering is not byte-stable.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from plancycle.config import parse_config
from plancycle.register.db import home
from plancycle.register.models import (
    Cycle,
    Task,
    Upload,
)
from plancycle.returns.hostile import neutralise_rows
from plancycle.signoff import (
    TEMPLATE_KIND,
    current_document,
    decision_trail,
    document_kind,
    dq_summary,
)
from plancycle.submission.errors import SubmissionError
from plancycle.submission.gate import approving_decisions, ready_gate

if TYPE_CHECKING:
    pass


FORMAT = "plancycle-submission/1"
MANIFEST = "manifest.json"
_ZIP_TIME = (2000, 1, 1, 0, 0, 0)  # fixed member times: the same files give the same zip





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
        return sha256_file(self.zip_path)


def submissions_dir(root: Path | None = None) -> Path:
    return (root or home()) / "submissions"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def latest_accepted(session: Session, cycle_id: str) -> list[tuple[Upload, Task]]:
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
    template = current_document(session, cycle_id, TEMPLATE_KIND)
    return {
        "cycle": cycle_id,
        "gate": gate.key,
        "document_kind": document_kind(gate),
        "document_version": document.version if document else None,
        "document_sha256": document.sha256 if document else None,
        "decisions": [d.id for d, _, _ in approving_decisions(session, cycle_id)],
        "returns": [u.sha256 for u, _ in latest_accepted(session, cycle_id)],
        "template_sha256": template.sha256 if template else None,
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


def existing_package(folder: Path, wanted: dict[str, Any]) -> Package | None:
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
    found = existing_package(folder, wanted)
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
    for upload, task in latest_accepted(session, cycle_id):
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
    template = _template_files(session, cycle_id, cycle.org_code, cycle.financial_year)
    files.update(template.files)
    system_tables = _system_tables_files(session, cycle_id)
    files.update(system_tables)
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
            listed.append({"path": name, "sha256": sha256_file(target),
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
            "template": template.entry,
            "system_tables": sorted(system_tables) or None,
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


@dataclass(frozen=True)
class _TemplateFiles:
    files: dict[str, bytes | Path]
    entry: dict[str, Any] | None


def _template_files(session: Session, cycle_id: str, org_code: str, financial_year: str
                    ) -> _TemplateFiles:
    """The registered workforce plan template (xlsx and its CSV folder), checked against its
    recorded hash; none for a cycle whose plan was built without one."""
    document = current_document(session, cycle_id, TEMPLATE_KIND)
    if document is None:
        return _TemplateFiles({}, None)
    xlsx = Path(document.path)
    if not xlsx.exists() or sha256_file(xlsx) != document.sha256:
        raise SubmissionError(
            f"the workforce plan template v{document.version} is missing or altered at {xlsx}; "
            "rebuild the plan (`plancycle plan build`) before submitting")
    stem = f"template/{org_code}-workforce-template-{financial_year.replace('/', '-')}"
    files: dict[str, bytes | Path] = {f"{stem}.xlsx": xlsx}
    folder = xlsx.with_suffix("")
    if folder.is_dir():
        files.update({f"template/csv/{p.name}": p for p in sorted(folder.glob("*.csv"))})
    return _TemplateFiles(files, {"path": f"{stem}.xlsx", "sha256": document.sha256,
                                  "version": document.version,
                                  "csv": sorted(n for n in files if n.endswith(".csv"))})


SYSTEM_TABLES_KIND = "system_tables"


def _system_tables_files(session: Session, cycle_id: str) -> dict[str, bytes | Path]:
    """A system cycle's tables (by organisation, staff group, place; the system trajectory,
    bridge and KPIs) as CSV, for the region; nothing for an organisation's cycle."""
    document = current_document(session, cycle_id, SYSTEM_TABLES_KIND)
    if document is None:
        return {}
    html = Path(document.path)
    folder = html.with_suffix("")
    if not html.exists() or sha256_file(html) != document.sha256 or not folder.is_dir():
        raise SubmissionError(
            f"the system tables v{document.version} are missing or altered at {html}; "
            "roll the system up again (`plancycle ics rollup`) before submitting")
    files: dict[str, bytes | Path] = {"system_tables/system_tables.html": html}
    files.update({f"system_tables/{p.name}": p for p in sorted(folder.glob("*.csv"))})
    return files


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



def load_package(directory: str | Path) -> Package:
    """A package already on disk (directory named by its hash, zip beside it)."""
    directory = Path(directory)
    manifest = json.loads((directory / MANIFEST).read_text())
    return Package(manifest["cycle"]["id"], directory.name, directory,
                   directory.with_suffix(".zip"), manifest, reused=True)
