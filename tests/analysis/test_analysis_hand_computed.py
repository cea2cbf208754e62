"""Given the ten-assignment trust RZZ (tests/fixtures/analysis), every figure matches a hand
calculation. The arithmetic is written next to each expected value."""

from __future__ import annotations

import pytest

from plancycle.analysis import (
    AnalysisRefused,
    DemandAssumptions,
    RagThresholds,
    SupplyAssumptions,
    Threshold,
    analyse,
)
from plancycle.analysis.frames import period_months

NURSES = "Nurses & health visitors"
DOCTORS = "HCHS doctors"
SUPPORT = "Support to doctors, nurses & midwives"
CENTRAL = "Central functions"


@pytest.fixture()
def rzz(hand_returns, all_accepted):
    return analyse(
        hand_returns, all_accepted,
        supply=SupplyAssumptions(recruitment_rate=0.1, returners_rate=0.0,
                                 completer_join_rate=1.0, wte_per_joiner=1.0, shrinkage_wte=0.0),
    )


def by(frame, key):
    return frame.set_index(key)


def test_headcount_counts_people_once_and_is_never_summed_across_groups(rzz):
    c = rzz.current
    assert c.assignments == 10
    assert c.headcount == 9                      # P001 holds two posts
    assert c.wte == pytest.approx(7.5)           # 1.0+0.6+0.8+1.0+1.0+0.5+1.0+1.0+0.4+0.2
    groups = by(c.by_staff_group, "staff_group")
    assert groups.loc[NURSES, "headcount"] == 3
    assert groups.loc[NURSES, "wte"] == pytest.approx(2.4)
    assert groups.loc[DOCTORS, "headcount"] == 2
    assert groups.loc[DOCTORS, "wte"] == pytest.approx(2.0)
    assert groups.loc[SUPPORT, "headcount"] == 3          # P006, P007 and P001's second post
    assert groups.loc[SUPPORT, "wte"] == pytest.approx(1.7)  # 0.5 + 1.0 + 0.2
    assert groups.loc[CENTRAL, "headcount"] == 2
    assert groups.loc[CENTRAL, "wte"] == pytest.approx(1.4)
    assert groups["headcount"].sum() == 10 != c.headcount  # why rows never add to the total
    assert groups["wte"].sum() == pytest.approx(c.wte)      # WTE does add up
    services = by(c.by_service, "service")
    assert services.loc["Surgery", "headcount"] == 4       # P003, P004, P007, P001
    assert services.loc["Surgery", "wte"] == pytest.approx(3.0)  # 0.8 + 1.0 + 1.0 + 0.2
    locations = by(c.by_location, "location")
    assert locations.loc["Main Hospital", "headcount"] == 6
    grades = by(c.by_grade, "grade")
    assert grades.loc["Band 3", "headcount"] == 2 and grades.loc["Band 3", "wte"] == \
        pytest.approx(1.2)


def test_part_time_is_a_person_working_under_one_wte_in_total(rzz):
    c = rzz.current
    # P001 works 1.0 + 0.2 = 1.2 so is full-time; P002 0.6, P003 0.8, P006 0.5, P009 0.4 are not.
    assert c.part_time_pct == pytest.approx(4 / 9 * 100)
    gender = by(c.part_time_by["gender"], "gender")
    assert gender.loc["Female", "headcount"] == 6 and gender.loc["Female", "part_time"] == 2
    assert gender.loc["Female", "part_time_pct"] == pytest.approx(100 / 3)
    assert gender.loc["Male", "part_time_pct"] == pytest.approx(200 / 3)
    age = by(c.part_time_by["age_band"], "age_band")
    assert age.loc["30-34", "headcount"] == 2 and age.loc["30-34", "part_time"] == 1
    ethnic = by(c.part_time_by["ethnic_code"], "ethnic_code")
    assert ethnic.loc["H", "headcount"] == 2 and ethnic.loc["H", "part_time"] == 1


