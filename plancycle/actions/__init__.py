"""In-year monitoring of the Annex G action plan: tracked actions, quarterly check-ins, RAG.

Why: a plan the board signs in the autumn is only worth its actions. Each Annex G action
(:class:`plancycle.analysis.actions.ActionItem`) becomes an :class:`Action` in the register
with an owner role, a due date and its measure of success. Every quarter each owner role gets
a check-in task (kind "review", in the in-year refresh stage) asking for a RAG status and a
short update on each of its open actions; the engine assigns it to the role's holders and
the chaser chases it like any task. An action still open at the annual roll-forward is
carried into next year's cycle as a new row pointing back at this one, so its RAG history
(the :class:`ActionUpdate` rows) stays attached without being copied.

The quarterly summary for the board is rendered with the plan's own templates and CSS
(``templates/actions/`` next to ``templates/plan/``) through :mod:`plancycle.documents`.

The package, one concept per module: :mod:`.terms` (statuses, RAG, the in-year stage),
:mod:`.quarters`, :mod:`.tracking` (Annex G items → actions, carry-over), :mod:`.plan`
(reading it), :mod:`.updates` (an owner's quarterly update), :mod:`.checkins` (opening each
quarter's check-in tasks) and :mod:`.board` (the summary for the board).
"""

from __future__ import annotations

from plancycle.actions.board import (
    BoardSummary,
    render_board_summary,
    store_board_summary,
    summary_view,
)
from plancycle.actions.checkins import (
    CheckinResult,
    monitoring_stage,
    open_checkins,
)
from plancycle.actions.plan import (
    ActionView,
    action_plan,
    find_action,
    history,
    key_order,
    lineage,
)
from plancycle.actions.quarters import (
    fy_of,
    parse_quarter,
    previous_quarter,
    quarter_bounds,
    quarter_of,
)
from plancycle.actions.terms import (
    CHECKIN_PREFIX,
    COMPLETE,
    DROPPED,
    IN_YEAR_STAGE,
    OPEN,
    RAGS,
    STATUSES,
    SUMMARY_KIND,
    TEMPLATE_DIR,
    ActionError,
)
from plancycle.actions.tracking import (
    TrackResult,
    analysed_actions,
    carry_over,
    cycle_config,
    due_from_timescale,
    fingerprint,
    owner_role_for,
    track_actions,
)
from plancycle.actions.updates import (
    checkin_key,
    record_update,
)

__all__ = [
    "ActionError",
    "ActionView",
    "BoardSummary",
    "CHECKIN_PREFIX",
    "COMPLETE",
    "CheckinResult",
    "DROPPED",
    "IN_YEAR_STAGE",
    "OPEN",
    "RAGS",
    "STATUSES",
    "SUMMARY_KIND",
    "TEMPLATE_DIR",
    "TrackResult",
    "action_plan",
    "analysed_actions",
    "carry_over",
    "checkin_key",
    "cycle_config",
    "due_from_timescale",
    "find_action",
    "fingerprint",
    "fy_of",
    "history",
    "key_order",
    "lineage",
    "monitoring_stage",
    "open_checkins",
    "owner_role_for",
    "parse_quarter",
    "previous_quarter",
    "quarter_bounds",
    "quarter_of",
    "record_update",
    "render_board_summary",
    "store_board_summary",
    "summary_view",
    "track_actions",
]
