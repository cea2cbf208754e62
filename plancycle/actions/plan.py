"""Reading the action plan: one action, its lineage across years, its RAG history, the rows."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from plancycle.actions.terms import OPEN, ActionError
from plancycle.register.models import (
    Action,
    ActionUpdate,
    RoleHolder,
)

# --- reading the action plan --------------------------------------------------------------------

def find_action(session: Session, cycle_id: str, key: str) -> Action:
    action = session.scalars(select(Action).where(
        Action.cycle_id == cycle_id, Action.key == key.strip().upper())).first()
    if action is None:
        keys = ", ".join(session.scalars(select(Action.key).where(
            Action.cycle_id == cycle_id).order_by(Action.id))) or "none yet"
        raise ActionError(f"no action '{key}' in cycle '{cycle_id}' (actions: {keys}); see "
                          "`plancycle actions list`")
    return action


def lineage(session: Session, action: Action) -> list[Action]:
    """The action and the actions it was carried from, oldest first."""
    chain = [action]
    seen = {action.id}
    while chain[0].carried_from_id and chain[0].carried_from_id not in seen:
        previous = session.get(Action, chain[0].carried_from_id)
        if previous is None:
            break
        seen.add(previous.id)
        chain.insert(0, previous)
    return chain


def history(session: Session, action: Action) -> list[ActionUpdate]:
    """Every RAG update of the action, including those from years it was carried from."""
    ids = [a.id for a in lineage(session, action)]
    return list(session.scalars(select(ActionUpdate).where(ActionUpdate.action_id.in_(ids))
                                .order_by(ActionUpdate.recorded_at, ActionUpdate.id)))


@dataclass(frozen=True)
class ActionView:
    """One action with everything the CLI, the dashboard and the board summary show."""

    action: Action
    owner_name: str
    updates: list[ActionUpdate]
    carried_from: str | None  # the cycle id it was first raised in, if carried

    @property
    def latest(self) -> ActionUpdate | None:
        return self.updates[-1] if self.updates else None

    def rag_in(self, quarter: str) -> str | None:
        """The last RAG reported for ``quarter`` (None: no update that quarter)."""
        found = [u.rag for u in self.updates if u.quarter == quarter]
        return found[-1] if found else None

    def trail(self) -> list[tuple[str, str]]:
        """(quarter, RAG) in order, the last report of each quarter."""
        out: dict[str, str] = {}
        for update in self.updates:
            out[update.quarter] = update.rag
        return list(out.items())


def action_plan(session: Session, cycle_id: str, include_closed: bool = True
                ) -> list[ActionView]:
    """The cycle's action plan with RAG history, in key order (G1, G2 …)."""
    names = {h.role_key: h.role_name for h in session.scalars(
        select(RoleHolder).where(RoleHolder.cycle_id == cycle_id))}
    actions = list(session.scalars(select(Action).where(Action.cycle_id == cycle_id)))
    if not include_closed:
        actions = [a for a in actions if a.status == OPEN]
    views = []
    for action in sorted(actions, key=lambda a: key_order(a.key)):
        chain = lineage(session, action)
        views.append(ActionView(action, names.get(action.owner_role, action.owner_role),
                                history(session, action),
                                chain[0].cycle_id if len(chain) > 1 else None))
    return views


def key_order(key: str) -> tuple[int, str]:
    match = re.fullmatch(r"G(\d+)", key)
    return (int(match.group(1)), "") if match else (10**9, key)


