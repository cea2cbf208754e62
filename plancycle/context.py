"""What a service is handed by the composition root (``plancycle.runtime``).

Services such as uploads, submission and the ICS roll-up need the register, the clock, the
working calendar, the notifier and the task links, and three cycle operations: ``advance``
(reconcile the cycle with today, queue "new task" messages), ``chase`` (queue the day's
reminders and escalations) and ``deliver`` (send what is queued). They depend on this
protocol, not on ``Runtime`` itself, so imports point one way: entrypoints → runtime →
services → domain. Tests may hand in anything with this shape.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from datetime import date

    from plancycle.calendar import WorkingCalendar
    from plancycle.chaser import ChaseResult
    from plancycle.clock import Clock
    from plancycle.engine import Progress
    from plancycle.links import TaskLinks
    from plancycle.notify.service import DeliveryReport, Notifier
    from plancycle.register import Register


class CycleContext(Protocol):
    register: Register
    clock: Clock
    calendar: WorkingCalendar
    notifier: Notifier
    links: TaskLinks

    def advance(self, cycle_id: str, actor: str = "engine") -> Progress: ...

    def chase(self, cycle_id: str, as_of: date | None = None) -> ChaseResult: ...

    def deliver(self, cycle_id: str | None = None) -> DeliveryReport: ...
