"""The system template: organisations' workforce plan templates added up into the system's.

Why from templates: what the ICS submits to its region is the same workbook its
organisations submit to it, so the system trajectory is the sum of theirs — WTE (FTE) adds
up across organisations, staff groups and staff types, exactly (Decimals), and the system's
bridge is the sum of their bridges, so it reconciles whenever theirs do. Headcount is never
summed (a person can work for two organisations); templates carry none.

KPIs are recomputed from additive parts where the template carries them: sickness from the
summed FTE days lost and available (never an average of rates); vacancy and agency share as
establishment- and pay-budget-weighted means of the organisations' rates (= summed vacancies
÷ summed establishment, summed agency spend ÷ summed budget); turnover weighted by opening
substantive WTE. Each organisation's opening position is compared with the published Core 5
FTE for it (the baseline): a staff group more than the tolerance away is an outlier to query.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pandas as pd

from plancycle.template.build import bridge_for, validated
from plancycle.template.model import (
    ALL_GROUPS,
    BRIDGE_COLUMNS,
    FORECAST_COLUMNS,
    FORMAT,
    KPI_COLUMNS,
    KPIS,
    MONTHS,
    MOVEMENTS,
    OPENING,
    PERIODS,
    STAFF_TYPES,
    TOTAL_TYPE,
    TRIANGULATION_COLUMNS,
    ZERO,
    WorkforceTemplate,
    q2,
)

TWO_DP = Decimal("0.01")
SYSTEM_NOTE = ("WTE (FTE) is summed across organisations; headcount is never summed across "
               "organisations, because one person can work for more than one of them.")


@dataclass
class SystemTemplate:
    """The system's template and the tables the region and the ICS plan show beside it."""

    template: WorkforceTemplate
    organisations: pd.DataFrame     # one row per organisation: opening, closing, change, KPIs
    outliers: pd.DataFrame          # organisation × staff group against the published baseline
    notes: list[str] = field(default_factory=list)


def _sum(values: Sequence[Decimal | None]) -> Decimal | None:
    present = [v for v in values if v is not None]
    return sum(present, ZERO) if present else None


def _weighted(pairs: Sequence[tuple[Decimal | None, Decimal | None]]) -> Decimal | None:
    usable = [(v, w) for v, w in pairs if v is not None and w is not None and w > 0]
    total = sum((w for _, w in usable), ZERO)
    if not usable or not total:
        return None
    return q2(sum((v * w for v, w in usable), ZERO) / total)


