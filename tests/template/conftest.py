"""The sample trust RZZ's analysis and template (tests/fixtures/analysis, hand-computed)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from plancycle.analysis import WorkforceAnalysis, analyse
from plancycle.synthetic import RETURN_KINDS
from plancycle.template import TemplateAssumptions, WorkforceTemplate, from_analysis

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(scope="session")
def sample_returns() -> dict[str, pd.DataFrame]:
    return {kind: pd.read_csv(FIXTURES / "analysis" / f"{kind}.csv") for kind in RETURN_KINDS}


@pytest.fixture(scope="session")
def sample_analysis(sample_returns) -> WorkforceAnalysis:
    return analyse(sample_returns, {kind: True for kind in RETURN_KINDS})


@pytest.fixture(scope="session")
def sample_template(sample_analysis, sample_returns) -> WorkforceTemplate:
    """RZZ's template with an agency reduction and the pipeline a planner would set."""
    return from_analysis(sample_analysis, sample_returns["staff_in_post"], org_name="RZZ Trust",
                         assumptions=TemplateAssumptions(
                             scenario="growth", productivity_pct=Decimal("1.5"),
                             agency_cap_pct=Decimal("10"), agency_reduction_pct=Decimal("40"),
                             international_recruits={"Nurses & health visitors": Decimal("1")}))
