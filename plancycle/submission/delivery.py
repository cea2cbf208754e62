"""Delivering a package to one destination (outbox, HTTP with retries, email), recorded once
per package × destination so a delivered package is never sent again."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from plancycle.config import parse_config
from plancycle.config.model import Destination
from plancycle.register.db import home
from plancycle.register.models import (
    Cycle,
    SubmissionRecord,
)
from plancycle.submission.errors import SubmissionError
from plancycle.submission.package import MANIFEST, Package, sha256_file

if TYPE_CHECKING:
    from plancycle.context import CycleContext


DELIVERED, FAILED, PENDING = "delivered", "failed", "pending"
#: Waits between HTTP attempts (seconds): a 5xx or a network error is retried after each.
HTTP_BACKOFF = (1.0, 2.0, 4.0, 8.0)



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
    return Outcome(True, {"path": str(target), "sha256": sha256_file(target),
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
