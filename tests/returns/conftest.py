"""Shared fixtures: GX is imported once per session (it takes seconds), real NHS files."""

from __future__ import annotations

from pathlib import Path

import pytest

NHS = Path(__file__).resolve().parents[1] / "fixtures" / "nhs"


@pytest.fixture(scope="session", autouse=True)
def great_expectations_ready() -> None:
    """Build the GX context once, before the first validation, for the whole session."""
    from plancycle.returns.validate import warm_up

    warm_up()


@pytest.fixture(scope="session")
def nhs_dir() -> Path:
    return NHS