def test_age_gender_and_ethnic_profiles(rzz):
    c = rzz.current
    assert c.aged_55_plus_pct == pytest.approx(3 / 9 * 100)   # P002, P006, P009
    assert c.aged_60_plus_pct == pytest.approx(2 / 9 * 100)   # P006, P009
    assert c.under_25_pct == pytest.approx(1 / 9 * 100)       # P007
    assert c.bme_pct == pytest.approx(3 / 9 * 100)            # N, H ("H Indian" and "H")
    assert c.ethnicity_not_stated_pct == pytest.approx(1 / 9 * 100)
    gender = by(c.gender_profile, "gender")
    assert gender.loc["Female", "headcount"] == 6
    pyramid = by(c.age_profile, "age_band")
    assert len(pyramid) == 11 and pyramid["headcount"].sum() == 9
    assert pyramid.loc["30-34", "Female"] == 1 and pyramid.loc["30-34", "Male"] == 1
    risk = by(c.retirement_risk, "staff_group")
    assert risk.loc[NURSES, "aged_55_plus"] == 1 and risk.loc[NURSES, "pct_55_plus"] == \
        pytest.approx(100 / 3)
    assert risk.loc[CENTRAL, "aged_60_plus"] == 1 and risk.loc[CENTRAL, "pct_60_plus"] == 50
    assert risk.loc[SUPPORT, "wte_55_plus"] == pytest.approx(0.5)


def test_skill_mix_uses_the_shared_categories(rzz):
    mix = by(rzz.current.skill_mix, "skill_mix")
    assert mix.loc["registered", "wte"] == pytest.approx(4.4)     # nurses 2.4 + doctors 2.0
    assert mix.loc["unregistered", "wte"] == pytest.approx(1.7)
    assert mix.loc["support", "wte"] == pytest.approx(1.4)
    assert mix.loc["registered", "headcount"] == 5
    assert list(mix.index) == ["registered", "unregistered", "support"]


def test_vacancy_rate_is_vacancies_over_staff_in_post_plus_vacancies(rzz):
    v = rzz.vacancies
    assert v.month == "2026-03"
    assert v.vacancy_wte == pytest.approx(2.9)          # 1.5 + 0.5 + 0.5 + 0.3 + 0.1
    assert v.establishment_wte == pytest.approx(11.5)   # 4.0 + 1.5 + 2.5 + 2.0 + 1.5
    assert v.staff_in_post_wte == pytest.approx(8.6)
    assert v.rate_pct == pytest.approx(2.9 / 11.5 * 100)
    groups = by(v.by_staff_group, "staff_group")
    assert groups.loc[NURSES, "rate_pct"] == pytest.approx(2.0 / 5.5 * 100)
    assert groups.loc[CENTRAL, "rate_pct"] == pytest.approx(0.1 / 1.5 * 100)
    # hot spot: ≥ 10% and ≥ 1 WTE vacant → only nurses in Medicine (1.5 of 4.0)
    assert v.hot_spots[["staff_group", "service"]].values.tolist() == [[NURSES, "Medicine"]]
    monthly = by(v.monthly, "month")
    assert monthly.loc["2026-02", "rate_pct"] == pytest.approx(1.5 / 9.4 * 100)


def test_turnover_is_leavers_over_average_staff_in_post(rzz):
    t = rzz.turnover
    assert rzz.period_months == 12                      # 2025-04 … 2026-03
    assert t.leavers_headcount == 3 and t.average_headcount == 9
    assert t.rate_pct == pytest.approx(3 / 9 * 100)
    assert t.retirements == 2 and t.retirement_share_pct == pytest.approx(200 / 3)
    groups = by(t.by_staff_group, "staff_group")
    assert groups.loc[NURSES, "rate_pct"] == pytest.approx(100 / 3)
    assert groups.loc[CENTRAL, "rate_pct"] == pytest.approx(50.0)
    assert groups.loc[DOCTORS, "rate_pct"] == 0
    reasons = by(t.by_reason, "reason")
    assert reasons.loc["Retirement", "leavers_headcount"] == 2


