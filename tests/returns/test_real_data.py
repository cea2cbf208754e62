"""Given real published NHS files, when they are uploaded unchanged, then they pass."""

from __future__ import annotations

import hashlib

import pytest

from plancycle.returns import ValidationContext, read_return, validate_upload

SICKNESS = ["nhs_sickness_absence_2024-04.csv", "nhs_sickness_absence_2024-05.csv"]
CORE5 = "hchs_core5_staff_groups_care_setting_level_grade_org_oct2025_QNC_QOC_QPM.csv"


@pytest.mark.parametrize("name", SICKNESS)
def test_published_sickness_month_passes_unchanged(nhs_dir, name):
    path = nhs_dir / name
    report = validate_upload(path, "sickness_absence")
    assert report.verdict == "pass", report.to_text()
    assert report.row_count == 285
    assert report.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    rate = report.check("cross.rate_matches")
    assert (rate.status, rate.evaluated, rate.offending) == ("pass", 285, 0)
    assert report.check("cross.lost_le_available").evaluated == 285


def test_published_sickness_columns_map_to_the_contract(nhs_dir):
    table = read_return(nhs_dir / SICKNESS[0], "sickness_absence")
    assert table.headers["month"] == "DATE"
    assert table.headers["sickness_absence_rate"] == "SICKNESS_ABSENCE_RATE_PERCENT"
    assert table.frame.loc[2, "fte_days_lost"] == "1868.54684"
    assert not table.findings  # no unknown columns: every published column is in the contract


def test_published_sickness_month_on_month_row_count_is_complete(nhs_dir):
    report = validate_upload(nhs_dir / SICKNESS[1], "sickness_absence",
                             context=ValidationContext(previous_row_count=285))
    assert report.verdict == "pass"
    assert report.check("completeness.row_swing").status == "pass"


def test_published_core5_staff_in_post_passes_unchanged(nhs_dir):
    report = validate_upload(nhs_dir / CORE5, "staff_in_post_published")
    assert report.verdict == "pass", report.to_text()
    assert report.row_count == 2539
    assert report.check("unique.key").evaluated == 2539
    assert report.check("codes.staff_group_1").offending == 0
    assert report.check("cross.fte_le_headcount").status == "pass"


def test_published_core5_typed_values_strip_prefix_and_add_up(nhs_dir):
    from plancycle.returns import load_typed

    typed = load_typed(nhs_dir / CORE5, "staff_in_post_published")
    assert "Nurses & health visitors" in set(typed["staff_group_1"])
    fte_by_ics = typed.groupby("ics_code")["fte"].sum().round(1)
    # The shared SOURCE.md publishes these sums for the three ICSs.
    assert fte_by_ics.to_dict() == {"QNC": 21012.5, "QOC": 9503.0, "QPM": 13212.7}


def test_published_ae_total_row_is_detected_as_a_warning(nhs_dir):
    from plancycle.returns import Column, ReturnKind

    ae = ReturnKind("ae_activity", "A&E attendances", columns=(
        Column("period"), Column("org_code"), Column("parent_org"), Column("org_name"),
        Column("a_e_attendances_type_1", "int", min=0)))
    table = read_return(nhs_dir / "ae_activity_2024-09.csv", ae)
    total = next(f for f in table.findings if f.id == "rows.total")
    assert (total.status, total.offending) == ("warn", 1)
    assert total.rows[0].row == 199
    assert "Row(s) 199" in total.message
    assert 199 not in table.frame.index and table.row_count == 197
