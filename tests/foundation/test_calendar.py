"""Working days in England and Wales, the financial year, and the injected clock.

Deadlines are counted in working days, so these scenarios walk a planner's deadlines across
the bank holidays of the 2026/27 cycle: Easter 2026, the May bank holidays, Christmas with a
substitute Boxing Day, New Year 2027 and an early Easter 2027 inside the same financial year.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from plancycle.calendar import WorkingCalendar, financial_year_bounds
from plancycle.clock import LONDON, Clock, SimulatedClock, SystemClock, clock_at

CAL = WorkingCalendar()

ENGLAND_AND_WALES_2026_27 = {
    date(2026, 4, 3): "Good Friday",
    date(2026, 4, 6): "Easter Monday",
    date(2026, 5, 4): "Early May bank holiday",
    date(2026, 5, 25): "Spring bank holiday",
    date(2026, 8, 31): "Summer bank holiday",
    date(2026, 12, 25): "Christmas Day (Friday)",
    date(2026, 12, 28): "Boxing Day, substitute for Saturday 26 December",
    date(2027, 1, 1): "New Year's Day",
    date(2027, 3, 26): "Good Friday 2027",
    date(2027, 3, 29): "Easter Monday 2027",
}


def d(text: str) -> date:
    return date.fromisoformat(text)


# --- which days are working days ------------------------------------------------------------

@pytest.mark.parametrize("day", sorted(ENGLAND_AND_WALES_2026_27),
                         ids=lambda day: day.isoformat())
def test_every_bank_holiday_of_the_cycle_is_not_a_working_day(day: date) -> None:
    assert CAL.is_bank_holiday(day), ENGLAND_AND_WALES_2026_27[day]
    assert not CAL.is_working_day(day)


def test_financial_year_2026_27_loses_exactly_these_weekdays_to_bank_holidays() -> None:
    start, end = financial_year_bounds("2026/27")
    weekdays = [start + timedelta(n) for n in range((end - start).days + 1)
                if (start + timedelta(n)).weekday() < 5]
    assert {day for day in weekdays if CAL.is_bank_holiday(day)} == set(ENGLAND_AND_WALES_2026_27)
    assert len(CAL.working_days(start, end)) == len(weekdays) - 10 == 251


def test_christmas_2026_falls_on_a_friday_so_boxing_day_moves_to_monday() -> None:
    assert d("2026-12-25").strftime("%A") == "Friday"
    assert d("2026-12-26").strftime("%A") == "Saturday"
    assert not CAL.is_working_day(d("2026-12-26"))   # a weekend day either way
    assert CAL.is_bank_holiday(d("2026-12-28"))      # the substitute day
    assert CAL.working_days(d("2026-12-24"), d("2027-01-05")) == [
        d("2026-12-24"), d("2026-12-29"), d("2026-12-30"), d("2026-12-31"),
        d("2027-01-04"), d("2027-01-05")]


@pytest.mark.parametrize("day, why", [
    ("2026-01-02", "2 January is a holiday in Scotland only"),
    ("2026-03-17", "St Patrick's Day is a holiday in Northern Ireland only"),
    ("2026-07-13", "the Twelfth's substitute day is a Northern Ireland holiday"),
    ("2026-08-03", "the Scottish summer bank holiday is the first Monday of August"),
    ("2026-11-30", "St Andrew's Day is a holiday in Scotland only"),
])
def test_holidays_of_the_other_nations_are_working_days_in_england(day: str, why: str) -> None:
    assert CAL.is_working_day(d(day)), why


def test_weekends_are_not_working_days_and_an_ordinary_weekday_is() -> None:
    assert CAL.is_working_day(d("2026-04-01"))            # Wednesday, the first day of FY
    assert not CAL.is_working_day(d("2026-04-11"))        # Saturday
    assert not CAL.is_working_day(d("2026-04-12"))        # Sunday


def test_a_trust_closure_day_is_not_a_working_day() -> None:
    closed = WorkingCalendar({d("2026-04-08")})
    assert not closed.is_working_day(d("2026-04-08"))
    assert closed.add_working_days(d("2026-04-07"), 1) == d("2026-04-09")
    assert CAL.add_working_days(d("2026-04-07"), 1) == d("2026-04-08")


# --- moving deadlines ------------------------------------------------------------------------

@pytest.mark.parametrize("start, n, expected, scenario", [
    ("2026-04-02", 1, "2026-04-07", "Maundy Thursday + 1 skips the whole Easter weekend"),
    ("2026-04-01", 5, "2026-04-10", "first week of the cycle loses two days to Easter"),
    ("2026-05-01", 1, "2026-05-05", "early May bank holiday"),
    ("2026-05-22", 1, "2026-05-26", "spring bank holiday"),
    ("2026-08-28", 1, "2026-09-01", "summer bank holiday"),
    ("2026-12-24", 1, "2026-12-29", "Christmas Eve + 1 skips Christmas and the substitute day"),
    ("2026-12-24", 4, "2027-01-04", "into the new year past New Year's Day"),
    ("2026-12-31", 1, "2027-01-04", "New Year's Eve + 1"),
    ("2027-03-25", 1, "2027-03-30", "Easter 2027 is in the last week of the financial year"),
    ("2027-03-24", 5, "2027-04-02", "five days from 24 March 2027 leave the financial year"),
    ("2026-04-04", 1, "2026-04-07", "from Easter Saturday, the next working day is Tuesday"),
])
def test_add_working_days_forwards(start: str, n: int, expected: str, scenario: str) -> None:
    assert CAL.add_working_days(d(start), n) == d(expected), scenario


@pytest.mark.parametrize("start, n, expected, scenario", [
    ("2026-04-07", -1, "2026-04-02", "Tuesday after Easter - 1 is Maundy Thursday"),
    ("2026-05-05", -1, "2026-05-01", "back over the early May bank holiday"),
    ("2026-12-29", -1, "2026-12-24", "back over Christmas and the substitute day"),
    ("2027-01-04", -4, "2026-12-24", "back over New Year and Christmas"),
    ("2027-03-30", -1, "2027-03-25", "back over Easter 2027"),
    ("2026-04-05", -1, "2026-04-02", "from Easter Sunday, the previous working day"),
])
def test_add_working_days_backwards(start: str, n: int, expected: str, scenario: str) -> None:
    assert CAL.add_working_days(d(start), n) == d(expected), scenario


@pytest.mark.parametrize("start, expected", [
    ("2026-04-01", "2026-04-01"),   # a working day stays put
    ("2026-04-03", "2026-04-07"),   # Good Friday rolls over the Easter weekend
    ("2026-04-11", "2026-04-13"),   # Saturday rolls to Monday
    ("2026-12-25", "2026-12-29"),   # Christmas rolls past the substitute Boxing Day
    ("2027-03-26", "2027-03-30"),   # Good Friday 2027
])
def test_zero_working_days_rolls_a_non_working_day_forward(start: str, expected: str) -> None:
    assert CAL.add_working_days(d(start), 0) == d(expected)
    assert CAL.next_working_day(d(start)) == d(expected)


def test_previous_working_day_rolls_back() -> None:
    assert CAL.previous_working_day(d("2026-12-28")) == d("2026-12-24")
    assert CAL.previous_working_day(d("2026-04-06")) == d("2026-04-02")
    assert CAL.previous_working_day(d("2026-04-07")) == d("2026-04-07")


# --- counting working days --------------------------------------------------------------------

@pytest.mark.parametrize("start, end, expected", [
    ("2026-04-01", "2026-04-01", 0),
    ("2026-04-02", "2026-04-07", 1),      # over Easter
    ("2026-04-07", "2026-04-02", -1),
    ("2026-04-08", "2026-04-20", 8),      # 8 working days overdue on 20 April
    ("2026-12-24", "2027-01-04", 4),
    ("2026-04-01", "2027-03-31", 250),    # the rest of the financial year after 1 April
])
def test_working_days_between(start: str, end: str, expected: int) -> None:
    assert CAL.working_days_between(d(start), d(end)) == expected


def test_adding_then_counting_gets_back_to_the_same_number_all_year() -> None:
    """working_days_between(d, add_working_days(d, n)) == n for every working day d."""
    first = d("2026-03-01")
    starts = [first + timedelta(i) for i in range(440)]   # Mar 2026 to mid-May 2027
    checked = 0
    for start in starts:
        for n in (-23, -10, -5, -2, -1, 0, 1, 2, 3, 5, 10, 15, 23, 40):
            end = CAL.add_working_days(start, n)
            assert CAL.is_working_day(end), (start, n, end)
            if CAL.is_working_day(start):
                assert CAL.working_days_between(start, end) == n, (start, n, end)
                checked += 1
            elif n > 0:
                # From a weekend or holiday, n days on is n days on from the day before it.
                assert end == CAL.add_working_days(CAL.previous_working_day(start), n)
            elif n < 0:
                assert end == CAL.add_working_days(CAL.next_working_day(start), n)
    assert checked > 3000


def test_counting_is_antisymmetric_and_additive() -> None:
    days = [d("2026-03-27") + timedelta(i * 17) for i in range(24)]
    for a in days:
        for b in days[::2]:
            ab = CAL.working_days_between(a, b)
            assert ab == -CAL.working_days_between(b, a)
            for c in days[::6]:
                assert ab + CAL.working_days_between(b, c) == CAL.working_days_between(a, c)


def test_listing_working_days_agrees_with_counting_them() -> None:
    for start, end in [("2026-03-30", "2026-04-10"), ("2026-12-21", "2027-01-08"),
                       ("2027-03-22", "2027-03-31"), ("2026-04-01", "2027-03-31")]:
        listed = CAL.working_days(d(start), d(end))
        assert all(CAL.is_working_day(day) for day in listed)
        assert len(listed) == CAL.working_days_between(d(start) - timedelta(1), d(end))
    assert CAL.working_days(d("2027-03-22"), d("2027-03-31")) == [
        d("2027-03-22"), d("2027-03-23"), d("2027-03-24"), d("2027-03-25"),
        d("2027-03-30"), d("2027-03-31")]


# --- financial year -----------------------------------------------------------------------

@pytest.mark.parametrize("label, bounds", [
    ("2026/27", (date(2026, 4, 1), date(2027, 3, 31))),
    ("2027/28", (date(2027, 4, 1), date(2028, 3, 31))),
    ("1999/00", (date(1999, 4, 1), date(2000, 3, 31))),   # across the century
])
def test_financial_year_runs_april_to_march(label: str, bounds: tuple[date, date]) -> None:
    assert financial_year_bounds(label) == bounds


@pytest.mark.parametrize("label, says", [
    ("2026/28", "28 does not follow 2026"),
    ("2026/26", "26 does not follow 2026"),
    ("2026-27", "must look like 2026/27"),
    ("26/27", "must look like 2026/27"),
    ("2026/2027", "must look like 2026/27"),
    ("2026/", "must look like 2026/27"),
    ("", "must look like 2026/27"),
    ("FY26/27", "must look like 2026/27"),
])
def test_a_malformed_financial_year_is_refused_with_a_reason(label: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        financial_year_bounds(label)


# --- the clock ------------------------------------------------------------------------------

def test_a_simulated_clock_starts_at_nine_in_london_on_a_date() -> None:
    clock = SimulatedClock(d("2026-04-01"))
    assert clock.now() == datetime(2026, 4, 1, 9, 0, tzinfo=LONDON)
    assert clock.now().utcoffset() == timedelta(hours=1)   # British Summer Time
    assert clock.today() == d("2026-04-01")
    assert isinstance(clock, Clock)


def test_a_simulated_clock_adopts_london_for_naive_times_and_keeps_aware_ones() -> None:
    assert SimulatedClock(datetime(2026, 12, 1, 14, 30)).now() == datetime(
        2026, 12, 1, 14, 30, tzinfo=LONDON)
    aware = datetime(2026, 12, 1, 14, 30, tzinfo=UTC)
    assert SimulatedClock(aware).now() == aware


def test_a_simulated_clock_moves_forward_through_the_clocks_changing() -> None:
    clock = SimulatedClock(datetime(2026, 10, 23, 9, 0, tzinfo=LONDON))
    clock.advance(days=3)                     # clocks go back on Sunday 25 October 2026
    assert clock.now() == datetime(2026, 10, 26, 9, 0, tzinfo=LONDON)
    assert clock.now().utcoffset() == timedelta(0)
    clock.advance(hours=1.5)
    assert clock.now() == datetime(2026, 10, 26, 10, 30, tzinfo=LONDON)
    clock.set(d("2026-12-24"))
    assert clock.today() == d("2026-12-24")
    clock.set(clock.now())                    # standing still is allowed


def test_a_simulated_clock_refuses_to_go_back() -> None:
    clock = SimulatedClock(datetime(2026, 5, 1, 9, 0, tzinfo=LONDON))
    with pytest.raises(ValueError, match="cannot go back"):
        clock.set(datetime(2026, 5, 1, 8, 59, 59, tzinfo=LONDON))
    with pytest.raises(ValueError, match="cannot go back"):
        clock.set(d("2026-04-30"))
    with pytest.raises(ValueError, match="cannot go back"):
        clock.advance(days=-1)
    assert clock.now() == datetime(2026, 5, 1, 9, 0, tzinfo=LONDON)   # unchanged


def test_clock_at_freezes_a_day_or_reads_the_wall_clock() -> None:
    frozen = clock_at(d("2026-04-20"))
    assert isinstance(frozen, SimulatedClock)
    assert frozen.now() == datetime(2026, 4, 20, 9, 0, tzinfo=LONDON)
    assert frozen.today() == d("2026-04-20")

    wall = clock_at(None)
    assert isinstance(wall, SystemClock) and isinstance(wall, Clock)
    now = wall.now()
    assert now.tzinfo is not None
    assert abs(now - datetime.now(UTC)) < timedelta(minutes=1)
    assert wall.today() == now.date()
