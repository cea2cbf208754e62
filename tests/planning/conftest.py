"""Fixtures for the plan build: the sample cycle with synthetic returns stored as uploads.

Uploads are recorded as the upload path leaves them — the raw file in the content-addressed
store under ``<PLANCYCLE_HOME>/uploads``, an Upload row per version with its state, and a DQ
result for a failed one — so these tests exercise the plan build without running the
validation suites.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select

from plancycle.clock import SimulatedClock
from plancycle.notify.channels import RecordingChannels
from plancycle.register.models import DQResult, Person, RoleHolder, Task, Upload
from plancycle.returns import RawStore
from plancycle.runtime import Runtime
from plancycle.synthetic import generate_trust
from tests.engine.conftest import CYCLE, build_runtime

SIZE = 600

#: The data request task of each return kind in the sample cycle.
RETURN_TASKS = {
    "staff_in_post": "staff_in_post_return", "vacancies": "vacancies_return",
    "leavers": "leavers_return", "sickness_absence": "sickness_return",
    "pay_budget": "pay_budget_return", "bank_agency": "bank_agency_return",
    "activity_plan": "activity_plan_return", "service_changes": "service_change_return",
    "education_training": "education_training_return",
}


@dataclass
class Trust:
    """One sample cycle in its own PLANCYCLE_HOME, with a simulated clock."""

    runtime: Runtime
    clock: SimulatedClock
    home: Path

    def upload(self, kind: str, frame: pd.DataFrame, state: str = "accepted", *,
               person: str | None = None, failed_checks: int = 0, on: date | None = None
               ) -> int:
        """Store ``frame`` as the task's next upload of ``kind`` (CSV) in ``state``."""
        if on is not None:
            self.clock.set(on)
        data = frame.to_csv(index=False, lineterminator="\n").encode("utf-8")
        stored = RawStore(self.home / "uploads").store(data, f"{kind}.csv")
        with self.runtime.register.session(actor="test-upload") as session:
            task = session.scalars(select(Task).where(
                Task.cycle_id == CYCLE, Task.key == RETURN_TASKS[kind])).one()
            if person is None:
                holder = session.scalars(select(RoleHolder).where(
                    RoleHolder.cycle_id == CYCLE, RoleHolder.role_key == task.role_key)
                    .order_by(RoleHolder.id)).first()
                person_id = holder.person_id
            else:
                person_id = session.scalars(select(Person.id).where(
                    Person.cycle_id == CYCLE, Person.key == person)).one()
            version = (session.scalar(select(func.max(Upload.version))
                                      .where(Upload.task_id == task.id)) or 0) + 1
            upload = Upload(cycle_id=CYCLE, task_id=task.id, person_id=person_id,
                            version=version, original_name=stored.original_name,
                            sha256=stored.sha256, size_bytes=stored.size,
                            stored_path=str(stored.path), uploaded_at=self.clock.now(),
                            state=state)
            session.add(upload)
            session.flush()
            if state != "received":
                checks = [{"id": f"check_{i}", "status": "fail"} for i in range(failed_checks)]
                session.add(DQResult(cycle_id=CYCLE, upload_id=upload.id,
                                     verdict="fail" if state == "failed" else "pass",
                                     report={"checks": checks, "row_count": len(frame)},
                                     created_at=self.clock.now()))
            return upload.id

    def upload_all(self, returns: dict[str, pd.DataFrame], on: date | None = None) -> None:
        for kind, frame in returns.items():
            self.upload(kind, frame, on=on)


@pytest.fixture(scope="session")
def trust_returns() -> dict[str, pd.DataFrame]:
    """A 600-person synthetic trust (the sample cycle's RXX, 2026/27)."""
    return generate_trust(size=SIZE, seed=11)


def open_trust(home: Path, env: pytest.MonkeyPatch) -> Trust:
    env.setenv("PLANCYCLE_HOME", str(home))
    env.setenv("PLANCYCLE_LINK_SECRET", "test-secret")
    env.setenv("PLANCYCLE_PORTAL_URL", "http://portal.test")
    env.delenv("PLANCYCLE_DATABASE_URL", raising=False)
    clock = SimulatedClock(date(2026, 4, 1))
    return Trust(build_runtime(home, clock, RecordingChannels()), clock, home)


@pytest.fixture
def trust(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Trust]:
    """A fresh sample cycle with no uploads yet."""
    trust = open_trust(tmp_path, monkeypatch)
    yield trust
    trust.runtime.register.dispose()
