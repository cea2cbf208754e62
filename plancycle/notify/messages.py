"""Building message intents (with their template context) from register rows.

One builder per cycle and pass caches the look-ups (stages, roles, people, dependants) so
a chaser pass over thousands of assignments does not query per message.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from plancycle.calendar import WorkingCalendar
from plancycle.chasing import ChaseStep
from plancycle.icalendar import DueEvent, EventBook, assignment_event, invite
from plancycle.links import TaskLinks
from plancycle.notify.fallbacks import FALLBACK_KIND
from plancycle.notify.service import Intent
from plancycle.register.models import (
    Assignment,
    Cycle,
    LinkGeneration,
    Person,
    RoleHolder,
    Stage,
    Task,
    TaskState,
)

DEFAULT_CHANNELS = ("email", "chat")


class MessageBuilder:
    def __init__(self, session: Session, cycle_id: str, links: TaskLinks,
                 calendar: WorkingCalendar, today: date) -> None:
        self.session = session
        self.cycle = session.get(Cycle, cycle_id)
        if self.cycle is None:
            raise LookupError(cycle_id)
        self.links = links
        self.calendar = calendar
        self.today = today
        self.people = {p.id: p for p in session.scalars(
            select(Person).where(Person.cycle_id == cycle_id))}
        self.by_key = {p.key: p for p in self.people.values()}
        self.stages = {s.id: s for s in session.scalars(
            select(Stage).where(Stage.cycle_id == cycle_id))}
        self.tasks = {t.id: t for t in session.scalars(
            select(Task).where(Task.cycle_id == cycle_id))}
        self.tasks_by_key = {t.key: t for t in self.tasks.values()}
        self.role_names: dict[str, str] = {}
        self.role_holders: dict[str, list[Person]] = {}
        for holder in session.scalars(select(RoleHolder).where(RoleHolder.cycle_id == cycle_id)):
            self.role_names[holder.role_key] = holder.role_name
            self.role_holders.setdefault(holder.role_key, []).append(self.people[holder.person_id])
        self.dependants: dict[str, list[Task]] = {}
        for task in self.tasks.values():
            for dep in task.depends_on or []:
                self.dependants.setdefault(dep, []).append(task)
        self.sender_name = os.environ.get("PLANCYCLE_SENDER_NAME", "Workforce Planning Team")
        self._events: EventBook | None = None
        # Link generations read once for the pass (one query, not one per signed link).
        self.generations = {g.person_key: g.generation for g in session.scalars(
            select(LinkGeneration).where(LinkGeneration.cycle_id == cycle_id))}
        self._days_to: dict[date, int] = {}

    def link(self, person: Person, assignment_id: int) -> str:
        """A freshly signed task link for ``person`` to an assignment."""
        return self.links.url(person.key, assignment_id, self.cycle.id,
                              self.generations.get(person.key, 0))

    def days_to(self, due_on: date) -> int:
        """Working days from today to ``due_on`` (negative when past), once per date."""
        days = self._days_to.get(due_on)
        if days is None:
            days = self._days_to[due_on] = self.calendar.working_days_between(self.today,
                                                                                due_on)
        return days

    def channels(self, task: Task) -> tuple[str, ...]:
        return tuple(task.settings.get("chasing", {}).get("channels", DEFAULT_CHANNELS))

    def waiting(self, task: Task) -> list[str]:
        """Who is waiting on this task: the dependants and the people who hold them."""
        out = []
        for dependant in self.dependants.get(task.key, []):
            if dependant.state in (TaskState.COMPLETE, TaskState.CANCELLED):
                continue
            names = ", ".join(p.name for p in self.role_holders.get(dependant.role_key, []))
            out.append(f"{dependant.name} ({names})" if names else dependant.name)
        return out

    def task_context(self, task: Task, assignment: Assignment, recipient: Person,
                     assignee: Person) -> dict[str, Any]:
        days_to_due = self.days_to(assignment.due_on)
        behalf = self.people.get(assignment.on_behalf_of_id) if assignment.on_behalf_of_id \
            else None
        return {
            "recipient_name": recipient.name,
            "recipient_handle": recipient.chat or recipient.name,
            "assignee_name": assignee.name,
            "organisation": self.cycle.org_name,
            "cycle_name": self.cycle.name,
            "task_name": task.name,
            "task_key": task.key,
            "stage_name": self.stages[task.stage_id].name,
            "role_name": self.role_names.get(task.role_key, task.role_key),
            "due_on": assignment.due_on,
            "days_to_due": max(days_to_due, 0),
            "days_overdue": max(-days_to_due, 0),
            "return_kind": task.return_kind,
            "instructions": task.instructions,
            "waiting": self.waiting(task),
            "on_behalf_of": behalf.name if behalf else None,
            "note": assignment.reason if assignment.reason and not behalf else None,
            # A fresh link for the assignee's own task; escalation targets get the same
            # task's page through their own signed view of it.
            "link": self.link(recipient, assignment.id),
            "link_days": self.links.max_age_seconds // 86400,
            "sender_name": self.sender_name,
        }

    def new_task(self, assignment: Assignment) -> Intent:
        task = self.tasks[assignment.task_id]
        person = self.people[assignment.person_id]
        context = self.task_context(task, assignment, person, person)
        # The people the task was handed over from get their calendar entry cancelled.
        companions = tuple(self.handed_over(old, person) for old in self.events.to_cancel(task)
                           if old.id != assignment.id)
        key = f"a{assignment.id}:new_task:{assignment.due_on.isoformat()}"
        event = self.calendar_event(assignment, context["link"]) \
            if "email" in self.channels(task) else None
        if event is not None and event.sequence:
            # A calendar entry changed or reinstated (e.g. the task handed back to them):
            # a new message, so their calendar is updated and they know it is theirs again.
            key += f":s{event.sequence}"
        return Intent(key=key, cycle_id=self.cycle.id, person=person, kind="new_task",
                      context=context, channels=self.channels(task),
                      assignment_id=assignment.id,
                      ics=invite([event], self._now()) if event else None,
                      companions=companions)

    # --- calendar entries (.ics attached to emails) -----------------------------------------

    @property
    def events(self) -> EventBook:
        if self._events is None:
            self._events = EventBook(self.session, self.cycle.id)
        return self._events

    def _now(self) -> datetime:
        clock = self.session.info.get("clock")
        return clock.now() if clock is not None else datetime.now(UTC)

    def calendar_event(self, assignment: Assignment, link: str | None = None,
                       cancel: bool = False) -> DueEvent | None:
        """The assignee's calendar entry for an assignment (UID/SEQUENCE tracked in the
        register); None when they have no email address to receive it."""
        person = self.people[assignment.person_id]
        if not person.email:
            return None
        task = self.tasks[assignment.task_id]
        row = self.events.track(assignment, self._now(), cancel=cancel)
        return assignment_event(row, task, person, stage_name=self.stages[task.stage_id].name,
                                role_name=self.role_names.get(task.role_key, task.role_key),
                                organisation=self.cycle.org_name, link=link)

    def calendar_invite(self, task: Task, assignment: Assignment, link: str | None
                        ) -> str | None:
        """The .ics for an email about an assignment, if the task is chased by email."""
        if "email" not in self.channels(task):
            return None
        event = self.calendar_event(assignment, link)
        return invite([event], self._now()) if event else None

    def handed_over(self, old: Assignment, to: Person | None = None) -> Intent:
        """Tell the person a task was taken from, with METHOD:CANCEL for its calendar entry."""
        task = self.tasks[old.task_id]
        person = self.people[old.person_id]
        event = self.calendar_event(old, cancel=True)
        context = self.task_context(task, old, person, person)
        context.update(handed_to=to.name if to else "someone else", reason=old.reason)
        sequence = event.sequence if event else 0
        return Intent(key=f"a{old.id}:handed_over:{sequence}", cycle_id=self.cycle.id,
                      person=person, kind="handed_over", context=context,
                      channels=self.channels(task), assignment_id=old.id,
                      ics=invite([event], self._now()) if event else None)

    def escalation_targets(self, assignee: Person, target: str) -> list[tuple[Person, str]]:
        if target == "line_manager":
            manager = self.by_key.get(assignee.line_manager_key or "")
            return [(manager, f"{assignee.name}'s line manager")] if manager else []
        if target == "deputy":
            deputy = self.by_key.get(assignee.deputy_key or "")
            return [(deputy, f"{assignee.name}'s deputy")] if deputy else []
        role = target.removeprefix("role:")
        name = self.role_names.get(role, role)
        return [(p, name) for p in self.role_holders.get(role, []) if p.id != assignee.id]

    def fallback_targets(self, task: Task, assignee: Person) -> list[tuple[Person, str]]:
        """Who hears of an escalation that has nobody to go to: the cycle's named fallback
        role (default: the workforce planner), else the assignee's deputy; never the
        assignee themself. Empty when the cycle has nobody at all."""
        fallback = self.chasing(task).get("escalation_fallback") or "role:workforce_planner"
        role = fallback.removeprefix("role:")
        holders = [p for p in self.role_holders.get(role, []) if p.id != assignee.id]
        if holders:
            name = self.role_names.get(role, role)
            return [(p, f"holder of the {name} role") for p in holders]
        deputy = self.by_key.get(assignee.deputy_key or "")
        if deputy is not None and deputy.id != assignee.id:
            return [(deputy, f"{assignee.name}'s deputy")]
        return []

    def escalation_wanted(self, assignee: Person, target: str) -> str:
        """Who an escalation step was meant for, in words ("Helen Shaw's line manager")."""
        if target in ("line_manager", "deputy"):
            return f"{assignee.name}'s {target.replace('_', ' ')}"
        role = target.removeprefix("role:")
        return f"the {self.role_names.get(role, role)}"

    def chasing(self, task: Task) -> dict[str, Any]:
        return task.settings.get("chasing", {})

    def chase(self, step: ChaseStep, assignment: Assignment) -> list[Intent]:
        """The messages of one chase step. An escalation with nobody to receive it goes to
        the fallback (see :meth:`fallback_targets`) as an ``escalation_fallback``; if there
        is no fallback either, nothing (the chaser records the step as unrouted)."""
        task = self.tasks[assignment.task_id]
        assignee = self.people[assignment.person_id]
        if step.kind != "escalation":
            context = self.task_context(task, assignment, assignee, assignee)
            return [Intent(key=step.key, cycle_id=self.cycle.id, person=assignee, kind=step.kind,
                           context=context, channels=self.channels(task),
                           assignment_id=assignment.id,
                           ics=self.calendar_invite(task, assignment, context["link"]))]
        target = step.target or "line_manager"
        kind, targets = "escalation", self.escalation_targets(assignee, target)
        if not targets:
            kind, targets = FALLBACK_KIND, self.fallback_targets(task, assignee)
        intents = []
        for person, reason in targets:
            context = self.task_context(task, assignment, person, assignee)
            if kind == "escalation":
                context["escalation_reason"] = reason
            else:
                context.update(escalation_reason=self.escalation_wanted(assignee, target),
                               fallback_reason=reason)
            intents.append(Intent(key=f"{step.key}:p{person.id}", cycle_id=self.cycle.id,
                                  person=person, kind=kind, context=context,
                                  channels=self.channels(task), assignment_id=assignment.id))
        return intents

    def digest(self, person: Person, assignments: list[Assignment]) -> Intent:
        items = []
        events: list[DueEvent] = []
        for assignment in sorted(assignments, key=lambda a: a.due_on):
            task = self.tasks[assignment.task_id]
            days = self.days_to(assignment.due_on)
            link = self.link(person, assignment.id)
            items.append({"task_name": task.name, "due_on": assignment.due_on,
                          "days_to_due": max(days, 0), "days_overdue": max(-days, 0),
                          "link": link})
            event = self.calendar_event(assignment, link)
            if event is not None:
                events.append(event)
        context = {"recipient_name": person.name, "recipient_handle": person.chat or person.name,
                   "organisation": self.cycle.org_name, "cycle_name": self.cycle.name,
                   "items": items, "sender_name": self.sender_name}
        return Intent(key=f"digest:p{person.id}:{self.today.isoformat()}", cycle_id=self.cycle.id,
                      person=person, kind="digest", context=context, channels=DEFAULT_CHANNELS,
                      ics=invite(events, self._now()) if events else None)
