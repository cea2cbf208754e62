"""Build a workforce plan template from an organisation's analysis (or a published baseline).

Why from the analysis: the template must say what the plan says. The opening position is the
accepted staff-in-post return (summed exactly from its values), leavers and starters are the
supply model's first plan year (turnover by age band; recruitment, returners and training
completers), bank and agency start from the temporary-staffing return, service changes come
from the service leads, and the planner's assumptions (cycle YAML ``template:``) set the
scenario, CIP/productivity, the agency cap and reduction, and the recruitment pipeline.

Monthly profile: an annual movement (rounded to 2 dp) is spread evenly over M1–M12 with the
rounding remainder in M12, except newly qualified staff (who start in September, M6) and
service changes (effective from April, M1). Each month's closing WTE is the exact sum of the
previous closing and the month's movements, so the bridge reconciles by construction; the
validation sheet still checks it, because an incoming template may have been edited by hand.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

import pandas as pd

from plancycle.template.model import (
    ALL_GROUPS,
    BRIDGE_COLUMNS,
    CLOSING_ITEM,
    FORECAST_COLUMNS,
    FORMAT,
    KPI_COLUMNS,
    KPIS,
    MONTHS,
    MOVEMENTS,
    OPENING,
    OPENING_ITEM,
    PERIODS,
    STAFF_TYPES,
    TOTAL_TYPE,
    TRIANGULATION_COLUMNS,
    YEAR,
    ZERO,
    TemplateAssumptions,
    WorkforceTemplate,
    dec,
    q2,
    text,
)

SUBSTANTIVE_MOVES = MOVEMENTS[:6]
ZERO2 = Decimal("0.00")
NEWLY_QUALIFIED_MONTH = "M6"   # September: the graduate intake
SERVICE_CHANGE_MONTH = "M1"    # changes planned for the year take effect in April


def spread(total: Decimal, month: str | None = None) -> dict[str, Decimal]:
    """An annual movement per month, in pence of WTE (0.01): all in ``month``, or evenly with
    the remaining hundredths one each in the first months, so the months add up to the year."""
    total = q2(total)
    if month is not None:
        return {m: (total if m == month else ZERO2) for m in MONTHS}
    hundredths = int(total * 100)
    sign = -1 if hundredths < 0 else 1
    each, extra = divmod(abs(hundredths), 12)
    return {m: Decimal(sign * (each + (1 if i < extra else 0))).scaleb(-2) for i, m in
            enumerate(MONTHS)}


class GroupPlan:
    """One staff group's opening position and annual movements."""

    def __init__(self, group: str, substantive: Decimal, bank: Decimal = ZERO,
                 agency: Decimal = ZERO) -> None:
        self.group = group
        self.opening = {"substantive": substantive, "bank": bank, "agency": agency}
        self.moves: dict[str, dict[str, Decimal]] = {item: spread(ZERO) for item in MOVEMENTS}

    def set(self, item: str, annual: Decimal, month: str | None = None) -> None:
        self.moves[item] = spread(annual, month)

    def trajectory(self) -> dict[str, dict[str, Decimal]]:
        """WTE per staff type and period (opening, then each month-end)."""
        rows = {t: {OPENING: self.opening[t]} for t in STAFF_TYPES}
        previous = dict(self.opening)
        for m in MONTHS:
            now = {
                "substantive": previous["substantive"]
                + sum((self.moves[i][m] for i in SUBSTANTIVE_MOVES), ZERO),
                "bank": previous["bank"] + self.moves["Bank change"][m],
                "agency": previous["agency"] + self.moves["Agency change"][m],
            }
            for t in STAFF_TYPES:
                rows[t][m] = now[t]
            previous = now
        return rows