def test_sickness_rate_sums_days_and_uses_organisation_rows_only_for_months_without_groups(rzz):
    s = rzz.sickness
    # used: Dec nurses 10/200, Dec doctors 2/100, Jan nurses 6/200, Feb organisation 30/600;
    # the January organisation row (100/1000) is ignored because January has group rows.
    assert s.fte_days_lost == pytest.approx(48) and s.fte_days_available == pytest.approx(1100)
    assert s.rate_pct == pytest.approx(48 / 1100 * 100)
    months = by(s.by_month, "month")
    assert months.loc["2025-12", "rate_pct"] == pytest.approx(4.0)
    assert months.loc["2026-01", "rate_pct"] == pytest.approx(3.0)
    assert months.loc["2026-02", "rate_pct"] == pytest.approx(5.0)
    assert s.peak_month == "2026-02"
    groups = by(s.by_staff_group, "staff_group")
    assert groups.loc[NURSES, "rate_pct"] == pytest.approx(4.0)   # 16 / 400
    assert groups.loc[DOCTORS, "rate_pct"] == pytest.approx(2.0)
    assert s.hot_spots.empty                                      # none above 5%


def test_bank_and_agency_are_averaged_and_annualised_over_the_period(rzz):
    b = rzz.temporary_staffing
    assert b.bank_wte == pytest.approx(2.4 / 12)
    assert b.agency_wte == pytest.approx(3.0 / 12)
    assert b.bank_spend_gbp == pytest.approx(6000)
    assert b.agency_spend_gbp == pytest.approx(36000)
    assert b.agency_share_pct == pytest.approx(36000 / 455000 * 100)


def test_affordability_prices_wte_at_budget_cost(rzz):
    f = rzz.affordability
    assert f.pay_budget_gbp == 455000 and f.budgeted_wte == pytest.approx(9.5)
    costs = by(f.cost_per_wte, "staff_group")["cost_per_wte_gbp"]
    assert costs[NURSES] == pytest.approx(40000)   # 160,000 / 4.0
    # in post: 2.4×40k + 2.0×100k + 1.7×25k + 1.4×30k
    assert f.staff_in_post_cost_gbp == pytest.approx(380500)
    assert f.current_spend_gbp == pytest.approx(380500 + 6000 + 36000)
    assert f.current_over_budget_pct == pytest.approx((422500 - 455000) / 455000 * 100)
    now = f.projection[(f.projection["scenario"] == "baseline") & (f.projection["year"] == 0)]
    # establishment 5.5×40k + 2.5×100k + 2.0×25k + 1.5×30k = 565,000
    assert now["demand_cost_gbp"].iloc[0] == pytest.approx(565000)
    assert now["over_budget_pct"].iloc[0] == pytest.approx(110000 / 455000 * 100)


