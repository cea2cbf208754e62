"""Appendix H — Red / Amber / Green ratings against configurable thresholds.

Why: the board reads RAG first. Following the NIMHE locality form, Red = failure to meet,
Amber = inconsistent, Green = consistent. For every measure here lower is better: a value at
or below ``green_max`` is Green, at or below ``amber_max`` Amber, anything higher Red. The
defaults echo NHS expectations (e.g. agency spend within 3.2% of the pay bill) and are meant
to be set per organisation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

RED, AMBER, GREEN = "Red", "Amber", "Green"
MEANING = {RED: "failure to meet", AMBER: "inconsistent", GREEN: "consistent"}


@dataclass(frozen=True)
class Threshold:
    """Upper limits (inclusive) for Green and Amber; values are in the measure's unit."""

    green_max: float
    amber_max: float

    def __post_init__(self) -> None:
        if self.green_max > self.amber_max:
            raise ValueError(f"green_max {self.green_max} must not exceed amber_max "
                             f"{self.amber_max}")

    def status(self, value: float) -> str:
        """Green, Amber or Red for a value (a missing value cannot be shown consistent: Amber)."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return AMBER
        if value <= self.green_max:
            return GREEN
        if value <= self.amber_max:
            return AMBER
        return RED


@dataclass(frozen=True)
class RagThresholds:
    """Thresholds for every rated measure (percentages 0–100)."""

    vacancy_rate_pct: Threshold = Threshold(5.0, 10.0)
    turnover_pct: Threshold = Threshold(10.0, 14.0)
    sickness_pct: Threshold = Threshold(4.0, 5.0)
    agency_share_pct: Threshold = Threshold(3.2, 5.0)
    #: Final-year shortfall of supply against demand, as a share of demand.
    gap_shortfall_pct: Threshold = Threshold(2.0, 5.0)
    #: Final-year cost of demand above the pay budget, as a share of the budget.
    affordability_over_budget_pct: Threshold = Threshold(0.0, 2.0)

    def measures(self) -> list[str]:
        return [f.name for f in fields(self)]


#: Plain-English names of the rated measures.
LABELS = {
    "vacancy_rate_pct": "Vacancy rate",
    "turnover_pct": "Turnover",
    "sickness_pct": "Sickness absence",
    "agency_share_pct": "Agency spend (% of pay budget)",
    "gap_shortfall_pct": "Five-year workforce gap (shortfall % of demand)",
    "affordability_over_budget_pct": "Affordability (cost above pay budget %)",
}


@dataclass(frozen=True)
class RagRating:
    """One measure's value and status for one scope (the trust or a staff group)."""

    measure: str
    scope: str
    value: float
    status: str
    green_max: float
    amber_max: float

    @property
    def label(self) -> str:
        return LABELS.get(self.measure, self.measure)

    @property
    def meaning(self) -> str:
        return MEANING[self.status]


def rate(measure: str, scope: str, value: float, thresholds: RagThresholds) -> RagRating:
    """Rate one value against the named measure's threshold."""
    threshold: Threshold = getattr(thresholds, measure)
    return RagRating(measure=measure, scope=scope, value=float(value),
                     status=threshold.status(float(value)), green_max=threshold.green_max,
                     amber_max=threshold.amber_max)