def assemble(org_code: str, org_name: str, financial_year: str,
             assumptions: TemplateAssumptions, plans: Sequence[GroupPlan],
             kpis: Mapping[str, Mapping[str, Decimal | None]],
             triangulation: Sequence[Mapping[str, Decimal | str | None]],
             cover: Sequence[tuple[str, str]] = ()) -> WorkforceTemplate:
    """The sheets of a template from group plans, KPI rows and triangulation rows."""
    forecast_rows: list[dict[str, object]] = []
    bridge_rows: list[dict[str, object]] = []
    totals = {t: {p: ZERO for p in PERIODS} for t in (*STAFF_TYPES, TOTAL_TYPE)}
    for plan in plans:
        traj = plan.trajectory()
        traj[TOTAL_TYPE] = {p: sum((traj[t][p] for t in STAFF_TYPES), ZERO) for p in PERIODS}
        for staff_type in (*STAFF_TYPES, TOTAL_TYPE):
            forecast_rows.append({"staff_group": plan.group, "staff_type": staff_type,
                                  **traj[staff_type]})
            for p in PERIODS:
                totals[staff_type][p] += traj[staff_type][p]
        bridge_rows.extend(bridge_for(plan.group, traj[TOTAL_TYPE], plan.moves))
    for staff_type in (*STAFF_TYPES, TOTAL_TYPE):
        forecast_rows.append({"staff_group": ALL_GROUPS, "staff_type": staff_type,
                              **totals[staff_type]})
    moves_all = {item: {m: sum((p.moves[item][m] for p in plans), ZERO) for m in MONTHS}
                 for item in MOVEMENTS}
    bridge_rows.extend(bridge_for(ALL_GROUPS, totals[TOTAL_TYPE], moves_all))
    kpi_rows = [{"measure": key, "label": label, "unit": unit,
                 **{p: kpis.get(key, {}).get(p) for p in PERIODS}} for key, label, unit in KPIS]
    cover_rows = [("format", FORMAT), ("org_code", org_code), ("org_name", org_name),
                  ("financial_year", financial_year), ("scenario", assumptions.scenario),
                  *cover]
    return WorkforceTemplate(
        org_code=org_code, org_name=org_name, financial_year=financial_year,
        cover=cover_rows, assumptions=assumptions.rows(),
        forecast=pd.DataFrame(forecast_rows, columns=list(FORECAST_COLUMNS)),
        bridge=pd.DataFrame(bridge_rows, columns=list(BRIDGE_COLUMNS)),
        kpis=pd.DataFrame(kpi_rows, columns=list(KPI_COLUMNS)),
        triangulation=pd.DataFrame(list(triangulation), columns=list(TRIANGULATION_COLUMNS)))


def validated(template: WorkforceTemplate) -> WorkforceTemplate:
    """The template with its validation sheet filled in."""
    from plancycle.template.validation import validate, validation_frame

    template.validation = validation_frame(validate(template))
    return template


def bridge_for(group: str, total: Mapping[str, Decimal],
               moves: Mapping[str, Mapping[str, Decimal]]) -> list[dict[str, object]]:
    """Opening, each movement and closing per month (and the year) for one group."""
    rows = [{"staff_group": group, "item": OPENING_ITEM,
             **{m: total[PERIODS[i]] for i, m in enumerate(MONTHS)}, YEAR: total[OPENING]}]
    for item in MOVEMENTS:
        rows.append({"staff_group": group, "item": item, **dict(moves[item]),
                     YEAR: sum(moves[item].values(), ZERO)})
    rows.append({"staff_group": group, "item": CLOSING_ITEM,
                 **{m: total[m] for m in MONTHS}, YEAR: total[MONTHS[-1]]})
    return rows


def exact_sum(values: object) -> Decimal:
    """The exact sum of values as their source wrote them (float cells via their repr)."""
    return sum((dec(v) or ZERO for v in values), ZERO)  # type: ignore[union-attr]


# --- from an organisation's analysis ---------------------------------------------------------