def test_demand_scenarios_from_establishment_activity_and_service_changes(rzz):
    d = rzz.demand
    growth = by(d.activity_growth, "service")["growth_pct"]
    assert growth["Medicine"] == pytest.approx(5.0)          # (110 + 100) / 200 − 1
    assert growth["Surgery"] == pytest.approx(20.0)          # 60 / 50 − 1 (waiting list out)
    assert growth["(all services)"] == pytest.approx(8.0)    # 270 / 250 − 1
    groups = by(d.group_growth, "staff_group")
    assert groups.loc[NURSES, "wte_growth_pct"] == pytest.approx(10.0)   # (1.6×5 + 0.8×20)/2.4
    assert groups.loc[DOCTORS, "wte_growth_pct"] == pytest.approx(12.5)
    assert groups.loc[SUPPORT, "wte_growth_pct"] == pytest.approx(26.5 / 1.7 * 0.9)
    assert groups.loc[CENTRAL, "wte_growth_pct"] == pytest.approx(8.0 * 0.4)  # trust growth
    p = d.projection.set_index(["scenario", "staff_group", "year"])["demand_wte"]
    assert p["baseline", NURSES, 0] == pytest.approx(5.5)
    assert p["baseline", NURSES, 1] == pytest.approx(6.5)            # + virtual ward 1.0
    assert p["baseline", CENTRAL, 1] == pytest.approx(1.5)
    assert p["baseline", CENTRAL, 2] == pytest.approx(1.0)           # shared services −0.5
    assert p["growth", NURSES, 1] == pytest.approx(5.5 * 1.1 + 1.0)
    assert p["growth", NURSES, 2] == pytest.approx(5.5 * 1.1 ** 2 + 1.0)
    assert p["productivity", NURSES, 1] == pytest.approx(5.5 * 1.1 / 1.015 + 1.0)
    assert d.totals().set_index(["scenario", "year"]).loc[("baseline", 0), "demand_wte"] == \
        pytest.approx(11.5)


def test_supply_rolls_stock_forward_with_leavers_recruits_and_completers(rzz):
    s = rzz.supply.projection.set_index(["staff_group", "year"])
    # doctors: nobody left, so only 10% recruitment: 2.0 → 2.2 → 2.42
    assert s.loc[(DOCTORS, 1), "supply_wte"] == pytest.approx(2.2)
    assert s.loc[(DOCTORS, 2), "supply_wte"] == pytest.approx(2.42)
    # nurses: the 25-29 band (1.0 WTE) lost 1.0 WTE → rate 100%; 2 completers join in year 1
    assert s.loc[(NURSES, 1), "other_leavers_wte"] == pytest.approx(1.0)
    assert s.loc[(NURSES, 1), "completers_wte"] == pytest.approx(2.0)
    assert s.loc[(NURSES, 1), "recruits_wte"] == pytest.approx(0.24)
    assert s.loc[(NURSES, 1), "supply_wte"] == pytest.approx(2.4 - 1.0 + 0.24 + 2.0)
    # support: the 60-64 band (0.5 WTE) retired in full
    assert s.loc[(SUPPORT, 1), "retirements_wte"] == pytest.approx(0.5)
    assert s.loc[(SUPPORT, 1), "supply_wte"] == pytest.approx(1.7 - 0.5 + 0.17)
    assert s.loc[(SUPPORT, 2), "completers_wte"] == pytest.approx(1.0)


def test_gap_is_supply_minus_demand(rzz):
    g = rzz.gap
    now = g.totals[(g.totals["scenario"] == "baseline") & (g.totals["year"] == 0)].iloc[0]
    assert now["supply_wte"] == pytest.approx(7.5) and now["demand_wte"] == pytest.approx(11.5)
    assert now["gap_wte"] == pytest.approx(-4.0)
    assert now["shortfall_pct"] == pytest.approx(4.0 / 11.5 * 100)
    rows = g.by_group.set_index(["scenario", "staff_group", "year"])
    assert rows.loc[("baseline", NURSES, 0), "gap_wte"] == pytest.approx(2.4 - 5.5)
    doctors = rows.loc[("growth", DOCTORS, 1)]
    assert doctors["gap_wte"] == pytest.approx(2.2 - 2.5 * 1.125)


def test_rag_ratings_follow_the_thresholds(rzz):
    assert rzz.rating("vacancy_rate_pct").status == "Red"        # 25.2% > 10
    assert rzz.rating("turnover_pct").status == "Red"            # 33.3% > 14
    assert rzz.rating("sickness_pct").status == "Amber"          # 4.36% in (4, 5]
    assert rzz.rating("agency_share_pct").status == "Red"        # 7.9% > 5
    assert rzz.rating("vacancy_rate_pct", CENTRAL).status == "Amber"   # 6.7%
    assert rzz.rating("sickness_pct", DOCTORS).status == "Green"       # 2.0%
    t = Threshold(green_max=4.0, amber_max=5.0)
    assert [t.status(v) for v in (4.0, 4.01, 5.0, 5.01)] == ["Green", "Amber", "Amber", "Red"]
    assert t.status(float("nan")) == "Amber"
    with pytest.raises(ValueError):
        Threshold(green_max=6, amber_max=5)


