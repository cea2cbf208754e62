"""Given a whole synthetic trust, the analysis reproduces what the generator put in."""

from __future__ import annotations

import pytest

from plancycle.analysis import SCENARIOS


def test_current_workforce_matches_the_extract(synthetic_returns, synthetic_analysis):
    staff = synthetic_returns["staff_in_post"]
    a = synthetic_analysis
    assert a.current.headcount == staff["person_id"].nunique() == 3000
    assert a.current.wte == pytest.approx(staff["wte"].sum())
    assert a.current.by_staff_group["wte"].sum() == pytest.approx(a.current.wte)
    assert a.current.by_staff_group["headcount"].sum() >= a.current.headcount
    assert 20 <= a.current.bme_pct <= 31
    assert a.financial_year == "2026/27" and a.period_months == 12


def test_rates_are_in_the_generated_ranges(synthetic_analysis):
    a = synthetic_analysis
    assert 6.0 <= a.vacancies.rate_pct <= 10.0
    assert 9.0 <= a.turnover.rate_pct <= 13.5
    assert 4.3 <= a.sickness.rate_pct <= 5.7
    assert a.sickness.peak_month[5:] in ("12", "01")
    assert 0 < a.temporary_staffing.agency_share_pct < 6
    assert a.trends.directions["staff_in_post_wte"] in ("rising", "stable")


def test_projection_covers_every_scenario_group_and_year(synthetic_analysis):
    a = synthetic_analysis
    assert set(a.gap.by_group["scenario"]) == set(SCENARIOS)
    assert sorted(a.gap.totals["year"].unique()) == [0, 1, 2, 3, 4, 5]
    totals = a.gap.totals.set_index(["scenario", "year"])
    # growth needs more staff than baseline; productivity sits between them
    assert totals.loc[("growth", 5), "demand_wte"] > totals.loc[("productivity", 5), "demand_wte"] \
        > totals.loc[("baseline", 5), "demand_wte"]
    flows = a.supply.totals()
    assert (flows.loc[flows["year"] >= 1, "retirements_wte"] > 0).all()
    assert len(a.ratings) > 6 and len(a.trust_ratings()) == 6
    assert any(x.source == "Service lead input" for x in a.actions)


def test_analysis_is_deterministic(synthetic_returns, synthetic_analysis):
    from plancycle.analysis import analyse
    from plancycle.synthetic import RETURN_KINDS

    again = analyse(synthetic_returns, {k: True for k in RETURN_KINDS})
    assert again.gap.totals.equals(synthetic_analysis.gap.totals)
    assert [x.action for x in again.actions] == [x.action for x in synthetic_analysis.actions]


def test_returns_uploaded_and_read_back_give_the_same_analysis_and_plan(tmp_path):
    """Generator → files → the returns module's typed reader → analysis: nothing is lost."""
    from plancycle.analysis import analyse
    from plancycle.documents import PlanContext, render_plan
    from plancycle.returns.validate import load_typed
    from plancycle.synthetic import RETURN_KINDS, generate_trust, write_trust

    returns = generate_trust(size=600, seed=3)
    accepted = {kind: True for kind in RETURN_KINDS}
    for fmt in ("csv", "xlsx"):
        paths = write_trust(returns, tmp_path / fmt, fmt=fmt)
        typed = {kind: load_typed(path, kind) for kind, path in paths.items()}
        direct, uploaded = analyse(returns, accepted), analyse(typed, accepted)
        assert uploaded.gap.totals.equals(direct.gap.totals), fmt
        context = PlanContext(organisation_name="Upload Test Trust")
        assert render_plan(uploaded, context, pdf=False).sha256 == \
            render_plan(direct, context, pdf=False).sha256, fmt
