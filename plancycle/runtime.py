"""The composition root: wires the register, clock, calendar, notifier and links together.

Flows, the CLI and the portal ask for ``current()``; production builds it from the
environment, tests and the demo install their own (simulated clock, test SMTP server)
with ``use()``. This is the only place that decides which real parts are plugged in.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from plancycle.calendar import WorkingCalendar
from plancycle.clock import Clock, SystemClock
from plancycle.links import RegisterRevocations, TaskLinks, link_secret
from plancycle.notify.channels import AppriseChannels, Channels
from plancycle.notify.service import DeliveryReport, Notifier
from plancycle.register import Register

if TYPE_CHECKING:  # the services are imported where used: a command that reads pays less
    from plancycle import chaser, engine


@dataclass
class Runtime:
    register: Register
    clock: Clock
    calendar: WorkingCalendar
    notifier: Notifier
    links: TaskLinks
    #: How the cycle flow waits between passes: real sleep, or a simulated day (rehearsals).
    waiter: Callable[[float], None] = field(default=time.sleep)

    def wait(self, seconds: float) -> None:
        self.waiter(seconds)

    @classmethod
    def build(cls, clock: Clock | None = None, register: Register | None = None,
              channels: Channels | None = None, database_url: str | None = None,
              portal_url: str | None = None) -> Runtime:
        clock = clock or SystemClock()
        register = register or Register(database_url, clock=clock)
        register.clock = clock
        register.migrate()
        notifier = Notifier(channels or AppriseChannels.from_env(), clock)
        links = TaskLinks(link_secret(), portal_url, clock,
                          revocations=RegisterRevocations(register))
        return cls(register, clock, WorkingCalendar(), notifier, links)

    def advance(self, cycle_id: str, actor: str = "engine") -> engine.Progress:
        """Reconcile the cycle with today's date and queue 'new task' messages."""
        from plancycle import engine, signoff
        from plancycle.notify.messages import MessageBuilder

        with self.register.session(actor=actor) as session:
            progress = engine.reconcile(session, cycle_id, self.clock.today(), self.clock.now())
            if progress.new_assignments:
                builder = MessageBuilder(session, cycle_id, self.links, self.calendar,
                                         self.clock.today())
                self.notifier.queue(session, [builder.new_task(a)
                                              for a in progress.new_assignments])
            # Approval requests for open gates with a document to approve, and notices of
            # rejections, whoever decided (CLI, portal, flow): keyed, so a pass with nothing
            # new queues nothing.
            signoff.queue_gate_messages(session, cycle_id, self.notifier, self.links,
                                        self.calendar, self.clock.today(),
                                        require_document=True)
        return progress

    def chase(self, cycle_id: str, as_of: date | None = None) -> chaser.ChaseResult:
        """Queue today's chase steps. Two passes for the same day at once (two workers, a
        planner re-running a missed day) queue each step once: the notifications' unique
        keys make the slower pass write nothing twice, and a pass that collides on another
        row (a calendar entry both created) starts again and finds the steps handled."""
        from sqlalchemy.exc import IntegrityError

        from plancycle import chaser

        for attempt in range(1, 4):
            try:
                with self.register.session(actor="chaser") as session:
                    return chaser.chase(session, cycle_id, as_of or self.clock.today(),
                                        self.notifier, self.links, self.calendar)
            except IntegrityError:
                if attempt == 3:
                    raise
        raise AssertionError("unreachable")

    def deliver(self, cycle_id: str | None = None) -> DeliveryReport:
        with self.register.session(actor="notifier") as session:
            return self.notifier.deliver(session, cycle_id)


_current: Runtime | None = None


def current() -> Runtime:
    """The runtime in use; built from the environment on first use."""
    global _current
    if _current is None:
        _current = Runtime.build()
    return _current


@contextmanager
def use(runtime: Runtime) -> Iterator[Runtime]:
    """Install ``runtime`` for the duration of a block (tests, demo)."""
    global _current
    previous, _current = _current, runtime
    try:
        yield runtime
    finally:
        _current = previous
