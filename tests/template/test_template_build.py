"""The template built from the sample trust's analysis: opening, bridge, KPIs, xlsx = CSV."""

from __future__ import annotations

import io
from decimal import Decimal

import openpyxl
import pandas as pd

from plancycle.documents import tables as fmt
from plancycle.template import workbook
from plancycle.template.model import (
    ALL_GROUPS,
    CLOSING_ITEM,
    MONTHS,
    MOVEMENTS,
    OPENING,
    OPENING_ITEM,
    PERIODS,
    SHEETS,
    TOTAL_TYPE,
    YEAR,
)
from plancycle.template.validation import validate


def test_opening_wte_per_group_is_the_staff_in_post_sum_exactly(sample_template,
                                                                 sample_returns):
    staff = pd.read_csv(  # the return as text: the exact decimals the lead sent
        io.StringIO(sample_returns["staff_in_post"].to_csv(index=False)), dtype=str)
    for group, rows in staff.groupby("staff_group"):
        expected = sum((Decimal(v) for v in rows["wte"]), Decimal(0))
        assert sample_template.wte(group, "substantive", OPENING) == expected
    assert sample_template.wte(ALL_GROUPS, "substantive", OPENING) == sum(
        (Decimal(v) for v in staff["wte"]), Decimal(0))


def test_bridge_reconciles_for_every_group_and_month(sample_template):
    t = sample_template
    bridge = t.bridge.set_index(["staff_group", "item"])
    for group in [*t.staff_groups, ALL_GROUPS]:
        for i, month in enumerate(MONTHS):
            opening = bridge.loc[(group, OPENING_ITEM), month]
            moves = sum((bridge.loc[(group, item), month] for item in MOVEMENTS), Decimal(0))
            closing = bridge.loc[(group, CLOSING_ITEM), month]
            assert opening + moves == closing
            assert opening == t.wte(group, TOTAL_TYPE, PERIODS[i])
            assert closing == t.wte(group, TOTAL_TYPE, month)
        year_moves = sum((bridge.loc[(group, item), YEAR] for item in MOVEMENTS), Decimal(0))
        assert t.wte(group, TOTAL_TYPE, OPENING) + year_moves == t.wte(group, TOTAL_TYPE, "M12")
    # The movements are the plan's: leavers from turnover, newly qualified in September.
    nurses = bridge.loc[("Nurses & health visitors", "Newly qualified")]
    assert nurses["M6"] > 0 and all(nurses[m] == 0 for m in MONTHS if m != "M6")
    assert bridge.loc[(ALL_GROUPS, "Leavers"), YEAR] < 0
    assert not [i for i in validate(t) if i.check.startswith(("bridge", "forecast"))]


def test_kpis_equal_the_plans_analysis_figures(sample_template, sample_analysis):
    a, t = sample_analysis, sample_template
    assert fmt.pct(t.kpi("turnover_pct")) == fmt.pct(a.turnover.rate_pct)
    assert fmt.pct(t.kpi("sickness_pct")) == fmt.pct(a.sickness.rate_pct)
    assert fmt.pct(t.kpi("vacancy_rate_pct")) == fmt.pct(a.vacancies.rate_pct)
    assert fmt.pct(t.kpi("agency_share_pct")) == fmt.pct(a.temporary_staffing.agency_share_pct)
    assert t.kpi("sickness_pct") == Decimal("4.36")        # 48 ÷ 1,100 days, as in the plan
    # Agency falls with the planned 40% reduction, so its share of the pay budget falls too.
    assert t.kpi("agency_share_pct", "M12") < t.kpi("agency_share_pct")
    assert t.wte(ALL_GROUPS, "agency", "M12") == Decimal("0.15")


def test_validation_sheet_names_agency_above_the_cap_set_in_the_assumptions(
        sample_analysis, sample_returns):
    from plancycle.template import TemplateAssumptions, from_analysis

    t = from_analysis(sample_analysis, sample_returns["staff_in_post"],
                      assumptions=TemplateAssumptions(agency_cap_pct=Decimal("3.7")))
    cap = t.validation[t.validation["check"] == "kpi.agency_cap"]
    assert len(cap) == 1
    assert cap.iloc[0]["sheet"] == "KPIs" and cap.iloc[0]["row"] == 5
    assert "3.7%" in cap.iloc[0]["message"]


def test_xlsx_read_back_with_openpyxl_and_pandas_equals_the_csv_on_every_sheet(
        sample_template, tmp_path):
    paths = workbook.write(sample_template, tmp_path)
    book = openpyxl.load_workbook(paths["xlsx"])
    assert book.sheetnames == list(SHEETS)
    assert book["WTE forecast"].freeze_panes == "C2"
    assert book["Bridge"].protection.sheet
    assert book["WTE forecast"]["C2"].number_format == workbook.WTE_FORMAT
    for sheet in SHEETS:
        csv_frame = pd.read_csv(tmp_path / "workforce-template-csv" / workbook.csv_name(sheet),
                                dtype=str, keep_default_na=False)
        via_pandas = pd.read_excel(paths["xlsx"], sheet_name=sheet, dtype=object)
        cells = [[c.value for c in row] for row in book[sheet].iter_rows()]
        assert cells[0] == list(csv_frame.columns) == list(via_pandas.columns)
        assert len(cells) - 1 == len(csv_frame) == len(via_pandas), sheet
        for r, expected in enumerate(csv_frame.itertuples(index=False)):
            for c, text in enumerate(expected):
                for got in (cells[r + 1][c], via_pandas.iat[r, c]):
                    assert not (isinstance(got, str) and got.startswith("=")), "a formula"
                    if text == "":
                        assert got is None or got != got, (sheet, r, c, got)
                    elif isinstance(got, int | float):
                        assert float(text) == float(got), (sheet, r, c, text, got)
                    else:
                        assert str(got) == text, (sheet, r, c, text, got)


def test_csv_has_exact_decimals_and_the_long_form(sample_template):
    files = workbook.csv_files(sample_template)
    long = pd.read_csv(io.BytesIO(files[workbook.LONG_CSV]), dtype=str)
    assert len(long) == len(sample_template.forecast) * len(PERIODS)
    assert not any("0000000" in v for v in long["wte"])
    assert workbook.xlsx_bytes(sample_template) == workbook.xlsx_bytes(sample_template)