def test_thresholds_are_configurable(hand_returns, all_accepted):
    lenient = RagThresholds(vacancy_rate_pct=Threshold(30, 40), sickness_pct=Threshold(5, 6))
    result = analyse(hand_returns, all_accepted, thresholds=lenient)
    assert result.rating("vacancy_rate_pct").status == "Green"
    assert result.rating("sickness_pct").status == "Green"


def test_action_plan_comes_from_red_ratings_gaps_and_leads(rzz):
    actions = rzz.actions
    sources = {a.source for a in actions}
    assert {"RAG: vacancy rate", "RAG: agency spend", "Service lead input"} <= sources
    lead = next(a for a in actions if a.source == "Service lead input")
    assert lead.responsible.startswith("Service Lead")
    assert [a.priority for a in actions] == sorted(
        (a.priority for a in actions), key=["High", "Medium", "Low"].index)
    for a in actions:
        assert a.action and a.timescale and a.responsible and a.measures_of_success


def test_financial_year_comes_from_the_activity_plan(rzz):
    assert rzz.financial_year == "2026/27"
    assert rzz.data_period == ("2025-04", "2026-03")
    assert rzz.org_code == "RZZ"


def test_period_is_the_span_of_monthly_returns_not_months_present():
    import pandas as pd

    assert period_months(pd.Series(["2025-04", "2026-03"])) == 12
    assert period_months(pd.Series(["2025-06"]), pd.Series(["2025-04", "2025-05"])) == 3


def test_demand_assumptions_change_the_result(hand_returns, all_accepted):
    flat = analyse(hand_returns, all_accepted,
                   demand=DemandAssumptions(later_year_growth=0.0, include_service_changes=False))
    p = flat.demand.projection.set_index(["scenario", "staff_group", "year"])["demand_wte"]
    assert p["growth", NURSES, 2] == pytest.approx(5.5 * 1.1)
    assert p["baseline", NURSES, 1] == pytest.approx(5.5)


def test_date_of_birth_can_replace_age_band(hand_returns, all_accepted):
    staff = hand_returns["staff_in_post"].drop(columns=["age_band"])
    staff["date_of_birth"] = "1990-06-15"     # aged 35 on 31 March 2026 → 35-39
    hand_returns["staff_in_post"] = staff
    result = analyse(hand_returns, all_accepted)
    assert by(result.current.age_profile, "age_band").loc["35-39", "headcount"] == 9


def test_published_sickness_layout_is_accepted_unchanged(hand_returns, all_accepted):
    import pandas as pd

    hand_returns["sickness_absence"] = pd.DataFrame({
        "DATE": ["31/12/2025", "31/01/2026"], "ORG_CODE": ["RZZ", "RZZ"],
        "FTE_DAYS_LOST": ["12", "6"], "FTE_DAYS_AVAILABLE": ["300", "200"],
        "SICKNESS_ABSENCE_RATE_PERCENT": ["4", "3"],
    })
    result = analyse(hand_returns, all_accepted)
    assert result.sickness.rate_pct == pytest.approx(18 / 500 * 100)
    assert list(result.sickness.by_month["month"]) == ["2025-12", "2026-01"]


def test_refused_when_a_return_is_missing_column(hand_returns, all_accepted):
    hand_returns["vacancies"] = hand_returns["vacancies"].drop(columns=["establishment_wte"])
    with pytest.raises(AnalysisRefused, match="vacancies: missing column"):
        analyse(hand_returns, all_accepted)
