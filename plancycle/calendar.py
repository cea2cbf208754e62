"""Working-day arithmetic with England and Wales bank holidays.

Due dates and chasing are counted in working days ("due 10 working days after the stage
starts"), so Christmas and Easter move deadlines instead of landing reminders on a holiday.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

import holidays

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import ArrayLike, NDArray


@lru_cache(maxsize=64)
def _bank_holidays(year: int) -> frozenset[date]:
    # England and Wales share the same bank holidays; holidays' "ENG" subdivision has them.
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year).keys())


class WorkingCalendar:
    """Weekdays that are not England and Wales bank holidays (plus any extra closures)."""

    def __init__(self, extra_closures: frozenset[date] | set[date] = frozenset()) -> None:
        self.extra_closures = frozenset(extra_closures)

    def is_bank_holiday(self, day: date) -> bool:
        return day in _bank_holidays(day.year)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and not self.is_bank_holiday(day) and (
            day not in self.extra_closures
        )

    def closure(self, day: date) -> str | None:
        """Why ``day`` is not a working day, in words ("Saturday", "Early May Bank Holiday"),
        or None when it is one."""
        if day.weekday() >= 5:
            return f"{day:%A}"
        if self.is_bank_holiday(day):
            name = holidays.country_holidays("GB", subdiv="ENG", years=day.year).get(day)
            return f"a bank holiday ({name})" if name else "a bank holiday"
        if day in self.extra_closures:
            return "a closure day"
        return None

    def next_working_day(self, day: date) -> date:
        """``day`` itself if it is a working day, else the next one."""
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def previous_working_day(self, day: date) -> date:
        while not self.is_working_day(day):
            day -= timedelta(days=1)
        return day

    def add_working_days(self, day: date, n: int) -> date:
        """Move ``n`` working days from ``day`` (negative goes back).

        ``n == 0`` rolls a non-working day forward to the next working day.
        """
        if n == 0:
            return self.next_working_day(day)
        step = 1 if n > 0 else -1
        remaining = abs(n)
        while remaining:
            day += timedelta(days=step)
            if self.is_working_day(day):
                remaining -= 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after ``start`` up to and including ``end`` (negative if end < start).

        ``working_days_between(d, add_working_days(d, n)) == n`` for working days ``d``.
        """
        if end == start:
            return 0
        sign = 1 if end > start else -1
        lo, hi = (start, end) if sign > 0 else (end, start)
        count = 0
        day = lo + timedelta(days=1)
        while day <= hi:
            if self.is_working_day(day):
                count += 1
            day += timedelta(days=1)
        return sign * count

    def working_days(self, start: date, end: date) -> list[date]:
        """All working days in ``[start, end]``."""
        days = []
        day = start
        while day <= end:
            if self.is_working_day(day):
                days.append(day)
            day += timedelta(days=1)
        return days


def financial_year_bounds(label: str) -> tuple[date, date]:
    """``"2026/27"`` → (1 April 2026, 31 March 2027)."""
    first, _, second = label.partition("/")
    if not (first.isdigit() and len(first) == 4 and second.isdigit() and len(second) == 2):
        raise ValueError(f"financial year {label!r} must look like 2026/27")
    start_year = int(first)
    if (start_year + 1) % 100 != int(second):
        raise ValueError(f"financial year {label!r}: {second} does not follow {first}")
    return date(start_year, 4, 1), date(start_year + 1, 3, 31)


def working_days_between_many(
    calendar: WorkingCalendar, start: date, ends: list[date]
) -> list[int]:
    """Vectorised :meth:`WorkingCalendar.working_days_between` from one start to many ends.

    The chaser asks this for every open assignment at once; numpy's business-day counter
    with the bank-holiday list keeps a 10,000-assignment pass cheap.
    """
    import numpy as np

    if not ends:
        return []
    lo = min(min(ends), start)
    hi = max(max(ends), start)
    closures = [d for year in range(lo.year, hi.year + 2) for d in _bank_holidays(year)]
    closures += list(calendar.extra_closures)
    one = np.timedelta64(1, "D")
    first = np.datetime64(start, "D") + one
    last = np.array(ends, dtype="datetime64[D]") + one
    lo_, hi_ = np.minimum(first, last), np.maximum(first, last)
    count = np.busday_count(lo_, hi_, holidays=np.array(closures, dtype="datetime64[D]"))
    return np.where(last >= first, count, -count).tolist()


def _closures(calendar: WorkingCalendar, first_year: int, last_year: int) -> list[date]:
    closures = [d for year in range(first_year, last_year + 1) for d in _bank_holidays(year)]
    return closures + list(calendar.extra_closures)


def working_days_between_arrays(
    calendar: WorkingCalendar, starts: ArrayLike, ends: ArrayLike
) -> NDArray[np.int64]:
    """Element-wise :meth:`WorkingCalendar.working_days_between` for two equal-length
    ``datetime64[D]`` arrays (numpy int64 array out): one call for a whole chaser pass."""
    import numpy as np

    first = np.asarray(starts, dtype="datetime64[D]")
    last = np.asarray(ends, dtype="datetime64[D]")
    if not len(first):
        return np.zeros(0, dtype=np.int64)
    years = np.concatenate([first, last]).astype("datetime64[Y]").astype(int) + 1970
    closures = _closures(calendar, int(years.min()), int(years.max()) + 1)
    one = np.timedelta64(1, "D")
    first, last = first + one, last + one
    lo, hi = np.minimum(first, last), np.maximum(first, last)
    count = np.busday_count(lo, hi, holidays=np.array(closures, dtype="datetime64[D]"))
    return np.where(last >= first, count, -count).astype(np.int64)
