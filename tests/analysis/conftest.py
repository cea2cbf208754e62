"""Shared fixtures for the analysis tests."""

from __future__ import annotations

import pandas as pd
import pytest

from plancycle.synthetic import generate_trust


@pytest.fixture(scope="session")
def synthetic_returns() -> dict[str, pd.DataFrame]:
    return generate_trust(size=3000, seed=7)
