"""The validation sheet: every internal inconsistency of a template, each naming its sheet,
row (as the reader sees it: header = row 1), column and the fix.

Why the same rules on both sides: the trust's own template lists its problems before the
board sees it, and the ICS runs the same rules on what arrives (after the structural checks
of :mod:`plancycle.template.check`), so a template that passes at home passes at the ICS.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from decimal import Decimal

import pandas as pd

from plancycle.template.model import (
    ALL_GROUPS,
    BRIDGE,
    CLOSING_ITEM,
    FORECAST,
    KPI,
    KPI_RANGES,
    MONTHS,
    MOVEMENTS,
    OPENING_ITEM,
    PERIODS,
    STAFF_TYPES,
    TOTAL_TYPE,
    TRIANGULATION,
    VALIDATION_COLUMNS,
    YEAR,
    ZERO,
    WorkforceTemplate,
    dec,
    text,
)

FAIL, WARN = "fail", "warn"


@dataclass(frozen=True)
class Issue:
    """One problem found in a template."""

    check: str
    severity: str
    sheet: str
    row: int | None
    column: str
    message: str
    fix: str

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _row(index: int) -> int:
    """The sheet row of frame position ``index`` (row 1 is the header)."""
    return index + 2


def _assumption(template: WorkforceTemplate, name: str, default: Decimal) -> Decimal:
    try:
        value = dec(dict(template.assumptions).get(name))
    except ValueError:
        value = None
    return default if value is None else value


def validate(template: WorkforceTemplate, *, agency_cap_pct: Decimal | None = None,
             tolerance_pct: Decimal | None = None, negatives: bool = True) -> list[Issue]:
    """All the template's inconsistencies (empty when it is internally consistent).

    The agency cap and the triangulation tolerance are the template's own assumptions unless
    the receiver imposes its own (an ICS checks against the cap it set)."""
    cap = agency_cap_pct if agency_cap_pct is not None else _assumption(
        template, "agency_cap_pct", Decimal("3.7"))
    tolerance = tolerance_pct if tolerance_pct is not None else _assumption(
        template, "tolerance_pct", Decimal(5))
    issues = _totals(template.forecast)
    if negatives:
        issues += _negatives(template.forecast)
    issues += _bridge(template)
    issues += _kpis(template.kpis, cap)
    issues += _triangulation(template.triangulation, tolerance)
    return issues


def _num(value: object) -> Decimal | None:
    try:
        return dec(value)
    except ValueError:
        return None


def _totals(forecast: pd.DataFrame) -> list[Issue]:
    out: list[Issue] = []
    rows = {(r.staff_group, r.staff_type): i for i, r in enumerate(
        forecast[["staff_group", "staff_type"]].itertuples(index=False))}
    groups = list(dict.fromkeys(g for g, _ in rows if g != ALL_GROUPS))
    # (total row, the rows it adds up, what the message calls those rows)
    sums = [((g, TOTAL_TYPE), [(g, t) for t in STAFF_TYPES], "substantive + bank + agency")
            for g in [*groups, ALL_GROUPS]]
    sums += [((ALL_GROUPS, t), [(g, t) for g in groups], "the sum of the staff group rows")
             for t in (*STAFF_TYPES, TOTAL_TYPE)]
    for p in PERIODS:
        if p not in forecast.columns:
            continue
        value = {key: _num(forecast[p].iloc[i]) for key, i in rows.items()}
        for total, parts_of, what in sums:
            parts = [value.get(k) for k in parts_of]
            if total not in rows or any(v is None for v in parts):
                continue
            want, got = sum(parts, ZERO), value[total]  # type: ignore[arg-type]
            if got != want:
                out.append(Issue("forecast.totals", FAIL, FORECAST, _row(rows[total]), p,
                                 f"{total[0]} {total[1]} {text(got)} is not {what} "
                                 f"({text(want)})", f"Set it to {what} ({text(want)})."))
    return out


def _negatives(forecast: pd.DataFrame) -> list[Issue]:
    out = []
    for i, row in enumerate(forecast.itertuples(index=False)):
        values = row._asdict()
        for p in PERIODS:
            v = _num(values.get(p))
            if v is not None and v < 0:
                out.append(Issue("forecast.negative", FAIL, FORECAST, _row(i), p,
                                 f"{row.staff_group} {row.staff_type} WTE is negative "
                                 f"({text(v)})", "WTE cannot be below zero: check the leavers "
                                 "and CIP for this group, or the bank/agency reduction."))
    return out


def _bridge(template: WorkforceTemplate) -> list[Issue]:
    out: list[Issue] = []
    bridge, forecast = template.bridge, template.forecast
    totals = {r.staff_group: r for r in forecast[forecast["staff_type"] == TOTAL_TYPE]
              .itertuples(index=False)} if "staff_type" in forecast.columns else {}
    by_group: dict[str, dict[str, tuple[int, dict[str, object]]]] = defaultdict(dict)
    for i, row in enumerate(bridge.to_dict("records")):
        by_group[str(row.get("staff_group"))][str(row.get("item"))] = (i, row)
    for group, items in by_group.items():
        missing = [i for i in (OPENING_ITEM, *MOVEMENTS, CLOSING_ITEM) if i not in items]
        if missing:
            first = min(i for i, _ in items.values())
            out.append(Issue("bridge.items", FAIL, BRIDGE, _row(first), "item",
                             f"{group} has no bridge row for {', '.join(missing)}",
                             "Add the missing rows (a movement that is nil is a row of zeros)."))
            continue
        o_row, opening = items[OPENING_ITEM]
        c_row, closing = items[CLOSING_ITEM]
        forecast_row = totals.get(group)
        for j, m in enumerate([*MONTHS, YEAR]):
            moves = [_num(items[item][1].get(m)) for item in MOVEMENTS]
            start, end = _num(opening.get(m)), _num(closing.get(m))
            if start is None or end is None or any(v is None for v in moves):
                out.append(Issue("bridge.reconciles", FAIL, BRIDGE, _row(c_row), m,
                                 f"{group}: the bridge has an empty cell in {m}",
                                 "Fill every bridge cell (0 for no movement)."))
                continue
            want = start + sum(moves, ZERO)  # type: ignore[arg-type]
            if want != end:
                out.append(Issue("bridge.reconciles", FAIL, BRIDGE, _row(c_row), m,
                                 f"{group}: opening {text(start)} + movements "
                                 f"{text(want - start)} = {text(want)}, not the closing "
                                 f"{text(end)}", "Correct the movements or the closing WTE so "
                                 "that opening + movements = closing."))
            if forecast_row is None or m == YEAR:
                continue
            expected_open = _num(getattr(forecast_row, PERIODS[j], None)) \
                if PERIODS[j] in forecast.columns else None
            expected_close = _num(getattr(forecast_row, m, None)) if m in forecast.columns \
                else None
            if expected_open is not None and start != expected_open:
                out.append(Issue("bridge.reconciles", FAIL, BRIDGE, _row(o_row), m,
                                 f"{group}: bridge opening {text(start)} is not the WTE "
                                 f"forecast's {PERIODS[j]} total {text(expected_open)}",
                                 f"Use the WTE forecast's total for {PERIODS[j]}."))
            if expected_close is not None and end != expected_close:
                out.append(Issue("bridge.reconciles", FAIL, BRIDGE, _row(c_row), m,
                                 f"{group}: bridge closing {text(end)} is not the WTE "
                                 f"forecast's {m} total {text(expected_close)}",
                                 f"Use the WTE forecast's total for {m}."))
    return out


def _kpis(kpis: pd.DataFrame, cap: Decimal) -> list[Issue]:
    out = []
    for i, row in enumerate(kpis.to_dict("records")):
        measure = str(row.get("measure"))
        low, high = KPI_RANGES.get(measure, (None, None))
        over: list[tuple[str, Decimal]] = []
        for p in PERIODS:
            v = _num(row.get(p))
            if v is None:
                continue
            if low is not None and not (low <= v <= high):
                out.append(Issue("kpi.range", FAIL, KPI, _row(i), p,
                                 f"{measure} {text(v)}% is outside {text(low)}–{text(high)}%",
                                 "State the KPI as a percentage between 0 and 100."))
            if measure == "agency_share_pct" and v > cap:
                over.append((p, v))
        if over:
            worst = max(v for _, v in over)
            out.append(Issue("kpi.agency_cap", FAIL, KPI, _row(i), over[0][0],
                             f"agency spend is above the cap of {text(cap)}% of the pay budget "
                             f"in {len(over)} period(s) ({', '.join(p for p, _ in over)}; up to "
                             f"{text(worst)}%)", "Plan bank or substantive replacements for "
                             "agency WTE (template: agency_reduction_pct, recruitment_pipeline) "
                             "until agency is within the cap in every month."))
    return out


def _triangulation(tri: pd.DataFrame, tolerance: Decimal) -> list[Issue]:
    out = []
    for i, row in enumerate(tri.to_dict("records")):
        group = row.get("staff_group")
        over = _num(row.get("over_budget_pct"))
        if over is not None and over > tolerance:
            out.append(Issue("triangulation.finance", WARN, TRIANGULATION, _row(i),
                             "over_budget_pct", f"{group}: closing WTE costs {text(over)}% more "
                             f"than the pay budget (tolerance {text(tolerance)}%)",
                             "Agree the WTE with the finance plan, or explain the difference "
                             "on the Cover sheet."))
        growth, demand = _num(row.get("wte_growth_pct")), _num(row.get("demand_growth_pct"))
        if growth is not None and demand is not None and abs(growth - demand) > tolerance:
            out.append(Issue("triangulation.activity", WARN, TRIANGULATION, _row(i),
                             "wte_growth_pct", f"{group}: WTE grows {text(growth)}% against "
                             f"{text(demand)}% demand growth from the activity plan (tolerance "
                             f"{text(tolerance)} points)", "Align the trajectory with the "
                             "activity plan, or record why they differ."))
    return out


def validation_frame(issues: list[Issue]) -> pd.DataFrame:
    return pd.DataFrame([i.to_dict() for i in issues], columns=list(VALIDATION_COLUMNS))