def roll_up_templates(templates: Sequence[WorkforceTemplate], *, ics_code: str, ics_name: str,
                      financial_year: str, baseline: object | None = None,
                      tolerance_pct: Decimal = Decimal(5)) -> SystemTemplate:
    """Add the organisations' templates up into the system template."""
    if not templates:
        raise ValueError("no organisation templates to roll up")
    years = {t.financial_year for t in templates}
    if years != {financial_year}:
        raise ValueError(f"templates are for {', '.join(sorted(years))}, not {financial_year}")
    groups: list[str] = []
    for t in templates:
        groups += [g for g in t.staff_groups if g not in groups]
    cells = [_cells(t.forecast, "staff_type", PERIODS) for t in templates]
    moved = [_cells(t.bridge, "item", MONTHS) for t in templates]
    forecast_rows = []
    for g in [*groups, ALL_GROUPS]:
        for staff_type in (*STAFF_TYPES, TOTAL_TYPE):
            row: dict[str, object] = {"staff_group": g, "staff_type": staff_type}
            for p in PERIODS:
                row[p] = sum((c.get((g, staff_type, p), ZERO) for c in cells), ZERO)
            forecast_rows.append(row)
    forecast = pd.DataFrame(forecast_rows, columns=list(FORECAST_COLUMNS))
    bridge_rows = []
    for g in [*groups, ALL_GROUPS]:
        total = forecast[(forecast["staff_group"] == g) & (forecast["staff_type"] == TOTAL_TYPE)]
        moves = {item: {m: sum((c.get((g, item, m), ZERO) for c in moved), ZERO)
                        for m in MONTHS} for item in MOVEMENTS}
        bridge_rows += bridge_for(g, total.iloc[0].to_dict(), moves)
    kpis = _kpis(templates)
    cover = [("format", FORMAT), ("org_code", ics_code), ("org_name", ics_name),
             ("financial_year", financial_year), ("level", "system"),
             ("organisations", ", ".join(t.org_code for t in templates)),
             ("note", SYSTEM_NOTE)]
    system = WorkforceTemplate(
        org_code=ics_code, org_name=ics_name, financial_year=financial_year, cover=cover,
        assumptions=[("tolerance_pct", format(tolerance_pct, "f"))],
        forecast=forecast, bridge=pd.DataFrame(bridge_rows, columns=list(BRIDGE_COLUMNS)),
        kpis=kpis, triangulation=_triangulation(templates))
    organisations = pd.DataFrame([{
        "org_code": t.org_code, "org_name": t.org_name,
        "opening_wte": t.wte(), "closing_wte": t.wte(period=MONTHS[-1]),
        "change_wte": t.wte(period=MONTHS[-1]) - t.wte(),
        "substantive_opening_wte": t.wte(staff_type="substantive"),
        "agency_opening_wte": t.wte(staff_type="agency"),
        "sickness_pct": t.kpi("sickness_pct"), "vacancy_rate_pct": t.kpi("vacancy_rate_pct"),
        "agency_share_pct": t.kpi("agency_share_pct"),
    } for t in templates])
    outliers = _outliers(templates, baseline, tolerance_pct) if baseline is not None else \
        pd.DataFrame(columns=OUTLIER_COLUMNS)
    return SystemTemplate(validated(system), organisations, outliers, [SYSTEM_NOTE])


def _wte(t: WorkforceTemplate, group: str, staff_type: str, period: str) -> Decimal:
    rows = t.forecast[(t.forecast["staff_group"] == group)
                      & (t.forecast["staff_type"] == staff_type)]
    return rows.iloc[0][period] if len(rows) else ZERO


def _cells(frame: pd.DataFrame, kind: str, periods: Sequence[str]
           ) -> dict[tuple[str, str, str], Decimal]:
    """``{(staff group, type or item, period): value}`` of one sheet, read once."""
    return {(r["staff_group"], r[kind], p): r[p] for r in frame.to_dict("records")
            for p in periods}


def _kpis(templates: Sequence[WorkforceTemplate]) -> pd.DataFrame:
    rows = []
    for key, label, unit in KPIS:
        row: dict[str, object] = {"measure": key, "label": label, "unit": unit}
        for p in PERIODS:
            if key in ("establishment_wte", "sickness_fte_days_lost",
                       "sickness_fte_days_available"):
                row[p] = _sum([t.kpi(key, p) for t in templates])
            elif key == "sickness_pct":
                lost = [t.kpi("sickness_fte_days_lost", p) for t in templates]
                available = [t.kpi("sickness_fte_days_available", p) for t in templates]
                pairs = [(a, b) for a, b in zip(lost, available, strict=True)
                         if a is not None and b is not None]
                den = sum((b for _, b in pairs), ZERO)
                row[p] = ((sum((a for a, _ in pairs), ZERO) / den * 100)
                          .quantize(TWO_DP, rounding=ROUND_HALF_UP)) if den else None
            elif key == "vacancy_rate_pct":
                row[p] = _weighted([(t.kpi(key, p), t.kpi("establishment_wte", p))
                                    for t in templates])
            elif key == "agency_share_pct":
                row[p] = _weighted([(t.kpi(key, p), _budget(t)) for t in templates])
            else:
                row[p] = _weighted([(t.kpi(key, p), t.wte(staff_type="substantive"))
                                    for t in templates])
        rows.append(row)
    return pd.DataFrame(rows, columns=list(KPI_COLUMNS))


