"""Scenario: the system view of the real published files reproduces the published figures.

Given the in-repo copies of NHS Workforce Statistics Core 5 (October 2025; QNC, QOC, QPM)
and NHS Sickness Absence Rates (April and May 2024), when the system view of an ICS is
built, then its FTE totals are exactly the published sums and every organisation's sickness
rate is exactly the published one; the CLI says the same and refuses an unknown ICS.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from plancycle.cli import app
from plancycle.ics.published import PublishedDataError, published_view

TOTALS = {"QNC": Decimal("21012.46901"), "QOC": Decimal("9503.03667"),
          "QPM": Decimal("13212.66915")}


@pytest.mark.parametrize("ics", sorted(TOTALS))
def test_ics_fte_totals_are_exactly_the_published_sums(ics):
    view = published_view(ics)
    assert view.fte_total == TOTALS[ics]
    assert sum(view.organisations["fte"], Decimal(0)) == TOTALS[ics]
    assert sum(view.staff_groups["fte"], Decimal(0)) == TOTALS[ics]
    assert view.sickness_reproduced


def test_qoc_organisations_and_their_published_sickness_rates():
    view = published_view("qoc")
    assert view.ics_name == "Shropshire, Telford and Wrekin"
    assert dict(zip(view.organisations["org_code"], view.organisations["fte"], strict=True)) == {
        "QOC": Decimal("260.13785"), "RL1": Decimal("1396.42616"),
        "RXW": Decimal("6289.71162"), "R1D": Decimal("1556.76104")}
    rates = {(r.month, r.org_code): (str(r.computed_rate), r.matches)
             for r in view.sickness.itertuples()}
    assert rates[("2024-04", "RXW")] == ("5.08", True)
    assert rates[("2024-05", "RL1")] == ("4.80", True)   # published as 4.8
    assert len(rates) == 8 and all(ok for _, ok in rates.values())
    assert [str(r) for r in view.system_sickness["computed_rate"]] == ["5.06", "4.92"]


def test_cli_prints_the_exact_totals_and_json():
    runner = CliRunner()
    result = runner.invoke(app, ["ics", "published", "--ics", "QOC"])
    assert result.exit_code == 0, result.output
    assert "9503.03667" in result.output and "reproduced: yes" in result.output
    result = runner.invoke(app, ["ics", "published", "--ics", "QPM", "--format", "json"])
    data = json.loads(result.output)
    assert data["fte_total"] == "13212.66915" and data["sickness_reproduced"] is True


def test_an_ics_not_in_the_files_is_a_clear_refusal(tmp_path):
    with pytest.raises(PublishedDataError, match="covers QNC, QOC, QPM"):
        published_view("QXX")
    with pytest.raises(PublishedDataError, match="no NHS Workforce Statistics Core 5 file"):
        published_view("QOC", tmp_path)
    from plancycle.cli.common import UserError
    from plancycle.cli.ics_cmd import published

    with pytest.raises(UserError, match="covers QNC, QOC, QPM"):
        published("QXX")
