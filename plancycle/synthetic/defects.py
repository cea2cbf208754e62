"""Named data-quality defects injected into otherwise clean returns, so validation can be tested
against known-bad files."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

# --- data-quality defects -------------------------------------------------------------------


def _defect_wte_out_of_range(returns: dict[str, pd.DataFrame], rng: np.random.Generator) -> None:
    staff = returns["staff_in_post"].copy()
    rows = rng.choice(len(staff), size=3, replace=False)
    staff.loc[staff.index[rows], "wte"] = [1.8, -0.2, 2.5]
    returns["staff_in_post"] = staff


def _defect_unknown_staff_group(returns: dict[str, pd.DataFrame],
                                rng: np.random.Generator) -> None:
    staff = returns["staff_in_post"].copy()
    rows = rng.choice(len(staff), size=2, replace=False)
    staff.loc[staff.index[rows], "staff_group"] = "Porters & cleaners"
    returns["staff_in_post"] = staff


def _defect_duplicate_assignment_id(returns: dict[str, pd.DataFrame],
                                    rng: np.random.Generator) -> None:
    staff = returns["staff_in_post"].copy()
    rows = rng.choice(len(staff), size=2, replace=False)
    staff.loc[staff.index[rows[1]], "assignment_id"] = staff.loc[staff.index[rows[0]],
                                                                 "assignment_id"]
    returns["staff_in_post"] = staff


def _defect_bad_ethnic_code(returns: dict[str, pd.DataFrame], rng: np.random.Generator) -> None:
    staff = returns["staff_in_post"].copy()
    rows = rng.choice(len(staff), size=2, replace=False)
    staff.loc[staff.index[rows], "ethnic_category"] = ["X Unknown", "White"]
    returns["staff_in_post"] = staff


def _defect_lost_exceeds_available(returns: dict[str, pd.DataFrame],
                                   rng: np.random.Generator) -> None:
    sick = returns["sickness_absence"].copy()
    row = sick.index[int(rng.integers(len(sick)))]
    sick.loc[row, "fte_days_lost"] = sick.loc[row, "fte_days_available"] * 1.5
    sick.loc[row, "sickness_absence_rate"] = 150.0
    returns["sickness_absence"] = sick


def _defect_rate_mismatch(returns: dict[str, pd.DataFrame], rng: np.random.Generator) -> None:
    sick = returns["sickness_absence"].copy()
    row = sick.index[int(rng.integers(len(sick)))]
    sick.loc[row, "sickness_absence_rate"] = sick.loc[row, "sickness_absence_rate"] + 1.0
    returns["sickness_absence"] = sick


def _defect_vacancy_exceeds_establishment(returns: dict[str, pd.DataFrame],
                                          rng: np.random.Generator) -> None:
    vac = returns["vacancies"].copy()
    row = vac.index[int(rng.integers(len(vac)))]
    vac.loc[row, "vacancy_wte"] = vac.loc[row, "establishment_wte"] + 5.0
    returns["vacancies"] = vac


def _defect_bad_month(returns: dict[str, pd.DataFrame], rng: np.random.Generator) -> None:
    leavers = returns["leavers"].copy()
    leavers["month"] = leavers["month"].astype(object)
    leavers.loc[leavers.index[int(rng.integers(len(leavers)))], "month"] = "2025-13"
    returns["leavers"] = leavers


def _defect_missing_column(returns: dict[str, pd.DataFrame], rng: np.random.Generator) -> None:
    del rng
    returns["staff_in_post"] = returns["staff_in_post"].drop(columns=["grade"])


#: Named data-quality defects (what they break is in each function's name).
DEFECTS: dict[str, Callable[[dict[str, pd.DataFrame], np.random.Generator], None]] = {
    "wte_out_of_range": _defect_wte_out_of_range,
    "unknown_staff_group": _defect_unknown_staff_group,
    "duplicate_assignment_id": _defect_duplicate_assignment_id,
    "bad_ethnic_code": _defect_bad_ethnic_code,
    "lost_exceeds_available": _defect_lost_exceeds_available,
    "rate_mismatch": _defect_rate_mismatch,
    "vacancy_exceeds_establishment": _defect_vacancy_exceeds_establishment,
    "bad_month": _defect_bad_month,
    "missing_column": _defect_missing_column,
}
