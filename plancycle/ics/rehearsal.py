"""Rehearsing a system year: the ICS cycle and its organisations' cycles on one clock.

Each organisation keeps its own :class:`plancycle.simulation.Rehearsal` (its script: who is
late, which gate rejects) and the system cycle has one too. Every simulated working day the
organisations' people act and their cycles are reconciled and chased — standing in for each
organisation's own scheduled annual-cycle runs and the daily chaser — and then the system
cycle's people act and it is chased. The roll-up flow itself only follows (it waits on
:meth:`SystemRehearsal.wait` between passes).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

from plancycle.clock import SimulatedClock
from plancycle.runtime import Runtime
from plancycle.simulation import Rehearsal


@dataclass
class SystemRehearsal:
    runtime: Runtime
    system: Rehearsal
    organisations: Sequence[Rehearsal]
    end: date
    #: Actions each day after the organisations' people and before the system's (e.g. an
    #: escalated exec sponsor making their planner submit).
    hooks: list[Callable[[Runtime, date], None]] = field(default_factory=list)
    days: int = 0

    @property
    def clock(self) -> SimulatedClock:
        clock = self.runtime.clock
        assert isinstance(clock, SimulatedClock), "a rehearsal needs a SimulatedClock"
        return clock

    def wait(self, _seconds: float) -> None:
        """Move to the next working day; everyone acts; every cycle is reconciled and chased."""
        rt = self.runtime
        day = rt.calendar.add_working_days(self.clock.today(), 1)
        if day > self.end:
            raise RuntimeError(f"system rehearsal of {self.system.cycle_id} ran past "
                               f"{self.end} unfinished")
        self.clock.set(day)
        self.days += 1
        for org in self.organisations:
            org.absences(day)
            for hook in org.script.hooks:
                hook(rt, day)
            org.respond(day)
            rt.advance(org.cycle_id, actor="rehearsal")
            rt.chase(org.cycle_id, day)
            rt.deliver(org.cycle_id)
        for hook in self.hooks:
            hook(rt, day)
        self.system.absences(day)
        for hook in self.system.script.hooks:
            hook(rt, day)
        self.system.respond(day)
        rt.chase(self.system.cycle_id, day)
        rt.deliver(self.system.cycle_id)
