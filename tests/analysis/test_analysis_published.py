"""Given the real published NHS files (tests/fixtures/nhs_analysis, OGL v3.0), the analysis
reproduces the publisher's own figures exactly."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from plancycle.analysis import published

DATA = Path(__file__).resolve().parents[1] / "fixtures" / "nhs_analysis"
CORE5 = DATA / "workforce_hchs" / \
    "hchs_core5_staff_groups_care_setting_level_grade_org_oct2025_QNC_QOC_QPM.csv"


@pytest.fixture(scope="module")
def sickness():
    return published.sickness_rates(
        published.load_sickness((DATA / "sickness_absence").glob("*.csv")))


@pytest.fixture(scope="module")
def core5():
    return published.load_core5(CORE5)


def test_every_organisations_sickness_rate_equals_the_published_rate(sickness):
    assert len(sickness) == 2554                                   # 9 months, all rows
    assert sickness["month"].nunique() == 9
    mismatches = sickness[~sickness["matches"]]
    assert mismatches.empty, mismatches.head().to_string()


def test_rates_are_exact_decimals_not_floats(sickness):
    # the row closest to a rounding tie: RLY, April 2024, 5.39500034…% → 5.40 (published 5.4)
    row = sickness[(sickness["org_code"] == "RLY") & (sickness["month"] == "2024-04")].iloc[0]
    assert row["computed_rate"] == Decimal("5.40") == row["published_rate"]
    # a published value with a binary-float artefact is used as written
    row = sickness[(sickness["org_code"] == "0CX") & (sickness["month"] == "2024-10")].iloc[0]
    assert row["fte_days_available"] == "45625.478970000004"
    assert row["computed_rate"] == Decimal("3.81")
    assert published.sickness_rate("1", "0") is None
    assert published.sickness_rate("x", "3") is None


def test_ics_fte_totals_reproduce_the_published_totals(core5):
    totals = published.fte_totals(core5, level="ics").set_index("ICS_CODE")
    assert totals.loc["QNC", "fte"] == Decimal("21012.46901")     # exact sum of 949 cells
    assert totals.loc["QOC", "fte"] == Decimal("9503.03667")
    assert totals.loc["QPM", "fte"] == Decimal("13212.66915")
    stated = {"QNC": Decimal("21012.5"), "QOC": Decimal("9503.0"), "QPM": Decimal("13212.7")}
    for ics, value in stated.items():                              # SOURCE.md: 1 dp
        assert published.round_half_up(totals.loc[ics, "fte"], 1) == value
    assert totals["rows"].to_dict() == {"QNC": 949, "QOC": 687, "QPM": 903}
    # headcount: a sum of cells, not distinct people (one person can be in several cells)
    assert totals["headcount_cells"].to_dict() == {"QNC": 24144, "QOC": 11222, "QPM": 15100}


def test_fte_adds_up_from_staff_group_to_organisation_to_ics(core5):
    by_group = published.fte_by_staff_group(core5, level="organisation")
    orgs = published.fte_totals(core5, level="organisation").set_index("ORG_CODE")["fte"]
    for org, rows in by_group.groupby("ORG_CODE"):
        assert sum(rows["fte"], Decimal(0)) == orgs[org]
    assert len(orgs) == 12
    ics = published.fte_totals(core5, level="ics").set_index("ICS_CODE")["fte"]
    ics_of_org = core5.drop_duplicates("ORG_CODE").set_index("ORG_CODE")["ICS_CODE"]
    for code, total in ics.items():
        assert sum((orgs[o] for o in ics_of_org[ics_of_org == code].index), Decimal(0)) == total
    nurses = published.fte_by_staff_group(core5, level="ics")
    assert "Nurses & health visitors" in set(nurses["staff_group"])     # prefix stripped
    assert not nurses["staff_group"].str.match(r"^\d{3}_").any()


def test_a_file_in_another_layout_is_rejected_with_the_missing_columns(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("DATE,ORG_CODE\n31/01/2024,RXX\n")
    with pytest.raises(ValueError, match="FTE_DAYS_LOST"):
        published.load_sickness([bad])
