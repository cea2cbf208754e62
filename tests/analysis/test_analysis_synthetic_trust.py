"""Given the synthetic trust generator, its returns look like a real acute trust's."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from plancycle.returns import codes
from plancycle.synthetic import COLUMNS, DEFECTS, RETURN_KINDS, generate_trust, write_trust


def test_same_seed_gives_identical_returns_and_another_seed_does_not():
    first, again = generate_trust(size=800, seed=3), generate_trust(size=800, seed=3)
    other = generate_trust(size=800, seed=4)
    for kind in RETURN_KINDS:
        pd.testing.assert_frame_equal(first[kind], again[kind])
    assert not first["staff_in_post"].equals(other["staff_in_post"])


def test_every_return_kind_has_exactly_the_contract_columns():
    returns = generate_trust(size=500)
    assert tuple(returns) == RETURN_KINDS
    for kind, frame in returns.items():
        assert tuple(frame.columns) == COLUMNS[kind], kind
        assert len(frame) > 0, kind


def test_codes_come_from_the_shared_code_lists(synthetic_returns):
    staff = synthetic_returns["staff_in_post"]
    assert set(staff["staff_group"]) <= set(codes.STAFF_GROUPS)
    assert set(staff["grade"]) <= set(codes.GRADES)
    assert set(staff["age_band"]) <= set(codes.AGE_BANDS)
    assert set(staff["gender"]) <= set(codes.GENDERS)
    assert staff["ethnic_category"].map(codes.ethnic_code).notna().all()
    assert staff["assignment_id"].is_unique
    assert staff["wte"].between(0, 1.5).all()
    assert staff["contracted_hours"].between(0, 60).all()
    leavers = synthetic_returns["leavers"]
    assert set(leavers["reason"]) <= set(codes.LEAVING_REASONS)
    activity = synthetic_returns["activity_plan"]
    assert set(activity["point_of_delivery"]) <= set(codes.POINTS_OF_DELIVERY)
    assert activity["month"].nunique() == 12


def test_workforce_shares_are_within_nhs_ranges():
    staff = generate_trust(size=20000, seed=11)["staff_in_post"]
    people = staff.drop_duplicates("person_id")
    share = people["staff_group"].value_counts(normalize=True)
    assert len(people) == 20000 and len(staff) > len(people)  # some hold two posts
    assert 0.23 <= share["Nurses & health visitors"] + share["Midwives"] <= 0.27
    assert 0.10 <= share["HCHS doctors"] <= 0.14
    assert 0.20 <= share["Support to doctors, nurses & midwives"] \
        + share["Support to ST&T staff"] <= 0.26
    assert 0.13 <= share["Scientific, therapeutic & technical staff"] <= 0.17
    assert 0.13 <= share["Central functions"] <= 0.17
    assert 0.05 <= share["Hotel, property & estates"] <= 0.07
    assert 0.03 <= share["Managers"] + share["Senior managers"] <= 0.05
    assert 0.74 <= (people["gender"] == "Female").mean() <= 0.80
    assert 0.18 <= people["age_band"].isin(["55-59", "60-64", "65+"]).mean() <= 0.23
    bme = people["ethnic_category"].map(codes.ethnic_code).isin(codes.BME_CODES).mean()
    assert 0.22 <= bme <= 0.28
    person_wte = staff.groupby("person_id")["wte"].sum()
    assert 0.26 <= (person_wte < 1).mean() <= 0.34
    part_time = people.assign(pt=people["person_id"].map(person_wte < 1))
    by_gender = part_time.groupby("gender")["pt"].mean()
    assert by_gender["Female"] > 2 * by_gender["Male"]
    older = part_time["age_band"].isin(["55-59", "60-64", "65+"])
    assert part_time.loc[older, "pt"].mean() > part_time.loc[~older, "pt"].mean()
    assert staff.loc[staff["staff_group"] == "HCHS doctors", "grade"].isin(
        codes.MEDICAL_GRADES).all()


def test_monthly_returns_are_plausible():
    returns = generate_trust(size=20000, seed=5)
    staff, people = returns["staff_in_post"], returns["staff_in_post"]["person_id"].nunique()
    vac = returns["vacancies"]
    assert (vac["vacancy_wte"] <= vac["establishment_wte"]).all()
    latest = vac[vac["month"] == vac["month"].max()]
    assert 0.07 <= latest["vacancy_wte"].sum() / latest["establishment_wte"].sum() <= 0.09
    cells = latest.groupby(["staff_group", "service"])[["vacancy_wte", "establishment_wte"]].sum()
    rates = cells["vacancy_wte"] / cells["establishment_wte"]
    assert rates.max() > 0.12  # hot spots exist
    leavers = returns["leavers"]
    assert 0.10 <= leavers["leavers_headcount"].sum() / people <= 0.12
    retiring = leavers[leavers["reason"] == "Retirement"]
    assert retiring["age_band"].isin(["55-59", "60-64", "65+"]).mean() > 0.95
    sick = returns["sickness_absence"]
    assert 4.5 <= sick["fte_days_lost"].sum() / sick["fte_days_available"].sum() * 100 <= 5.5
    monthly = sick.groupby("month")[["fte_days_lost", "fte_days_available"]].sum()
    rate = monthly["fte_days_lost"] / monthly["fte_days_available"]
    winter = rate[rate.index.str[5:].isin(["12", "01"])].mean()
    summer = rate[rate.index.str[5:].isin(["06", "07", "08"])].mean()
    assert winter > 1.15 * summer
    computed = sick["fte_days_lost"] / sick["fte_days_available"] * 100
    assert np.allclose(computed, sick["sickness_absence_rate"], atol=0.005)
    budget = returns["pay_budget"]
    assert 0.95 <= budget["budgeted_wte"].sum() / staff["wte"].sum() <= 1.05
    agency = returns["bank_agency"]
    assert agency["agency_spend_gbp"].sum() > 0
    activity = returns["activity_plan"]
    flows = activity[activity["point_of_delivery"] != "Waiting list"]
    assert flows["planned_activity"].sum() > flows["baseline_activity"].sum()
    assert returns["service_changes"]["narrative"].str.len().gt(20).all()
    assert returns["education_training"]["completion_year"].between(1, 5).all()


def test_financial_year_sets_the_months():
    returns = generate_trust(size=300, financial_year="2027/28")
    assert returns["vacancies"]["month"].min() == "2026-04"
    assert returns["vacancies"]["month"].max() == "2027-03"
    assert returns["activity_plan"]["month"].min() == "2027-04"
    with pytest.raises(ValueError, match="2026/27"):
        generate_trust(size=300, financial_year="2027-28")


def test_sixty_thousand_staff_generate_in_a_few_seconds():
    started = time.perf_counter()
    returns = generate_trust(size=60000, seed=1)
    assert time.perf_counter() - started < 5.0
    assert returns["staff_in_post"]["person_id"].nunique() == 60000


def test_each_named_defect_breaks_what_it_says():
    clean = generate_trust(size=400, seed=2)

    def broken(name: str) -> dict[str, pd.DataFrame]:
        return generate_trust(size=400, seed=2, defects={name})

    assert not broken("wte_out_of_range")["staff_in_post"]["wte"].between(0, 1.5).all()
    assert "Porters & cleaners" in set(broken("unknown_staff_group")["staff_in_post"][
        "staff_group"])
    assert not broken("duplicate_assignment_id")["staff_in_post"]["assignment_id"].is_unique
    assert broken("bad_ethnic_code")["staff_in_post"]["ethnic_category"].map(
        codes.ethnic_code).isna().any()
    sick = broken("lost_exceeds_available")["sickness_absence"]
    assert (sick["fte_days_lost"] > sick["fte_days_available"]).any()
    sick = broken("rate_mismatch")["sickness_absence"]
    assert ((sick["fte_days_lost"] / sick["fte_days_available"] * 100
             - sick["sickness_absence_rate"]).abs() > 0.005).any()
    vac = broken("vacancy_exceeds_establishment")["vacancies"]
    assert (vac["vacancy_wte"] > vac["establishment_wte"]).any()
    assert "2025-13" in set(broken("bad_month")["leavers"]["month"])
    assert "grade" not in broken("missing_column")["staff_in_post"].columns
    # a defect touches only its own return
    for kind in RETURN_KINDS:
        if kind != "staff_in_post":
            pd.testing.assert_frame_equal(broken("missing_column")[kind], clean[kind])
    assert set(DEFECTS) >= {"wte_out_of_range", "unknown_staff_group", "duplicate_assignment_id",
                            "bad_ethnic_code", "lost_exceeds_available", "missing_column"}
    with pytest.raises(ValueError, match="unknown defect"):
        generate_trust(size=400, defects={"not_a_defect"})


def test_write_trust_writes_one_file_per_kind_that_reads_back(tmp_path):
    returns = generate_trust(size=300, seed=9)
    written = write_trust(returns, tmp_path / "rxx")
    assert sorted(p.name for p in written.values()) == sorted(f"{k}.csv" for k in RETURN_KINDS)
    back = pd.read_csv(written["staff_in_post"], dtype={"assignment_id": str, "person_id": str})
    assert back["wte"].sum() == pytest.approx(returns["staff_in_post"]["wte"].sum())
    assert len(back) == len(returns["staff_in_post"])
    with pytest.raises(ValueError, match="fmt"):
        write_trust(returns, tmp_path, fmt="json")


def test_generated_columns_follow_the_returns_registry():
    """The generator and the upload validator share one contract (plancycle.returns.kinds)."""
    from plancycle.returns.kinds import KINDS

    for kind, columns in COLUMNS.items():
        known = {c.name for c in KINDS[kind].columns}
        required = {c.name for c in KINDS[kind].columns if c.required}
        assert set(columns) <= known, kind
        assert required <= set(columns), kind
