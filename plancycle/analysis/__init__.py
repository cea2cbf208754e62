"""Workforce analysis (Appendix I stages 2–3, Annexes B, D, E, G): pure pandas, no I/O.

``analyse(returns, accepted)`` runs every step on one organisation's accepted returns and
returns a ``WorkforceAnalysis``; each step is also usable on its own from its module.
"""

from plancycle.analysis.actions import ActionItem
from plancycle.analysis.affordability import AffordabilityAssumptions
from plancycle.analysis.demand import SCENARIOS, DemandAssumptions
from plancycle.analysis.frames import ANALYSED_KINDS
from plancycle.analysis.plan import WorkforceAnalysis, analyse
from plancycle.analysis.rag import RagRating, RagThresholds, Threshold
from plancycle.analysis.refusal import AnalysisRefused, check_returns
from plancycle.analysis.supply import SupplyAssumptions

__all__ = [
    "ANALYSED_KINDS",
    "SCENARIOS",
    "ActionItem",
    "AffordabilityAssumptions",
    "AnalysisRefused",
    "DemandAssumptions",
    "RagRating",
    "RagThresholds",
    "SupplyAssumptions",
    "Threshold",
    "WorkforceAnalysis",
    "analyse",
    "check_returns",
]
