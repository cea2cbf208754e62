"""Injected time: every "now" in plancycle comes from a Clock.

A planning year has to be rehearsed in seconds (tests, ``make demo``), so nothing reads the
system clock directly; the engine, chaser and portal are handed a Clock instead.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Protocol, runtime_checkable
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


@runtime_checkable
class Clock(Protocol):
    """Something that knows what time it is (timezone-aware, Europe/London by default)."""

    def now(self) -> datetime: ...

    def today(self) -> date: ...


class SystemClock:
    """The real wall clock, in the organisation's timezone."""

    def __init__(self, tz: ZoneInfo = LONDON) -> None:
        self.tz = tz

    def now(self) -> datetime:
        return datetime.now(self.tz)

    def today(self) -> date:
        return self.now().date()


class SimulatedClock:
    """A clock that only moves when told to, so a whole year can be simulated."""

    def __init__(self, start: datetime | date, tz: ZoneInfo = LONDON) -> None:
        self.tz = tz
        self._now = _aware(start, tz)

    def now(self) -> datetime:
        return self._now

    def today(self) -> date:
        return self._now.date()

    def set(self, when: datetime | date) -> None:
        """Jump to ``when``; refuses to go backwards because history is append-only."""
        target = _aware(when, self.tz)
        if target < self._now:
            raise ValueError(f"simulated clock cannot go back from {self._now} to {target}")
        self._now = target

    def advance(self, days: int = 0, hours: float = 0) -> datetime:
        self.set(self._now + timedelta(days=days, hours=hours))
        return self._now


def _aware(when: datetime | date, tz: ZoneInfo) -> datetime:
    if isinstance(when, datetime):
        return when if when.tzinfo else when.replace(tzinfo=tz)
    return datetime.combine(when, time(9, 0), tzinfo=tz)


def clock_at(day: date | None) -> Clock:
    """A system clock, or a frozen one at 09:00 on ``day`` (CLI ``--as-of``)."""
    return SystemClock() if day is None else SimulatedClock(day)