def from_analysis(analysis: object, staff_in_post: pd.DataFrame, *, org_name: str = "",
                  assumptions: TemplateAssumptions | None = None,
                  cover: Sequence[tuple[str, str]] = ()) -> WorkforceTemplate:
    """The template of one organisation from its ``WorkforceAnalysis`` and the accepted
    staff-in-post return (the opening position is that return's WTE, summed exactly)."""
    from plancycle.analysis import WorkforceAnalysis
    from plancycle.analysis.demand import SCENARIOS
    from plancycle.returns import codes

    a: WorkforceAnalysis = analysis  # type: ignore[assignment]
    x = assumptions or TemplateAssumptions(scenario=a.headline_scenario)
    if x.scenario not in SCENARIOS:
        raise ValueError(f"template scenario {x.scenario!r} is not one of {', '.join(SCENARIOS)}")
    columns = {str(c).strip().lower(): c for c in staff_in_post.columns}
    sip = staff_in_post.rename(columns={columns["staff_group"]: "staff_group",
                                        columns["wte"]: "wte"})
    opening = {str(g).strip(): exact_sum(frame["wte"])
               for g, frame in sip.groupby("staff_group", sort=False)}
    year1 = a.supply.projection[a.supply.projection["year"] == 1].set_index("staff_group")
    temp = a.temporary_staffing.by_staff_group.set_index("staff_group")
    changes = a.service_changes
    if len(changes):
        changes = changes[pd.to_numeric(changes["start_year"], errors="coerce") == 1]
        service = changes.groupby("staff_group")["wte_change"].apply(exact_sum).to_dict()
    else:
        service = {}
    groups = [g for g in codes.STAFF_GROUPS if g in opening or g in year1.index]
    groups += sorted(set(opening) - set(groups))
    plans = []
    reduction = x.agency_reduction_pct / 100
    for g in groups:
        bank = q2(temp["bank_wte"].get(g, 0.0)) if g in temp.index else ZERO
        agency = q2(temp["agency_wte"].get(g, 0.0)) if g in temp.index else ZERO
        plan = GroupPlan(g, opening.get(g, ZERO), bank, agency)
        if g in year1.index:
            row = year1.loc[g]
            plan.set("Leavers", -q2(row["retirements_wte"] + row["other_leavers_wte"]))
            starters = x.recruitment_pipeline.get(g)
            plan.set("Starters", starters if starters is not None
                     else q2(row["recruits_wte"] + row["returners_wte"]))
            plan.set("Newly qualified", q2(row["completers_wte"]), NEWLY_QUALIFIED_MONTH)
        plan.set("International recruits", x.international_recruits.get(g, ZERO))
        plan.set("Service changes", service.get(g, ZERO), SERVICE_CHANGE_MONTH)
        plan.set("CIP / productivity", -q2(plan.opening["substantive"] * x.productivity_pct / 100))
        plan.set("Agency change", -q2(agency * reduction))
        plans.append(plan)
    template = assemble(a.org_code, org_name, a.financial_year, x, plans, {}, [], cover)
    template.kpis = _kpis(a, template, x)
    template.triangulation = _triangulation(a, template, x)
    return validated(template)


def _demand_growth(a: object, scenario: str) -> dict[str, Decimal]:
    """Year-1 demand growth (%) per group and for all groups, in the chosen scenario."""
    p = a.demand.projection  # type: ignore[attr-defined]
    p = p[p["scenario"] == scenario]
    out = {}
    for group, frame in [*p.groupby("staff_group"), (ALL_GROUPS, p)]:
        base = float(frame[frame["year"] == 0]["demand_wte"].sum())
        one = float(frame[frame["year"] == 1]["demand_wte"].sum())
        out[str(group)] = q2((one / base - 1) * 100) if base else ZERO
    return out


def _kpis(a: object, t: WorkforceTemplate, x: TemplateAssumptions
          ) -> pd.DataFrame:
    """KPIs per period: the opening column is the analysis's own figure (the plan's)."""
    sub = {p: t.wte(ALL_GROUPS, "substantive", p) for p in PERIODS}
    agency = {p: t.wte(ALL_GROUPS, "agency", p) for p in PERIODS}
    turnover = q2(a.turnover.rate_pct)  # type: ignore[attr-defined]
    sickness = q2(a.sickness.rate_pct)  # type: ignore[attr-defined]
    share = q2(a.temporary_staffing.agency_share_pct)  # type: ignore[attr-defined]
    vac = a.vacancies  # type: ignore[attr-defined]
    est0, in_post0 = dec(float(vac.establishment_wte)), dec(float(vac.staff_in_post_wte))
    growth = (x.activity_growth_pct if x.activity_growth_pct is not None
              else _demand_growth(a, x.scenario)[ALL_GROUPS])
    lost0 = dec(float(a.sickness.fte_days_lost))  # type: ignore[attr-defined]
    avail0 = dec(float(a.sickness.fte_days_available))  # type: ignore[attr-defined]
    months = Decimal(max(int(a.period_months), 1))  # type: ignore[attr-defined]
    rows: dict[str, dict[str, Decimal | None]] = {k: {} for k, _, _ in KPIS}
    for i, p in enumerate(PERIODS):
        est = q2(est0 * (1 + growth / 100 * i / 12))
        in_post = in_post0 + (sub[p] - sub[OPENING])
        rows["establishment_wte"][p] = est
        rows["turnover_pct"][p] = turnover
        rows["sickness_pct"][p] = sickness
        if p == OPENING:
            rows["vacancy_rate_pct"][p] = q2(vac.rate_pct)
            rows["agency_share_pct"][p] = share
            rows["sickness_fte_days_lost"][p] = lost0
            rows["sickness_fte_days_available"][p] = avail0
            continue
        rows["vacancy_rate_pct"][p] = q2((est - in_post) / est * 100) if est else None
        rows["agency_share_pct"][p] = (q2(share * agency[p] / agency[OPENING])
                                       if agency[OPENING] else ZERO)
        available = q2(avail0 / months * (sub[p] / sub[OPENING] if sub[OPENING] else 1))
        rows["sickness_fte_days_available"][p] = available
        rows["sickness_fte_days_lost"][p] = q2(available * sickness / 100)
    return pd.DataFrame([{"measure": k, "label": label, "unit": unit, **rows[k]}
                         for k, label, unit in KPIS], columns=list(KPI_COLUMNS))


