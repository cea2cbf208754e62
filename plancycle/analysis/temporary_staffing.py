"""Annex B.5 — use of bank (locum) and agency staff: numbers, types and costs.

Why: agency spend is the most expensive way to fill a gap and NHS England caps it as a share
of the pay bill. WTE figures are monthly averages over the period (a month without a row counts
as zero); spend is annualised to twelve months; the agency share is agency spend ÷ the annual
pay budget × 100.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from plancycle.analysis.frames import annual_factor, ordered, pct
from plancycle.returns import codes

WTE = ["bank_wte", "agency_wte"]
SPEND = ["bank_spend_gbp", "agency_spend_gbp"]


@dataclass(frozen=True)
class TemporaryStaffing:
    """Bank and agency staffing over the return's months."""

    bank_wte: float
    agency_wte: float
    bank_spend_gbp: float
    agency_spend_gbp: float
    agency_share_pct: float
    by_staff_group: pd.DataFrame
    monthly: pd.DataFrame


def analyse_temporary_staffing(
    bank_agency: pd.DataFrame, annual_pay_budget_gbp: float, period_months: int = 12
) -> TemporaryStaffing:
    """Average monthly WTE, annual spend and agency share of the pay budget."""
    factor = annual_factor(period_months)
    n_months = max(period_months, 1)
    monthly = bank_agency.groupby("month", sort=True)[WTE + SPEND].sum().reset_index()
    by_group = bank_agency.groupby("staff_group", sort=True)[WTE + SPEND].sum().reset_index()
    by_group[WTE] = by_group[WTE] / n_months
    by_group[SPEND] = by_group[SPEND] * factor
    agency = float(bank_agency["agency_spend_gbp"].sum()) * factor
    return TemporaryStaffing(
        bank_wte=float(bank_agency["bank_wte"].sum()) / n_months,
        agency_wte=float(bank_agency["agency_wte"].sum()) / n_months,
        bank_spend_gbp=float(bank_agency["bank_spend_gbp"].sum()) * factor,
        agency_spend_gbp=agency,
        agency_share_pct=pct(agency, annual_pay_budget_gbp),
        by_staff_group=ordered(by_group, "staff_group", codes.STAFF_GROUPS),
        monthly=monthly,
    )
