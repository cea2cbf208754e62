"""Shared fixtures: the hand-computed trust RZZ and a synthetic trust with its analysis."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from plancycle.analysis import WorkforceAnalysis, analyse
from plancycle.synthetic import RETURN_KINDS, generate_trust

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture()
def hand_returns() -> dict[str, pd.DataFrame]:
    """The ten-assignment trust of tests/fixtures/analysis, read as a lead would upload it."""
    return {kind: pd.read_csv(FIXTURES / "analysis" / f"{kind}.csv") for kind in RETURN_KINDS}


@pytest.fixture()
def all_accepted() -> dict[str, bool]:
    return {kind: True for kind in RETURN_KINDS}


@pytest.fixture(scope="session")
def synthetic_returns() -> dict[str, pd.DataFrame]:
    return generate_trust(size=3000, seed=7)


@pytest.fixture(scope="session")
def synthetic_analysis(synthetic_returns) -> WorkforceAnalysis:
    return analyse(synthetic_returns, {kind: True for kind in RETURN_KINDS})