def _triangulation(a: object, t: WorkforceTemplate, x: TemplateAssumptions) -> pd.DataFrame:
    """Closing WTE against the scenario's demand growth and the finance plan's pay budget."""
    cost = a.affordability.cost_per_wte.set_index("staff_group")  # type: ignore[attr-defined]
    demand = _demand_growth(a, x.scenario)
    rows = []
    total_cost, total_budget = ZERO, ZERO
    for g in [*t.staff_groups, ALL_GROUPS]:
        opening, closing = t.wte(g, TOTAL_TYPE, OPENING), t.wte(g, TOTAL_TYPE, MONTHS[-1])
        row: dict[str, Decimal | str | None] = {
            "staff_group": g, "opening_wte": opening, "closing_wte": closing,
            "wte_growth_pct": q2((closing / opening - 1) * 100) if opening else None,
            "demand_growth_pct": demand.get(g)}
        if g == ALL_GROUPS:
            row.update(cost_per_wte_gbp=None, closing_pay_cost_gbp=total_cost,
                       pay_budget_gbp=total_budget)
        elif g in cost.index:
            per = q2(cost.loc[g, "cost_per_wte_gbp"])
            budget = q2(cost.loc[g, "pay_budget_gbp"])
            row.update(cost_per_wte_gbp=per, closing_pay_cost_gbp=q2(closing * per),
                       pay_budget_gbp=budget)
            total_cost += q2(closing * per)
            total_budget += budget
        else:
            row.update(cost_per_wte_gbp=None, closing_pay_cost_gbp=None, pay_budget_gbp=None)
        budget = row["pay_budget_gbp"]
        row["over_budget_pct"] = (q2((row["closing_pay_cost_gbp"] / budget - 1) * 100)
                                  if isinstance(budget, Decimal) and budget else None)
        rows.append(row)
    return pd.DataFrame(rows, columns=list(TRIANGULATION_COLUMNS))


# --- from a published baseline (Core 5 staff in post and sickness) ------------------------

def from_published(view: object, org_code: str, financial_year: str, *,
                   assumptions: TemplateAssumptions | None = None) -> WorkforceTemplate:
    """An organisation's template on its published position: opening substantive WTE per
    staff group is the Core 5 FTE (exact decimals), the sickness KPI is the latest published
    month's. Core 5 publishes neither bank nor agency, so those are zero and said so."""
    from plancycle.ics.published import PublishedView

    v: PublishedView = view  # type: ignore[assignment]
    x = assumptions or TemplateAssumptions()
    cells = v.organisation_staff_groups
    mine = cells[cells["org_code"] == org_code]
    if mine.empty:
        raise ValueError(f"organisation {org_code} is not in the published Core 5 for {v.ics_code}")
    names = v.organisations.set_index("org_code")["org_name"]
    plans = []
    for row in mine.itertuples(index=False):
        plan = GroupPlan(str(row.staff_group), row.fte)
        plan.set("Starters", x.recruitment_pipeline.get(str(row.staff_group), ZERO))
        plan.set("International recruits", x.international_recruits.get(str(row.staff_group),
                                                                        ZERO))
        plan.set("CIP / productivity", -q2(row.fte * x.productivity_pct / 100))
        plans.append(plan)
    sick = v.sickness[v.sickness["org_code"] == org_code].sort_values("month")
    kpis: dict[str, dict[str, Decimal | None]] = {}
    cover = [("baseline", f"NHS Workforce Statistics Core 5 ({v.data_month}); bank and agency "
              "are not published and are shown as zero")]
    if len(sick):
        last = sick.iloc[-1]
        rate = dec(last["published_rate"])
        kpis = {"sickness_pct": {p: rate for p in PERIODS},
                "sickness_fte_days_lost": {OPENING: dec(last["fte_days_lost"])},
                "sickness_fte_days_available": {OPENING: dec(last["fte_days_available"])}}
        cover.append(("sickness_month", text(last["month"])))
    return validated(assemble(org_code, str(names.get(org_code, org_code)), financial_year, x,
                              plans, kpis, [], cover))
