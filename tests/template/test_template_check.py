"""The ICS checks an incoming template: broken ones go back with a DQ report naming the
sheet, row and fix; a correct one passes."""

from __future__ import annotations

import io
from decimal import Decimal

import openpyxl
import pytest

from plancycle.template import check, workbook


def _edited(template, edit) -> bytes:
    book = openpyxl.load_workbook(io.BytesIO(workbook.xlsx_bytes(template)))
    edit(book)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _problem(result, check_id):
    found = result.report.check(check_id)
    assert found.status == "fail", result.report.to_text()
    return found


def test_committed_suite_is_the_generated_one():
    assert check.SUITE_PATH.read_text(encoding="utf-8") == check.suite_json()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_a_correct_template_passes(sample_template):
    result = check.check_template(workbook.xlsx_bytes(sample_template), file_name="rzz.xlsx",
                                  agency_cap_pct=Decimal("10"))
    assert result.accepted, result.report.to_text()
    assert all(c.status != "fail" for c in result.report.checks)
    assert result.template.wte() == sample_template.wte()


def test_broken_bridge_is_sent_back_naming_sheet_row_and_fix(sample_template):
    def edit(book):
        ws = book["Bridge"]
        ws.protection.sheet = False
        ws["C4"] = float(ws["C4"].value) + 0.5   # HCHS doctors' starters in M1
    result = check.check_template(_edited(sample_template, edit),
                                  agency_cap_pct=Decimal("10"))
    found = _problem(result, "bridge.reconciles")
    assert not result.accepted
    assert found.rows[0].values["sheet"] == "Bridge"
    assert found.rows[0].row == 11                     # HCHS doctors' closing WTE row
    assert found.rows[0].values["column"] == "M1"
    assert "opening + movements = closing" in found.fix
    assert "sheet 'Bridge', row 11" in result.report.to_text()


def test_missing_month_is_sent_back(sample_template):
    result = check.check_template(
        _edited(sample_template, lambda book: book["WTE forecast"].delete_cols(8)))  # M5
    found = _problem(result, "structure.months")
    assert found.rows[0].values["sheet"] == "WTE forecast" and found.rows[0].row == 1
    assert "M5 Aug-26" in found.fix


def test_unknown_staff_group_is_sent_back(sample_template):
    def edit(book):
        ws = book["WTE forecast"]
        for row in range(2, 6):
            ws.cell(row=row, column=1).value = "Astronauts"
    result = check.check_template(_edited(sample_template, edit),
                                  agency_cap_pct=Decimal("10"))
    found = _problem(result, "codes.staff_group")
    assert {r.row for r in found.rows} == {2, 3, 4, 5}
    assert found.rows[0].values == {"sheet": "WTE forecast", "column": "staff_group",
                                    "problem": found.rows[0].values["problem"]}
    assert "Astronauts" in found.rows[0].values["problem"]
    assert "staff group from the NHS list" in found.fix


def test_agency_above_the_ics_cap_is_sent_back(sample_template):
    result = check.check_template(workbook.xlsx_bytes(sample_template),
                                  agency_cap_pct=Decimal("3.7"))
    found = _problem(result, "kpi.agency_cap")
    assert found.rows[0].values["sheet"] == "KPIs" and found.rows[0].row == 5
    assert "3.7%" in found.message and "agency" in found.fix


def test_a_file_that_is_not_a_workbook_is_sent_back():
    result = check.check_template(b"staff_group,wte\n", file_name="plan.csv")
    assert not result.accepted
    assert "xlsx" in result.report.check("file.readable").fix


def test_totals_that_are_not_the_sum_of_groups_and_negative_wte_are_sent_back(
        sample_template):
    def edit(book):
        ws = book["WTE forecast"]
        ws["C5"] = float(ws["C5"].value) + 1     # HCHS doctors' total, opening
        ws["D2"] = -1.0                          # HCHS doctors' substantive, M1
    result = check.check_template(_edited(sample_template, edit),
                                  agency_cap_pct=Decimal("10"))
    totals = _problem(result, "forecast.totals")
    assert (totals.rows[0].values["sheet"], totals.rows[0].row) == ("WTE forecast", 5)
    negative = _problem(result, "range.wte")
    assert [(r.row, r.values["column"]) for r in negative.rows] == [(2, "M1")]


def test_plan_check_template_on_the_command_line(sample_template, tmp_path):
    from typer.testing import CliRunner

    from plancycle.cli import app

    good = tmp_path / "rzz.xlsx"
    good.write_bytes(workbook.xlsx_bytes(sample_template))
    runner = CliRunner()
    passed = runner.invoke(app, ["plan", "check-template", str(good), "--agency-cap", "10"])
    assert passed.exit_code == 0, passed.output
    report = tmp_path / "dq.html"
    refused = runner.invoke(app, ["plan", "check-template", str(good), "--agency-cap", "3.7",
                                  "--report", str(report)])
    assert refused.exit_code == 1
    assert "Resubmission required" in refused.output and "sheet 'KPIs', row 5" in refused.output
    html = report.read_text()
    assert "Resubmission required" in html and "KPIs" in html and "agency" in html
