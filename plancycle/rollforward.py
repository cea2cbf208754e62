"""Next year's cycle from this year's: the annual refresh of the living plan.

Why: the plan is refreshed every year on the same rhythm, so next year's cycle file is this
year's with its calendar moved, not a new file written from scratch. :func:`roll_forward`
rewrites the YAML text (comments and order kept, via ruamel.yaml's round trip):

- the cycle's id, name and financial year, and the year label in every value (task names,
  instructions; comments stay as the planner wrote them);
- every *fixed* date moved to the same working-day position in the new financial year
  ("the 1st working day of April", "the 6th working day of January"), counted with England
  and Wales bank holidays, so a date never lands on Good Friday because Easter moved;
  relative dates (``{after: …}``, ``{working_days: N}``) are kept: they move by themselves;
- people and roles carried over unchanged, with a report of who may have left (no email or
  chat handle; messages that failed last year) for the planner to fix;
- a ``baseline:`` section naming last year's cycle, its accepted returns (sha256, file and
  row count: what the year-on-year checks compare with) and the Annex G actions still open,
  which :func:`plancycle.actions.carry_over` brings into the new cycle with their history.

The functional core is :func:`roll_forward` (text in, text and report out);
:func:`last_year` reads what it needs from the register.
"""

from __future__ import annotations

import difflib
import io
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from sqlalchemy import select
from sqlalchemy.orm import Session

from plancycle.calendar import WorkingCalendar, financial_year_bounds
from plancycle.config.loader import parse_config
from plancycle.config.problems import ConfigError, ConfigProblem
from plancycle.register.models import (
    Action,
    Cycle,
    DQResult,
    Notification,
    NotificationStatus,
    Person,
)

MONTHS = ("April", "May", "June", "July", "August", "September", "October", "November",
          "December", "January", "February", "March")


class RollForwardError(Exception):
    """The file cannot be rolled forward as asked (the message says what to change)."""


# --- working-day positions ---------------------------------------------------------------

def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


@dataclass(frozen=True)
class Position:
    """Where a date sits in its financial year: the ``nth`` working day of a month, or its
    last working day (a year-end deadline stays on the year's last working day).

    ``month`` counts from the financial year's April (0) to March (11); dates outside the
    year get months below 0 or above 11 and still move by whole years. Mapping positions is
    monotonic, so dates keep their order: dependencies stay in order.
    """

    month: int
    nth: int
    last: bool = False

    def describe(self) -> str:
        name = MONTHS[self.month % 12]
        if self.last:
            return f"the last working day of {name}"
        return f"the {_ordinal(self.nth)} working day of {name}"


