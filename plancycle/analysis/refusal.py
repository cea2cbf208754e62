"""The guard in front of the analysis: only accepted, complete returns are analysed.

Why: a plan built on a return that was sent back for resubmission would carry its errors to
the board. The guard names every problem return (kind and why) in one message a planner can
act on, rather than letting the analysis fail later with a traceback.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from plancycle.analysis.frames import ANALYSED_KINDS, missing_columns


class AnalysisRefused(Exception):
    """The analysis will not run on these returns; ``problems`` maps return kind → reason."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        self.problems = dict(problems)
        super().__init__(self.message())

    def message(self) -> str:
        lines = [f"Analysis refused: {len(self.problems)} of {len(ANALYSED_KINDS)} returns "
                 "cannot be used."]
        lines += [f"  - {kind}: {why}" for kind, why in self.problems.items()]
        lines.append("Chase or resubmit these returns, validate them, then run the analysis "
                     "again.")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.message()

    def __reduce__(self) -> tuple[type, tuple[dict[str, str]]]:
        """Picklable (Prefect persists results and crosses process boundaries)."""
        return (type(self), (self.problems,))


def check_returns(
    returns: Mapping[str, pd.DataFrame | None],
    accepted: Mapping[str, bool],
    reasons: Mapping[str, str] | None = None,
) -> None:
    """Raise AnalysisRefused unless every analysed kind is present, accepted and complete.

    ``reasons`` may carry the DQ outcome for a kind that was not accepted (e.g. "3 fail-level
    checks failed") so the message says why it was sent back.
    """
    reasons = reasons or {}
    problems: dict[str, str] = {}
    for kind in ANALYSED_KINDS:
        frame = returns.get(kind)
        if frame is None:
            problems[kind] = "no return received"
        elif kind not in accepted:
            problems[kind] = "not validated yet (no accept/send-back decision recorded)"
        elif not accepted[kind]:
            why = reasons.get(kind, "resubmission required")
            problems[kind] = f"not accepted ({why})"
        elif len(frame) == 0:
            problems[kind] = "return has no rows"
        else:
            missing = missing_columns(kind, frame)
            if missing:
                problems[kind] = f"missing column(s): {', '.join(missing)}"
    if problems:
        raise AnalysisRefused(problems)
