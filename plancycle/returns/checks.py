"""Check results and the Python rules that an expectation suite cannot express simply.

Column-level rules (presence, type, required, codes, ranges, uniqueness) run in the Great
Expectations suite (see ``validate.py``). What lives here needs more than one column or more
than one return: cross-field arithmetic, consistency with other returns of the cycle and
completeness against last year. Every rule is vectorised and keeps at most ``MAX_SAMPLES``
offending rows, so a 1.5M-row extract with many errors stays cheap to check and to report.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from plancycle.returns.kinds import ReturnKind

Status = Literal["pass", "warn", "fail"]
MAX_SAMPLES = 20


@dataclass
class OffendingRow:
    """A row that broke a check: its row number as the user sees it (None for aggregates)."""

    row: int | None
    values: dict[str, str]


@dataclass
class CheckResult:
    """The outcome of one check, with enough detail for the uploader to fix the file."""

    id: str
    description: str
    severity: Literal["fail", "warn"]
    status: Status
    evaluated: int = 0
    offending: int = 0
    rows: list[OffendingRow] = field(default_factory=list)
    #: What was found, in a sentence naming columns and rows; empty when the check passed.
    message: str = ""
    fix: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckResult:
        rows = [OffendingRow(r["row"], dict(r["values"])) for r in data.get("rows", [])]
        return cls(**{**data, "rows": rows})


def status_for(severity: str, failed: bool) -> Status:
    """A failed check takes its severity as status; a passed one is ``pass``."""
    if not failed:
        return "pass"
    return "fail" if severity == "fail" else "warn"


def verdict(checks: list[CheckResult]) -> Status:
    """Fail if any fail-level check failed, warn if only warnings, else pass."""
    statuses = {c.status for c in checks}
    if "fail" in statuses:
        return "fail"
    return "warn" if "warn" in statuses else "pass"


@dataclass
class ValidationContext:
    """What a return is checked against besides itself: other returns of the cycle, last year.

    ``staff_in_post`` and ``pay_budget`` are typed frames (``plancycle.returns.parse_return``)
    of the returns already accepted in this cycle; leave them None when not yet received.
    """

    staff_in_post: pd.DataFrame | None = None
    pay_budget: pd.DataFrame | None = None
    previous_row_count: int | None = None
    #: Staff in post WTE may differ from budgeted WTE by this fraction (vacancies, overspend).
    reconcile_tolerance: float = 0.10
    #: Row count may move by this fraction against last year's return before a warning.
    row_swing_tolerance: float = 0.20


@dataclass
class RuleInput:
    """What a Python rule sees: the kind, the uploaded text, the typed values and the context."""

    kind: ReturnKind
    text: pd.DataFrame
    typed: pd.DataFrame
    context: ValidationContext
    headers: dict[str, str]

    def label(self, column: str) -> str:
        """``wte ('WTE')`` when the upload used another spelling, else ``wte``."""
        shown = self.headers.get(column)
        return column if shown in (None, column) else f"{column} ('{shown}')"


def samples(inp: RuleInput, mask: pd.Series, columns: list[str]) -> list[OffendingRow]:
    """The first offending rows with their values as uploaded."""
    rows = mask.index[mask.to_numpy(dtype=bool)][:MAX_SAMPLES]
    cols = [c for c in columns if c in inp.text.columns]
    part = inp.text.loc[rows, cols]
    return [OffendingRow(int(r), {c: _shown(v) for c, v in zip(cols, vals, strict=True)})
            for r, vals in zip(rows, part.itertuples(index=False), strict=True)]


def _shown(value: object) -> str:
    return "" if value is None or (isinstance(value, float) and np.isnan(value)) \
        or value is pd.NA else str(value)


def _row_check(inp: RuleInput, check_id: str, description: str, mask: pd.Series,
               evaluated: int, columns: list[str], message: str, fix: str) -> CheckResult:
    offending = int(mask.sum())
    severity = inp.kind.severity(check_id)
    result = CheckResult(id=check_id, description=description, severity=severity,
                         status=status_for(severity, offending > 0), evaluated=evaluated,
                         offending=offending, fix=fix)
    if offending:
        result.rows = samples(inp, mask, columns)
        first = ", ".join(str(r.row) for r in result.rows[:5])
        result.message = f"{offending} row(s) {message} (first: row {first})."
    return result


def _both(inp: RuleInput, a: str, b: str) -> tuple[pd.Series, pd.Series, pd.Series] | None:
    if a not in inp.typed or b not in inp.typed:
        return None
    x, y = inp.typed[a], inp.typed[b]
    return x, y, x.notna() & y.notna()


# --- cross-field rules --------------------------------------------------------------------

def lost_le_available(inp: RuleInput) -> CheckResult | None:
    pair = _both(inp, "fte_days_lost", "fte_days_available")
    if pair is None:
        return None
    lost, available, ok = pair
    return _row_check(
        inp, "cross.lost_le_available", "FTE days lost ≤ FTE days available",
        ok & (lost > available), int(ok.sum()), ["fte_days_lost", "fte_days_available"],
        f"have more {inp.label('fte_days_lost')} than {inp.label('fte_days_available')}",
        "Check the two columns are not swapped and that days lost cover the same staff and "
        "month as days available.")


def rate_matches(inp: RuleInput) -> CheckResult | None:
    if "sickness_absence_rate" not in inp.typed or inp.typed["sickness_absence_rate"].isna().all():
        return None
    pair = _both(inp, "fte_days_lost", "fte_days_available")
    if pair is None:
        return None
    lost, available, ok = pair
    rate = inp.typed["sickness_absence_rate"]
    ok = ok & rate.notna() & (available > 0)
    expected = lost / available.where(available > 0) * 100
    bad = ok & ((rate - expected).abs() > 0.005 + 1e-9)
    return _row_check(
        inp, "cross.rate_matches", "Rate = days lost ÷ days available × 100 (±0.005)",
        bad, int(ok.sum()), ["fte_days_lost", "fte_days_available", "sickness_absence_rate"],
        f"have a {inp.label('sickness_absence_rate')} that is not fte_days_lost ÷ "
        "fte_days_available × 100 to 2 decimal places",
        "Recalculate the rate as 100 × FTE days lost ÷ FTE days available rounded to 2 dp, "
        "or leave the rate column blank and plancycle will calculate it.")


def vacancy_le_establishment(inp: RuleInput) -> CheckResult | None:
    pair = _both(inp, "vacancy_wte", "establishment_wte")
    if pair is None:
        return None
    vac, est, ok = pair
    return _row_check(
        inp, "cross.vacancy_le_establishment", "Vacancy WTE ≤ establishment WTE",
        ok & (vac > est + 1e-9), int(ok.sum()), ["staff_group", "vacancy_wte",
                                                 "establishment_wte"],
        f"have more {inp.label('vacancy_wte')} than {inp.label('establishment_wte')}",
        "A post cannot be more vacant than funded: check the establishment is the funded WTE "
        "for the same staff group, grade and service.")


def leavers_wte_le_headcount(inp: RuleInput) -> CheckResult | None:
    pair = _both(inp, "leavers_wte", "leavers_headcount")
    if pair is None:
        return None
    wte, heads, ok = pair
    return _row_check(
        inp, "cross.leavers_wte_le_headcount", "Leavers WTE ≤ 1.5 × leavers headcount",
        ok & (wte > heads * 1.5 + 1e-9), int(ok.sum()),
        ["leavers_headcount", "leavers_wte"],
        "have more leaver WTE than 1.5 per leaver",
        "Check leavers_wte is whole-time equivalent and leavers_headcount is people, not "
        "swapped.")


def budget_equals_wte_times_cost(inp: RuleInput) -> CheckResult | None:
    cols = ["budgeted_wte", "pay_budget_gbp", "average_cost_per_wte_gbp"]
    if any(c not in inp.typed for c in cols):
        return None
    wte, budget, cost = (inp.typed[c] for c in cols)
    ok = wte.notna() & budget.notna() & cost.notna()
    bad = ok & ((wte * cost - budget).abs() > budget.abs() * 0.01 + 1)
    return _row_check(
        inp, "cross.budget_equals_wte_times_cost", "Pay budget ≈ budgeted WTE × cost per WTE",
        bad, int(ok.sum()), cols,
        "have a pay budget more than 1% away from budgeted_wte × average_cost_per_wte_gbp",
        "Check the three figures refer to the same staff group and service; the average cost "
        "should be the full annual cost of one WTE including on-costs.")


def completers_le_places(inp: RuleInput) -> CheckResult | None:
    pair = _both(inp, "expected_completers", "places")
    if pair is None:
        return None
    done, places, ok = pair
    return _row_check(
        inp, "cross.completers_le_places", "Expected completers ≤ places",
        ok & (done > places), int(ok.sum()), ["programme", "places", "expected_completers"],
        "expect more completers than places",
        "Expected completers should be the places less expected attrition.")


def fte_le_headcount(inp: RuleInput) -> CheckResult | None:
    pair = _both(inp, "fte", "headcount")
    if pair is None:
        return None
    fte, heads, ok = pair
    return _row_check(
        inp, "cross.fte_le_headcount", "FTE ≤ headcount",
        ok & (fte > heads + 1e-9), int(ok.sum()), ["org_code", "grade", "fte", "headcount"],
        "have more FTE than headcount",
        "Check FTE and HEADCOUNT are not swapped; a person works at most full time in the "
        "published statistics.")


def age_band_or_dob(inp: RuleInput) -> CheckResult:
    check_id = "cross.age_band_or_dob"
    severity = inp.kind.severity(check_id)
    has_age = "age_band" in inp.headers
    has_dob = "date_of_birth" in inp.headers
    if not (has_age or has_dob):
        return CheckResult(
            id=check_id, description="Age band or date of birth given", severity=severity,
            status=status_for(severity, True), evaluated=len(inp.text), offending=len(inp.text),
            message="Neither an age_band nor a date_of_birth column was found.",
            fix="Add an age_band column (e.g. 25-29) or a date_of_birth column; one is needed "
                "for the age profile and retirement risk.")
    missing = pd.Series(True, index=inp.text.index)
    for col in ("age_band", "date_of_birth"):
        if col in inp.text:
            missing &= inp.text[col].isna()
    return _row_check(
        inp, check_id, "Age band or date of birth given", missing, len(inp.text),
        ["assignment_id", "age_band", "date_of_birth"],
        "have neither an age band nor a date of birth",
        "Fill in age_band (e.g. 25-29) or date_of_birth for every assignment.")


_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


def day_month_order(inp: RuleInput) -> CheckResult | None:
    """US-style month/day dates read as day/month would silently swap day and month."""
    date_cols = [c.name for c in inp.kind.columns
                 if c.dtype in ("date", "month") and c.name in inp.text]
    if not date_cols:
        return None
    check_id = "dates.day_month_order"
    severity = inp.kind.severity(check_id)
    bad_total = evaluated = 0
    offenders: list[OffendingRow] = []
    details: list[str] = []
    for col in date_cols:
        values = inp.text[col].dropna()
        uniques = pd.Series(values.unique())
        parts = uniques.str.extract(_US_DATE).dropna().astype(int)
        evaluated += len(values)
        if parts.empty:
            continue
        us_values = set(uniques[parts.index[(parts[0] <= 12) & (parts[1] > 12)]])
        if not us_values:
            continue
        ambiguous = set(uniques[parts.index[(parts[0] <= 12) & (parts[1] <= 12)]])
        mask = inp.text[col].isin(us_values)
        bad_total += int(mask.sum())
        n_amb = int(inp.text[col].isin(ambiguous).sum())
        for sample in samples(inp, mask, [col]):
            if len(offenders) < MAX_SAMPLES:
                offenders.append(sample)
        details.append(f"{inp.label(col)} has month/day dates such as "
                       f"'{next(iter(sorted(us_values)))}'"
                       + (f" and {n_amb} other date(s) that could be read either way" if n_amb
                          else ""))
    result = CheckResult(id=check_id, description="Dates are day/month/year",
                         severity=severity, status=status_for(severity, bad_total > 0),
                         evaluated=evaluated, offending=bad_total, rows=offenders,
                         fix="Dates must be day/month/year (dd/mm/yyyy) or yyyy-mm-dd. The file "
                             "looks US-formatted (mm/dd/yyyy): re-export with UK dates or as "
                             "yyyy-mm-dd.")
    if bad_total:
        result.message = "; ".join(details) + f" (first: row {offenders[0].row})."
    return result


# --- consistency with other returns and with last year ---------------------------------------

def staff_groups_in_sip(inp: RuleInput) -> CheckResult | None:
    sip = inp.context.staff_in_post
    if sip is None or "staff_group" not in inp.typed or "staff_group" not in sip:
        return None
    known = set(sip["staff_group"].dropna().unique())
    groups = inp.typed["staff_group"]
    mask = groups.notna() & ~groups.isin(known)
    return _row_check(
        inp, "context.staff_groups_in_sip", "Staff groups exist in staff in post", mask,
        int(groups.notna().sum()), ["staff_group", "grade", "service", "vacancy_wte"],
        "report vacancies in a staff group that has no staff in post",
        "Check the staff group; if it is a new service with no staff yet, say so to the "
        "workforce planner.")


def reconcile_pay_budget(inp: RuleInput) -> CheckResult | None:
    """Staff in post WTE against budgeted WTE by staff group: a gap beyond tolerance is flagged."""
    ctx = inp.context
    if inp.kind.key == "staff_in_post":
        sip, budget = inp.typed, ctx.pay_budget
    elif inp.kind.key == "pay_budget":
        sip, budget = ctx.staff_in_post, inp.typed
    else:
        return None
    if sip is None or budget is None or "wte" not in sip or "budgeted_wte" not in budget:
        return None
    in_post = sip["wte"].groupby(sip["staff_group"].astype(object)).sum()
    budgeted = budget["budgeted_wte"].groupby(budget["staff_group"].astype(object)).sum()
    table = pd.concat([in_post.rename("in_post"), budgeted.rename("budgeted")], axis=1)
    table = table.fillna(0.0)
    gap = (table["in_post"] - table["budgeted"]).abs()
    base = table["budgeted"].where(table["budgeted"] > 0, table["in_post"])
    bad = table[gap > base * ctx.reconcile_tolerance + 1e-9]
    check_id = "context.reconcile_pay_budget"
    severity = inp.kind.severity(check_id)
    result = CheckResult(
        id=check_id, description="Staff in post WTE reconciles with budgeted WTE",
        severity=severity, status=status_for(severity, not bad.empty), evaluated=len(table),
        offending=len(bad),
        rows=[OffendingRow(None, {
            "staff_group": str(group), "staff_in_post_wte": f"{row.in_post:.2f}",
            "budgeted_wte": f"{row.budgeted:.2f}",
            "difference": f"{(row.in_post - row.budgeted):+.2f}"})
            for group, row in bad.head(MAX_SAMPLES).iterrows()],
        fix="Check both returns cover the same organisation and staff groups; a gap beyond "
            f"{ctx.reconcile_tolerance:.0%} means vacancies or unfunded posts that the finance "
            "lead and workforce planner should agree.")
    if not bad.empty:
        result.message = (f"{len(bad)} staff group(s) differ from the pay budget by more than "
                          f"{ctx.reconcile_tolerance:.0%} of budgeted WTE: "
                          + ", ".join(str(g) for g in bad.index[:5]) + ".")
    return result


def row_swing(inp: RuleInput) -> CheckResult | None:
    prev = inp.context.previous_row_count
    if prev is None or prev <= 0:
        return None
    now = len(inp.text)
    swing = (now - prev) / prev
    bad = abs(swing) > inp.context.row_swing_tolerance
    check_id = "completeness.row_swing"
    severity = inp.kind.severity(check_id)
    return CheckResult(
        id=check_id, description="Row count close to last year's return", severity=severity,
        status=status_for(severity, bad), evaluated=now, offending=abs(now - prev) if bad else 0,
        message=(f"This return has {now} rows against {prev} last year ({swing:+.0%}), beyond "
                 f"the ±{inp.context.row_swing_tolerance:.0%} expected.") if bad else "",
        fix="Check the extract covers the whole organisation and the same period as last "
            "year; if the change is real (e.g. a service transfer), note it for the planner.")


Rule = Callable[[RuleInput], CheckResult | None]

#: Python rules by check id; a kind lists the ids it needs in ``ReturnKind.rules``.
RULES: dict[str, Rule] = {
    "cross.lost_le_available": lost_le_available,
    "cross.rate_matches": rate_matches,
    "cross.vacancy_le_establishment": vacancy_le_establishment,
    "cross.leavers_wte_le_headcount": leavers_wte_le_headcount,
    "cross.budget_equals_wte_times_cost": budget_equals_wte_times_cost,
    "cross.completers_le_places": completers_le_places,
    "cross.fte_le_headcount": fte_le_headcount,
    "cross.age_band_or_dob": age_band_or_dob,
    "dates.day_month_order": day_month_order,
    "context.staff_groups_in_sip": staff_groups_in_sip,
    "context.reconcile_pay_budget": reconcile_pay_budget,
    "completeness.row_swing": row_swing,
}
#: Rules every kind gets.
GENERIC_RULES: tuple[str, ...] = ("dates.day_month_order",)