def _month_start(fy_start: date, month: int) -> date:
    index = fy_start.year * 12 + (fy_start.month - 1) + month
    return date(index // 12, index % 12 + 1, 1)


def _month_days(first: date, calendar: WorkingCalendar) -> list[date]:
    nxt = _month_start(first, 1)
    return calendar.working_days(first, date.fromordinal(nxt.toordinal() - 1))


def position_of(day: date, fy_start: date, calendar: WorkingCalendar) -> tuple[Position, bool]:
    """The working-day position of ``day`` (a non-working day counts as the next working day
    of its month, or the month's last one); the flag says the day was not a working day."""
    month = (day.year * 12 + day.month) - (fy_start.year * 12 + fy_start.month)
    days = _month_days(date(day.year, day.month, 1), calendar)
    on_or_before = [d for d in days if d <= day]
    working = calendar.is_working_day(day)
    if working:
        return Position(month, len(on_or_before), last=day == days[-1]), False
    return Position(month, min(len(on_or_before) + 1, max(len(days), 1))), True


def place(position: Position, fy_start: date, calendar: WorkingCalendar) -> tuple[date, bool]:
    """The date at ``position`` in the financial year starting ``fy_start``; the flag says the
    month has fewer working days, so the month's last working day was used."""
    first = _month_start(fy_start, position.month)
    days = _month_days(first, calendar)
    if position.last:
        return days[-1], False
    if position.nth <= len(days):
        return days[position.nth - 1], False
    return days[-1], True


# --- the report --------------------------------------------------------------------------

@dataclass(frozen=True)
class MovedDate:
    path: str          # e.g. "stages[0].starts" or "stages[13].tasks[2].due"
    what: str          # "stage kickoff starts", "task x due"
    old: date
    new: date
    position: str      # "the 1st working day of April"
    note: str | None = None


@dataclass(frozen=True)
class PersonFlag:
    """Someone the planner should check before the new cycle starts."""

    person: str
    name: str
    reason: str


@dataclass(frozen=True)
class LastYearReturn:
    kind: str
    sha256: str
    file: str
    rows: int | None
    upload: int


@dataclass(frozen=True)
class LastYearAction:
    key: str
    action: str
    owner: str
    due: date
    measure_of_success: str
    rag: str | None


@dataclass
class LastYear:
    """What the register knows about last year's cycle that the roll-forward carries over."""

    cycle_id: str
    failures: dict[str, tuple[int, str | None]] = field(default_factory=dict)  # person key →
    returns: list[LastYearReturn] = field(default_factory=list)
    actions: list[LastYearAction] = field(default_factory=list)


@dataclass
class RollForward:
    """Next year's cycle file and everything the planner should look at before starting it."""

    source_year: str
    target_year: str
    previous_cycle_id: str
    cycle_id: str
    text: str
    moved: list[MovedDate] = field(default_factory=list)
    people: list[PersonFlag] = field(default_factory=list)
    baseline_returns: list[LastYearReturn] = field(default_factory=list)
    carried_actions: list[LastYearAction] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    problems: list[ConfigProblem] = field(default_factory=list)  # of the new file

    @property
    def valid(self) -> bool:
        return not self.problems

    def diff(self, old_text: str, old_name: str = "last year", new_name: str = "next year"
             ) -> str:
        return "".join(difflib.unified_diff(old_text.splitlines(keepends=True),
                                            self.text.splitlines(keepends=True),
                                            fromfile=old_name, tofile=new_name))


# --- the roll-forward --------------------------------------------------------------------

def _yaml() -> YAML:
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap a flow mapping: one task stays one line
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _year_pattern(label: str) -> re.Pattern[str]:
    first, second = label[:4], label[5:]
    return re.compile(rf"(?<!\d){first}([/\-]){second}(?!\d)")


def _relabel(node: Any, source: str, target: str) -> Any:
    """Every mention of the year label (2026/27, 2026-27) in the file's values (ids, names,
    instructions); comments are the planner's own words and stay as written."""
    pattern = _year_pattern(source)

    def swap(value: str) -> str:
        new = pattern.sub(lambda m: f"{target[:4]}{m.group(1)}{target[5:]}", value)
        return value if new == value else type(value)(new) if type(value) is not str else new

    if isinstance(node, dict):
        for key in list(node):
            new = _relabel(node[key], source, target)
            if new is not node[key]:
                node[key] = new
    elif isinstance(node, list):
        for i, item in enumerate(node):
            new = _relabel(item, source, target)
            if new is not item:
                node[i] = new
    elif isinstance(node, str):
        return swap(node)
    return node


def _flow(mapping: dict[str, Any]) -> CommentedMap:
    node = CommentedMap(mapping)
    node.fa.set_flow_style()
    return node


def roll_forward(text: str, to_year: str, last: LastYear | None = None,
                 calendar: WorkingCalendar | None = None) -> RollForward:
    """Roll a cycle file's text forward to financial year ``to_year`` (e.g. "2027/28")."""
    calendar = calendar or WorkingCalendar()
    yaml = _yaml()
    try:
        data = yaml.load(text)
    except Exception as exc:  # ruamel's errors carry the line
        raise RollForwardError(f"the file is not valid YAML ({exc}); fix it with "
                               "`plancycle config validate` first") from None
    cycle = data.get("cycle") if isinstance(data, dict) else None
    if not isinstance(cycle, dict) or "financial_year" not in cycle or "id" not in cycle:
        raise RollForwardError("the file has no cycle: section with id and financial_year; "
                               "start from cycle_config/trust_annual_cycle.yaml")
    source = str(cycle["financial_year"])
    try:
        old_start, _ = financial_year_bounds(source)
        new_start, _ = financial_year_bounds(to_year)
    except ValueError as exc:
        raise RollForwardError(f"{exc}; write the year as YYYY/YY, e.g. 2027/28") from None
    if new_start <= old_start:
        following = f"{old_start.year + 1}/{(old_start.year + 2) % 100:02d}"
        raise RollForwardError(
            f"--to {to_year} is not after the file's financial year {source}; roll forward to "
            f"a later year, e.g. --to {following}")
    previous_id, previous_name = str(cycle["id"]), str(cycle.get("name", ""))

    # 1. The year label in every value (ids, names, instructions).
    _relabel(data, source, to_year)
    result = RollForward(source, to_year, previous_id, str(cycle["id"]), "")
    if cycle["id"] == previous_id:  # no year in the id: the new cycle still needs its own
        cycle["id"] = f"{previous_id}-{to_year.replace('/', '-')}"
    if str(cycle.get("name", "")) == previous_name:  # no year in the name either
        cycle["name"] = f"{previous_name} {to_year}".strip()
    cycle["financial_year"] = to_year
    result.cycle_id = str(cycle["id"])

    # 2. Fixed dates to the same working-day position.
    for i, stage in enumerate(data.get("stages") or []):
        if not isinstance(stage, dict):
            continue
        sid = stage.get("id", f"#{i}")
        for key in ("starts", "ends"):
            if isinstance(stage.get(key), date):
                stage[key] = _move(result, f"stages[{i}].{key}", f"stage {sid} {key}",
                                   stage[key], old_start, new_start, calendar)
        for j, task in enumerate(stage.get("tasks") or []):
            if isinstance(task, dict) and isinstance(task.get("due"), date):
                task["due"] = _move(result, f"stages[{i}].tasks[{j}].due",
                                    f"task {task.get('id', f'#{j}')} due", task["due"],
                                    old_start, new_start, calendar)

    # 3. People carried over; flag who may have left.
    result.people = _people_flags(data.get("people") or [], last)

    # 4. Baseline: last year's cycle, accepted returns and open actions.
    if "baseline" in data:
        del data["baseline"]  # an older baseline (two years back) no longer applies
    if last is None:
        result.notes.append(
            "no register with last year's cycle was available: no baseline returns or open "
            "actions were carried (run with --register, or where PLANCYCLE_HOME has it)")
    else:
        result.baseline_returns = list(last.returns)
        result.carried_actions = list(last.actions)
        data["baseline"] = _baseline(last)
        if not last.returns:
            result.notes.append(f"last year's cycle {last.cycle_id} has no accepted returns "
                                "in the register: no comparison baseline")
        data.yaml_set_comment_before_after_key(
            "baseline", before=(
                f"\nLast year ({source}), written by `plancycle cycle roll-forward`: the "
                "accepted returns\nthis year's are compared with, and the Annex G actions "
                "still open (carried over)."))

    out = io.StringIO()
    yaml.dump(data, out)
    result.text = out.getvalue()
    try:
        parse_config(result.text, file=f"<{result.cycle_id}>", calendar=calendar)
    except ConfigError as exc:
        result.problems = list(exc.problems)
    return result


def _move(result: RollForward, path: str, what: str, old: date, old_start: date,
          new_start: date, calendar: WorkingCalendar) -> date:
    position, shifted = position_of(old, old_start, calendar)
    new, clamped = place(position, new_start, calendar)
    note = None
    if shifted:
        note = f"{old:%a %d %b %Y} is not a working day: placed on {position.describe()}"
    elif clamped:
        note = (f"{MONTHS[position.month % 12]} {new.year} has fewer working days: "
                "its last working day was used")
    result.moved.append(MovedDate(path, what, old, new, position.describe(), note))
    return new


def _people_flags(people: CommentedSeq | list[Any], last: LastYear | None) -> list[PersonFlag]:
    flags = []
    for person in people:
        if not isinstance(person, dict):
            continue
        key, name = str(person.get("id", "?")), str(person.get("name", person.get("id", "?")))
        if not person.get("email") and not person.get("chat"):
            flags.append(PersonFlag(key, name, "no email or chat handle: they cannot be "
                                               "chased (have they left?) — add one or remove "
                                               "them and hand their roles on"))
        if person.get("absent"):
            flags.append(PersonFlag(key, name, "marked absent last year: check they are back "
                                               "(remove 'absent: true') or hand their roles on"))
        if last is not None and key in last.failures:
            count, error = last.failures[key]
            flags.append(PersonFlag(
                key, name, f"{count} message{'s' if count != 1 else ''} to them failed last year"
                + (f" (last error: {error})" if error else "")
                + ": check their address, or whether they have left"))
    return flags


def _baseline(last: LastYear) -> CommentedMap:
    baseline = CommentedMap()
    baseline["cycle"] = last.cycle_id
    returns = CommentedSeq()
    for r in last.returns:
        entry: dict[str, Any] = {"kind": r.kind, "sha256": r.sha256, "file": r.file}
        if r.rows is not None:
            entry["rows"] = r.rows
        entry["upload"] = r.upload
        returns.append(_flow(entry))
    baseline["returns"] = returns
    actions = CommentedSeq()
    for a in last.actions:
        entry = {"key": a.key, "action": a.action, "owner": a.owner, "due": a.due,
                 "measure_of_success": a.measure_of_success}
        if a.rag:
            entry["rag"] = a.rag
        actions.append(_flow(entry))
    baseline["actions"] = actions
    return baseline


# --- what the register says about last year -----------------------------------------------

def last_year(session: Session, cycle_id: str) -> LastYear | None:
    """Failed messages per person, accepted returns and open actions of ``cycle_id``."""
    from plancycle.uploads import accepted_returns

    if session.get(Cycle, cycle_id) is None:
        return None
    last = LastYear(cycle_id)
    rows = session.execute(
        select(Person.key, Notification.last_error)
        .join(Person, Notification.person_id == Person.id)
        .where(Notification.cycle_id == cycle_id,
               Notification.status == NotificationStatus.FAILED)
        .order_by(Notification.id)).all()
    for key, error in rows:
        count, _ = last.failures.get(key, (0, None))
        last.failures[key] = (count + 1, error)
    for kind, upload in sorted(accepted_returns(session, cycle_id).items()):
        result = session.scalar(select(DQResult).where(DQResult.upload_id == upload.id))
        rows_count = result.report.get("row_count") if result is not None else None
        last.returns.append(LastYearReturn(kind, upload.sha256, upload.stored_path,
                                           int(rows_count) if rows_count is not None else None,
                                           upload.id))
    for action in session.scalars(select(Action).where(
            Action.cycle_id == cycle_id, Action.status == "open").order_by(Action.id)):
        last.actions.append(LastYearAction(action.key, action.text, action.owner_role,
                                           action.due_on, action.measure_of_success, action.rag))
    return last


def baseline_row_count(session: Session, cycle_id: str, kind: str) -> int | None:
    """Rows in last year's accepted ``kind`` return as the cycle's ``baseline:`` records it.

    For the year-on-year row-count check (``ValidationContext(previous_row_count=...)``)
    when last year's cycle is not in this register (a new installation, another server).
    """
    cycle = session.get(Cycle, cycle_id)
    if cycle is None:
        return None
    try:
        config = parse_config(cycle.config_text, file=cycle.config_path)
    except ConfigError:
        return None
    if config.baseline is None:
        return None
    rows = [r.rows for r in config.baseline.returns if r.kind == kind and r.rows is not None]
    return rows[-1] if rows else None
