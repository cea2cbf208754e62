"""An ICS roll-up of templates built on the real published Core 5 and sickness files."""

from __future__ import annotations

from decimal import Decimal

import pytest

from plancycle.ics.published import published_view
from plancycle.ics.templates import roll_up_templates
from plancycle.template import from_published
from plancycle.template.model import ALL_GROUPS, CLOSING_ITEM, MONTHS, MOVEMENTS, OPENING_ITEM


@pytest.fixture(scope="module")
def qoc():
    return published_view("QOC")


@pytest.fixture(scope="module")
def templates(qoc):
    return [from_published(qoc, code, "2026/27") for code in qoc.organisations["org_code"]]


def test_opening_system_wte_is_the_published_fte_total_exactly(qoc, templates):
    system = roll_up_templates(templates, ics_code="QOC", ics_name=qoc.ics_name,
                               financial_year="2026/27", baseline=qoc)
    opening = system.template.wte(ALL_GROUPS, "total", "Opening")
    assert isinstance(opening, Decimal) and opening == qoc.fte_total
    by_group = dict(zip(qoc.staff_groups["staff_group"], qoc.staff_groups["fte"], strict=True))
    for group, fte in by_group.items():
        assert system.template.wte(group, "substantive", "Opening") == fte
    assert "e" not in format(opening, "f") and str(opening) == format(qoc.fte_total, "f")
    assert not system.outliers["outlier"].any()          # built on the baseline itself
    # The region's CSV and the system tables show the published total exactly.
    from plancycle.ics.system_plan import _plain
    from plancycle.template.workbook import csv_files

    forecast = csv_files(system.template)["wte_forecast.csv"].decode()
    assert f"{ALL_GROUPS},total,{format(qoc.fte_total, 'f')}," in forecast
    assert _plain(system.organisations)["opening_wte"].map(Decimal).sum() == qoc.fte_total


def test_sickness_kpi_is_the_published_rate(qoc, templates):
    latest = qoc.sickness["month"].max()
    published = qoc.sickness[qoc.sickness["month"] == latest].set_index("org_code")
    for t in templates:
        if t.org_code in published.index:
            assert t.kpi("sickness_pct") == Decimal(published.loc[t.org_code, "published_rate"])
    system = roll_up_templates(templates, ics_code="QOC", ics_name=qoc.ics_name,
                               financial_year="2026/27")
    system_rate = qoc.system_sickness.set_index("month").loc[latest, "computed_rate"]
    assert system.template.kpi("sickness_pct") == system_rate


def test_system_bridge_reconciles_and_outliers_are_flagged(qoc):
    from plancycle.template import TemplateAssumptions

    code = qoc.organisations["org_code"].iloc[1]
    grown = from_published(qoc, code, "2026/27", assumptions=TemplateAssumptions(
        recruitment_pipeline={"Nurses & health visitors": Decimal("12.34")},
        productivity_pct=Decimal("2")))
    others = [from_published(qoc, c, "2026/27") for c in qoc.organisations["org_code"]
              if c != code]
    system = roll_up_templates([grown, *others], ics_code="QOC", ics_name=qoc.ics_name,
                               financial_year="2026/27", baseline=qoc)
    bridge = system.template.bridge.set_index(["staff_group", "item"])
    for month in MONTHS:
        assert bridge.loc[(ALL_GROUPS, OPENING_ITEM), month] + sum(
            (bridge.loc[(ALL_GROUPS, item), month] for item in MOVEMENTS), Decimal(0)) \
            == bridge.loc[(ALL_GROUPS, CLOSING_ITEM), month]
    assert bridge.loc[("Nurses & health visitors", "Starters"), "Year"] == Decimal("12.34")
    assert not [i for i in system.template.validation["check"] if i.startswith("bridge")]
    # A template whose opening differs from the published baseline is an outlier.
    edited = others[0]
    edited.forecast.loc[0, "Opening"] = edited.forecast.loc[0, "Opening"] * 2
    flagged = roll_up_templates([edited], ics_code="QOC", ics_name=qoc.ics_name,
                                financial_year="2026/27", baseline=qoc).outliers
    assert flagged[flagged["outlier"]]["org_code"].tolist()[:1] == [edited.org_code]
