"""The action plan's vocabulary: action statuses, RAG ratings, the in-year stage and its check-in
tasks, and the error a request about an action raises."""

from __future__ import annotations

from pathlib import Path

OPEN, COMPLETE, DROPPED = "open", "complete", "dropped"
STATUSES = (OPEN, COMPLETE, DROPPED)
RAGS = ("red", "amber", "green")
#: The stage check-ins go into, unless the planner names another.
IN_YEAR_STAGE = "in_year_refresh"
CHECKIN_PREFIX = "actions_checkin"
SUMMARY_KIND = "action_summary"
TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "templates" / "actions"


class ActionError(Exception):
    """A request about an action that cannot be honoured (the message says what to do)."""

