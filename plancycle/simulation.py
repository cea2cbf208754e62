"""Rehearsing a cycle on the simulated clock with scripted responders.

Tests and ``make demo`` install a :class:`Rehearsal` as the runtime's waiter: each time the
cycle flow waits, the clock jumps to the next working day, the scripted people act
(complete tasks early or late, only once escalated, approve or reject gates) and the
chaser runs for that day — a planning year in seconds, through the real engine.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select

from plancycle.assignments import mark_absent
from plancycle.clock import SimulatedClock
from plancycle.notify.messages import MessageBuilder
from plancycle.register.models import (
    Assignment,
    AssignmentState,
    Notification,
    Person,
    Task,
)
from plancycle.runtime import Runtime
from plancycle.signoff import Verdict, current_document, decide
from plancycle.uploads import submit_return


@dataclass
class Script:
    """How the people in a rehearsal behave."""

    #: Working days relative to the due date when a task is done (negative = early).
    default_offset: int = -1
    offsets: dict[str, int] = field(default_factory=dict)
    #: Tasks whose holders act only the working day after they have been escalated.
    until_escalated: set[str] = field(default_factory=set)
    #: Per gate, the verdicts of successive rounds (default: approve).
    gate_rounds: dict[str, list[str]] = field(default_factory=dict)
    #: Who sends which file for a data request: (return kind, person id, attempt) →
    #: (bytes, file name). When set, data requests are answered by real uploads.
    returns: Callable[[str, str, int], tuple[bytes, str]] | None = None
    #: Tasks answered by a custom action instead of "complete" (e.g. run the submission).
    actions: dict[str, Callable[[Runtime, str, str], None]] = field(default_factory=dict)
    #: People away for a while: person id → (first day away, first day back).
    absences: dict[str, tuple[date, date]] = field(default_factory=dict)
    #: Extra actions to run each day before responders (uploads, for instance).
    hooks: list[Callable[[Runtime, date], None]] = field(default_factory=list)


@dataclass
class Rehearsal:
    runtime: Runtime
    cycle_id: str
    script: Script
    end: date
    chase: Callable[[str, date], object] | None = None  # default: runtime.chase + deliver
    days: int = 0
    gate_round: Counter[str] = field(default_factory=Counter)
    attempts: Counter[tuple[str, str]] = field(default_factory=Counter)
    log: list[str] = field(default_factory=list)

    @property
    def clock(self) -> SimulatedClock:
        clock = self.runtime.clock
        assert isinstance(clock, SimulatedClock), "a rehearsal needs a SimulatedClock"
        return clock

    def wait(self, _seconds: float) -> None:
        """The waiter: move to the next working day, let people act, chase."""
        day = self.runtime.calendar.add_working_days(self.clock.today(), 1)
        if day > self.end:
            raise RuntimeError(f"rehearsal of {self.cycle_id} ran past {self.end} unfinished")
        self.clock.set(day)
        self.days += 1
        self.absences(day)
        for hook in self.script.hooks:
            hook(self.runtime, day)
        self.respond(day)
        if self.chase is not None:
            self.chase(self.cycle_id, day)
        else:
            self.runtime.chase(self.cycle_id, day)
            self.runtime.deliver(self.cycle_id)

    def absences(self, day: date) -> None:
        """Mark scripted people absent or back; their deputies are told of handed-over tasks."""
        rt = self.runtime
        with rt.register.session(actor="rehearsal", note="absence") as session:
            for key, (away, back) in self.script.absences.items():
                person = session.scalars(select(Person).where(
                    Person.cycle_id == self.cycle_id, Person.key == key)).one()
                if away <= day < back and not person.absent:
                    moved = mark_absent(session, person, rt.clock.now())
                elif day >= back and person.absent:
                    moved = mark_absent(session, person, rt.clock.now(), back=True)
                else:
                    continue
                self.log.append(f"{day} {key} {'back' if day >= back else 'absent'}")
                if moved:
                    session.flush()
                    builder = MessageBuilder(session, self.cycle_id, rt.links, rt.calendar, day)
                    rt.notifier.queue(session, [builder.new_task(a) for a in moved])

    def _escalated(self, session, assignment_id: int) -> bool:  # type: ignore[no-untyped-def]
        today = self.clock.today()
        return any(n.created_at.date() < today for n in session.scalars(select(Notification).where(
            Notification.assignment_id == assignment_id, Notification.kind == "escalation")))

    def respond(self, day: date) -> None:
        """Everyone whose moment has come acts: decides, uploads, runs an action or completes."""
        rt = self.runtime
        calendar = rt.calendar
        deferred: list[tuple[str, str | None, str]] = []
        with rt.register.session(actor="rehearsal") as session:
            rows = session.execute(
                select(Assignment, Task, Person).join(Task, Assignment.task_id == Task.id)
                .join(Person, Assignment.person_id == Person.id)
                .where(Assignment.cycle_id == self.cycle_id,
                       Assignment.state == AssignmentState.OPEN)).all()
            for assignment, task, person in rows:
                if assignment.state != AssignmentState.OPEN or task.state not in (
                        "open", "resubmission_required"):
                    continue
                if task.key in self.script.until_escalated:
                    if not self._escalated(session, assignment.id):
                        continue
                else:
                    offset = self.script.offsets.get(task.key, self.script.default_offset)
                    act_on = calendar.add_working_days(assignment.due_on, offset)
                    if day < max(act_on, assignment.assigned_at.date() + timedelta(days=1)):
                        continue
                if task.kind == "gate":
                    self._decide(session, task, person, day)
                elif task.key in self.script.actions or (
                        task.return_kind and self.script.returns is not None):
                    deferred.append((task.key, task.return_kind, person.key))
                else:
                    assignment.state = AssignmentState.COMPLETE
                    assignment.completed_at = rt.clock.now()
                    self.log.append(f"{day} {person.key} completed {task.key}")
                session.flush()
        # Uploads and actions run their own units of work (as the portal or CLI would).
        for task_key, kind, person_key in deferred:
            if task_key in self.script.actions:
                self.script.actions[task_key](rt, task_key, person_key)
                self.log.append(f"{day} {person_key} did {task_key}")
                continue
            attempt = self.attempts[(task_key, person_key)]
            self.attempts[(task_key, person_key)] += 1
            data, name = self.script.returns(kind, person_key, attempt)  # type: ignore[misc]
            outcome = submit_return(rt, self.cycle_id, task_key, person_key, data, name)
            self.log.append(f"{day} {person_key} uploaded {name} for {task_key}: "
                            f"{outcome.verdict}")

    def _decide(self, session, task: Task, person: Person, day: date) -> None:  # type: ignore[no-untyped-def]
        rounds = self.script.gate_rounds.get(task.key, [])
        n = self.gate_round[task.key]
        verdict = rounds[n] if n < len(rounds) else Verdict.APPROVE
        document = current_document(session, task.cycle_id,
                                    (task.settings.get("gate") or {}).get("document", "plan"))
        sha = document.sha256 if document else "0" * 64
        reason = "The gap in registered nurses is not funded; revise the action plan." \
            if verdict == Verdict.REJECT else None
        decide(session, task, person, verdict, sha, self.runtime.clock.now(),
               self.runtime.calendar, reason=reason, signature=person.name)
        self.log.append(f"{day} {person.key} decided {verdict} on {task.key}")
        if verdict == Verdict.REJECT:
            self.gate_round[task.key] += 1