def _budget(t: WorkforceTemplate) -> Decimal | None:
    tri = t.triangulation
    if tri is None or tri.empty:
        return None
    row = tri[tri["staff_group"] == ALL_GROUPS]
    return row.iloc[0]["pay_budget_gbp"] if len(row) else None


def _triangulation(templates: Sequence[WorkforceTemplate]) -> pd.DataFrame:
    rows = []
    for t in templates:
        tri = t.triangulation
        if tri is None or tri.empty:
            continue
        row = tri[tri["staff_group"] == ALL_GROUPS]
        if len(row):
            rows.append({**row.iloc[0].to_dict(), "staff_group": t.org_code})
    frame = pd.DataFrame(rows, columns=list(TRIANGULATION_COLUMNS))
    # The system's staff-group rows would need every organisation's budget by group; the
    # region reads organisations' rows (the staff_group column holds the org code) here.
    return frame


OUTLIER_COLUMNS = ["org_code", "staff_group", "template_opening_wte", "published_fte",
                   "difference_wte", "difference_pct", "outlier"]


def _outliers(templates: Sequence[WorkforceTemplate], baseline: object,
              tolerance_pct: Decimal) -> pd.DataFrame:
    """Each organisation × staff group's opening substantive WTE vs its published Core 5 FTE."""
    published = baseline.organisation_staff_groups  # type: ignore[attr-defined]
    rows = []
    for t in templates:
        mine = published[published["org_code"] == t.org_code]
        fte = dict(zip(mine["staff_group"], mine["fte"], strict=True))
        for g in sorted(set(fte) | set(t.staff_groups)):
            ours = _wte(t, g, "substantive", OPENING)
            theirs = fte.get(g)
            diff = ours - theirs if theirs is not None else None
            pct = q2(diff / theirs * 100) if theirs else None
            rows.append({"org_code": t.org_code, "staff_group": g,
                         "template_opening_wte": ours, "published_fte": theirs,
                         "difference_wte": diff, "difference_pct": pct,
                         "outlier": theirs is None or pct is None or abs(pct) > tolerance_pct})
    return pd.DataFrame(rows, columns=OUTLIER_COLUMNS)


# --- receiving the organisations' templates ----------------------------------------------------

@dataclass
class Received:
    """What the ICS did with each organisation's template: checked, accepted or sent back."""

    templates: list[WorkforceTemplate]
    checks: dict[str, object]        # org_code -> TemplateCheck (its DQ report)
    missing: list[str]               # organisations with no template yet

    def sent_back(self) -> list[str]:
        return [code for code, c in self.checks.items() if not c.accepted]  # type: ignore


def template_file(session: object, cycle_id: str, package_sha256: str | None) -> Path | None:
    """The xlsx an organisation submitted (in its package), else its registered template."""
    from plancycle.signoff import TEMPLATE_KIND, current_document
    from plancycle.submission import submissions_dir

    if package_sha256:
        found = sorted((submissions_dir() / cycle_id / package_sha256 / "template").glob("*.xlsx"))
        if found:
            return found[0]
    document = current_document(session, cycle_id, TEMPLATE_KIND)  # type: ignore[arg-type]
    return Path(document.path) if document is not None and Path(document.path).exists() else None


def receive_templates(session: object, plans: pd.DataFrame, *, agency_cap_pct: Decimal,
                      tolerance_pct: Decimal, now: object = None) -> Received:
    """Check every organisation's template; the accepted ones are rolled up."""
    from plancycle.template.check import check_template

    templates, checks, missing = [], {}, []
    for row in plans.to_dict("records"):
        code, cycle_id = row["org_code"], row.get("cycle_id")
        path = template_file(session, cycle_id, row.get("package_sha256")) if cycle_id else None
        if path is None:
            missing.append(code)
            continue
        result = check_template(path, file_name=f"{code}-{path.name}",
                                agency_cap_pct=agency_cap_pct, tolerance_pct=tolerance_pct,
                                now=now)  # type: ignore[arg-type]
        checks[code] = result
        if result.accepted and result.template is not None:
            templates.append(result.template)
    return Received(templates, checks, missing)
