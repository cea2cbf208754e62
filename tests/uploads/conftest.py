"""Fixtures for the upload path: the sample cycle with its data requests open, return files.

The engine's fixtures (``home``, ``clock``, ``recording``, ``runtime``) are reused so these
scenarios run on the same sample trust as the engine's. Great Expectations is imported once
per session (it takes seconds).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from plancycle.runtime import Runtime
from plancycle.uploads import UploadOutcome, submit_return
from tests.engine import conftest as engine

CYCLE = engine.CYCLE

NHS = Path(__file__).resolve().parents[1] / "fixtures" / "nhs"
#: Defects injected into the broken staff in post, and the checks each one must fail.
SIP_DEFECTS = {"wte_out_of_range", "duplicate_assignment_id", "unknown_staff_group"}
SIP_FAILED_CHECKS = {"range.wte", "unique.assignment_id", "codes.staff_group"}
#: Who holds each data request of the sample cycle, and the return kind it asks for.
RETURNS = {
    "staff_in_post_return": ("lucy.fernandes", "staff_in_post"),
    "vacancies_return": ("lucy.fernandes", "vacancies"),
    "leavers_return": ("lucy.fernandes", "leavers"),
    "sickness_return": ("lucy.fernandes", "sickness_absence"),
    "pay_budget_return": ("rachel.moore", "pay_budget"),
    "bank_agency_return": ("rachel.moore", "bank_agency"),
    "activity_plan_return": ("sanjay.patel", "activity_plan"),
}


@pytest.fixture(scope="session", autouse=True)
def great_expectations_ready() -> None:
    from plancycle.returns import warm_up

    warm_up()


@pytest.fixture(scope="session")
def trust_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A synthetic 300-person trust written as CSVs, one per return kind, plus a broken
    staff in post (``staff_in_post_broken``) — the files a lead would upload."""
    from plancycle.synthetic import generate_trust, write_trust

    folder = tmp_path_factory.mktemp("trust")
    files = write_trust(generate_trust(size=300, seed=1), folder / "good")
    broken = write_trust(generate_trust(size=300, seed=1, defects=SIP_DEFECTS), folder / "bad")
    files["staff_in_post_broken"] = broken["staff_in_post"]
    return files


@pytest.fixture
def opened(runtime: Runtime, clock) -> Runtime:
    """The sample cycle on Thu 16 April 2026: the data requests have just opened."""
    clock.set(date(2026, 4, 16))
    runtime.advance(CYCLE)
    runtime.deliver(CYCLE)
    return runtime


def upload(runtime: Runtime, task: str, person: str, path: Path,
           name: str | None = None) -> UploadOutcome:
    """``person`` uploads the file at ``path`` as their return for ``task``."""
    return submit_return(runtime, CYCLE, task, person, path.read_bytes(), name or path.name)
