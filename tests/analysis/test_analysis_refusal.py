"""Given returns that are missing, unvalidated or sent back, the analysis refuses to run and
says which returns and why — one readable message, no traceback for the planner."""

from __future__ import annotations

import pytest

from plancycle.analysis import AnalysisRefused, analyse


def test_a_return_sent_back_is_refused_with_its_reason(hand_returns, all_accepted):
    all_accepted["vacancies"] = False
    with pytest.raises(AnalysisRefused) as refused:
        analyse(hand_returns, all_accepted,
                reasons={"vacancies": "2 fail-level checks failed: range.vacancy_wte"})
    assert refused.value.problems == {
        "vacancies": "not accepted (2 fail-level checks failed: range.vacancy_wte)"}
    message = str(refused.value)
    assert message.startswith("Analysis refused: 1 of 9 returns cannot be used.")
    assert "vacancies: not accepted" in message
    assert "Traceback" not in message


def test_every_problem_return_is_named_at_once(hand_returns, all_accepted):
    del hand_returns["leavers"]
    all_accepted["sickness_absence"] = False
    del all_accepted["pay_budget"]
    hand_returns["staff_in_post"] = hand_returns["staff_in_post"].drop(columns=["wte"])
    hand_returns["education_training"] = hand_returns["education_training"].iloc[0:0]
    with pytest.raises(AnalysisRefused) as refused:
        analyse(hand_returns, all_accepted)
    assert refused.value.problems == {
        "staff_in_post": "missing column(s): wte",
        "leavers": "no return received",
        "sickness_absence": "not accepted (resubmission required)",
        "pay_budget": "not validated yet (no accept/send-back decision recorded)",
        "education_training": "return has no rows",
    }
    assert "5 of 9 returns" in str(refused.value)


def test_staff_in_post_needs_an_age_band_or_a_date_of_birth(hand_returns, all_accepted):
    hand_returns["staff_in_post"] = hand_returns["staff_in_post"].drop(columns=["age_band"])
    with pytest.raises(AnalysisRefused, match="staff_in_post: missing column\\(s\\): age_band"):
        analyse(hand_returns, all_accepted)


def test_column_names_are_matched_ignoring_case_and_spaces(hand_returns, all_accepted):
    staff = hand_returns["staff_in_post"]
    staff.columns = [f" {c.upper()} " for c in staff.columns]
    result = analyse(hand_returns, all_accepted)
    assert result.current.headcount == 9


def test_all_accepted_returns_are_analysed(hand_returns, all_accepted):
    assert analyse(hand_returns, all_accepted).current.headcount == 9
