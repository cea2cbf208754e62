"""Bench: one chaser planning pass over 10,000 open assignments against hand-written SQL.

    .venv/bin/python bench/chaser.py [--assignments 10000] [--today 2026-05-06] [--repeat 9]

Builds a SQLite register in a temporary directory: the sample cycle, then (SQLAlchemy core,
for speed; synthetic rows, so not audited) 1,500 more people, 400 more open tasks with six
different chasing policies and due dates spread over ±45 working days, the open
assignments (plus a quarter as many completed ones that must be ignored), assignment times
that include just-after-midnight passes, and three weeks of chasing history: the
notifications the chaser would have queued on each earlier working day (email and chat;
one per escalation target; digest markers), so that "already handled" is real work.

Then, in the same process and on the same connection pool, it times

(a) ``plancycle.chaser.plan(session, cycle_id, today)`` — one planning pass deciding every
    reminder, due, overdue and escalation step due today and not yet handled; and
(b) one hand-written SQL query (``sqlalchemy.text``) selecting the same rows: open
    assignments joined with their tasks, working days counted with a precomputed calendar
    table (``N(day)`` = working days up to ``day``, so ``between(a, b) = N(b) - N(a)``), the
    policy read from the task's JSON with ``json_each``, the assignment day taken in London
    time from a small summer-time table, and handled steps excluded with ``NOT EXISTS``.

Both results are compared (as sets of assignment, kind, step, due date, target) on the
bench day and on a few others — a weekend and a bank holiday (both empty) included — and
the medians and their ratio are printed (target: plan ≤ 2× the SQL).
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from plancycle.calendar import WorkingCalendar  # noqa: E402
from plancycle.chaser import plan  # noqa: E402
from plancycle.clock import SimulatedClock  # noqa: E402
from plancycle.config import load_config  # noqa: E402
from plancycle.engine import reconcile  # noqa: E402
from plancycle.register import Register  # noqa: E402
from plancycle.register.cycles import start_cycle  # noqa: E402
from plancycle.register.models import (  # noqa: E402
    Assignment,
    Notification,
    Person,
    Stage,
    Task,
)

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "cycle_config" / "trust_annual_cycle.yaml"
LONDON = ZoneInfo("Europe/London")
CAL = WorkingCalendar()

Step = tuple[int, str, int, date, str | None]  # assignment, kind, step, due on, target

DEFAULT_POLICY: dict[str, Any] = {
    "reminders_before_due": [5, 1], "remind_on_due_date": True, "overdue_every": 2,
    "escalation": [{"after_working_days_overdue": 3, "to": "line_manager"},
                   {"after_working_days_overdue": 10, "to": "role:exec_sponsor"}],
    "digest": False, "channels": ["email", "chat"],
}
POLICIES = [
    DEFAULT_POLICY,
    {**DEFAULT_POLICY, "reminders_before_due": [10, 5, 1]},
    {**DEFAULT_POLICY, "overdue_every": 3, "remind_on_due_date": False},
    {**DEFAULT_POLICY, "digest": True},
    {**DEFAULT_POLICY, "reminders_before_due": [3], "overdue_every": 1,
     "escalation": [{"after_working_days_overdue": 2, "to": "deputy"},
                    {"after_working_days_overdue": 5, "to": "line_manager"},
                    {"after_working_days_overdue": 15, "to": "role:chief_executive"}]},
    {**DEFAULT_POLICY, "reminders_before_due": [], "escalation": [], "channels": ["email"]},
]


# --------------------------------------------------------------------------- data


def build(folder: Path, n_open: int, today: date, seed: int) -> tuple[Register, str]:
    rng = random.Random(seed)
    clock = SimulatedClock(date(2026, 4, 1))
    register = Register(f"sqlite:///{folder / 'register.db'}", clock=clock)
    register.migrate()
    config = load_config(SAMPLE)
    with register.session(actor="bench") as session:
        cycle_id = start_cycle(session, config, SAMPLE).cycle_id
        reconcile(session, cycle_id, date(2026, 4, 1), clock.now())
    clock.set(date(2026, 4, 16))
    with register.session(actor="bench") as session:
        reconcile(session, cycle_id, clock.today(), clock.now())

    with register.engine.begin() as conn:
        stage_ids = list(conn.scalars(select(Stage.id).where(Stage.cycle_id == cycle_id)))
        n_people = 1500
        keys = [f"p{i:05d}" for i in range(n_people)]
        conn.execute(insert(Person), [{
            "cycle_id": cycle_id, "key": key, "name": f"Person {i}",
            "email": f"{key}@trust.nhs.uk", "chat": f"@{key}" if i % 2 else None,
            "deputy_key": keys[(i + 1) % n_people],
            "line_manager_key": keys[i // 10] if i >= 10 else None, "absent": False,
        } for i, key in enumerate(keys)])
        people = list(conn.scalars(select(Person.id).where(Person.key.in_(keys))))

        n_tasks = 400
        task_rows = []
        for i in range(n_tasks):
            due = CAL.add_working_days(today, rng.randint(-45, 45))
            task_rows.append({
                "cycle_id": cycle_id, "stage_id": rng.choice(stage_ids), "key": f"bench_{i}",
                "name": f"Bench task {i}", "kind": "review", "role_key": "service_lead",
                "sequence": 100 + i, "due_on": due, "depends_on": [], "return_kind": None,
                "instructions": None, "settings": {"chasing": POLICIES[i % len(POLICIES)]},
                "state": "open",
            })
        conn.execute(insert(Task), task_rows)
        tasks = conn.execute(select(Task.id, Task.due_on).where(
            Task.cycle_id == cycle_id, Task.key.like("bench_%"))).all()

        pairs: set[tuple[int, int]] = set()
        n_done = n_open // 4
        while len(pairs) < n_open + n_done:
            pairs.add((rng.randrange(len(tasks)), rng.choice(people)))
        rows = []
        for k, (t, person_id) in enumerate(sorted(pairs)):
            task_id, due = tasks[t]
            lead = rng.randint(-3, 25)  # working days' notice (negative: opened late)
            day = min(CAL.add_working_days(due, -lead), today)
            at = (dtime(0, 5) if rng.random() < 0.2 else  # a pass just after midnight
                  dtime(rng.randint(7, 18), rng.randint(0, 59)))
            rows.append({
                "cycle_id": cycle_id, "task_id": task_id, "person_id": person_id,
                "state": "open" if k % 5 else "complete", "due_on": due,
                "assigned_at": datetime.combine(day, at, tzinfo=LONDON),
                "completed_at": None, "on_behalf_of_id": None, "reason": None,
            })
        rows.sort(key=lambda r: r["state"] != "open")  # exactly n_open open ones
        for r in rows[n_open:]:
            r["state"] = "complete"
            r["completed_at"] = r["assigned_at"] + timedelta(days=1)
        conn.execute(insert(Assignment), rows)

    # Three weeks of history: what the chaser would have queued on each earlier working day.
    with register.session() as session:
        now = datetime.now(UTC)
        for day in CAL.working_days(CAL.add_working_days(today, -15), today - timedelta(1)):
            history = []
            for p in plan(session, cycle_id, day):
                key = p.step.key
                if p.step.kind == "escalation":
                    suffixes = [f":p{p.person_id + 1}:email"]
                elif p.digest:
                    suffixes = [":digest"]
                else:
                    suffixes = [":email", ":chat"]
                history += [{
                    "idempotency_key": key + suffix, "cycle_id": cycle_id,
                    "person_id": p.person_id, "assignment_id": p.assignment_id,
                    "kind": p.step.kind, "channel": suffix.rsplit(":", 1)[1],
                    "subject": key, "body": "", "status": "sent", "attempts": 1,
                    "created_at": now,
                } for suffix in suffixes]
            session.execute(insert(Notification), history)
    return register, cycle_id


# --------------------------------------------------------------------------- SQL


def build_calendar_tables(register: Register, first: date, last: date) -> None:
    """``workday_index``: every calendar day with N = working days up to it; and the
    summer-time table turning a UTC instant into a London day."""
    with register.engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS workday_index"))
        # DATE, like assignments.due_on: the same column affinity lets the joins use the key.
        conn.execute(text("CREATE TABLE workday_index (day DATE PRIMARY KEY, n INTEGER) "
                          "WITHOUT ROWID"))
        rows, n, day = [], 0, first
        while day <= last:
            n += CAL.is_working_day(day)
            rows.append({"day": day.isoformat(), "n": n})
            day += timedelta(days=1)
        conn.execute(text("INSERT INTO workday_index VALUES (:day, :n)"), rows)
        conn.execute(text("DROP TABLE IF EXISTS uk_summer_time"))
        conn.execute(text("CREATE TABLE uk_summer_time (starts TEXT, ends TEXT)"))
        summers = []
        for year in range(first.year, last.year + 1):
            edges = [datetime(year, m, d, h, tzinfo=UTC) for m, d, h in ((1, 1, 0), (12, 31, 23))]
            at, offsets = edges[0], []
            while at < edges[1]:  # find the two switch instants (hour resolution is exact)
                offsets.append((at, at.astimezone(LONDON).utcoffset()))
                at += timedelta(hours=1)
            switches = [b[0] for a, b in zip(offsets, offsets[1:], strict=False) if a[1] != b[1]]
            summers.append({"starts": f"{switches[0]:%Y-%m-%d %H:%M:%S}",
                            "ends": f"{switches[1]:%Y-%m-%d %H:%M:%S}"})
        conn.execute(text("INSERT INTO uk_summer_time VALUES (:starts, :ends)"), summers)


DUE_STEPS_SQL = text("""
WITH base AS (
    SELECT a.id, a.due_on, json_extract(t.settings, '$.chasing') AS policy,
           max(1, coalesce(json_extract(t.settings, '$.chasing.overdue_every'), 2)) AS every,
           d.n - today.n AS to_due,
           d.n - s.n AS assigned_to_due
    FROM assignments a
    JOIN tasks t ON t.id = a.task_id
    JOIN workday_index today ON today.day = :today
    JOIN workday_index yesterday ON yesterday.day = date(:today, '-1 day')
    JOIN workday_index d ON d.day = a.due_on
    JOIN workday_index s ON s.day = date(a.assigned_at, CASE WHEN EXISTS (
             SELECT 1 FROM uk_summer_time z
             WHERE a.assigned_at >= z.starts AND a.assigned_at < z.ends)
         THEN '+1 hour' ELSE '+0 hour' END)
    WHERE a.cycle_id = :cycle AND a.state = 'open'
      AND today.n > yesterday.n  -- today is a working day
),
steps AS (
    SELECT b.id, b.due_on, 'reminder' AS kind, min(r.value) AS step, NULL AS target
    FROM base b, json_each(b.policy, '$.reminders_before_due') r
    WHERE b.to_due > 0 AND r.value >= b.to_due AND r.value < b.assigned_to_due
    GROUP BY b.id
  UNION ALL
    SELECT b.id, b.due_on, 'due', 0, NULL FROM base b
    WHERE b.to_due = 0 AND b.assigned_to_due > 0
      AND coalesce(json_extract(b.policy, '$.remind_on_due_date'), 1)
  UNION ALL
    SELECT b.id, b.due_on, 'overdue', 1 + ((-b.to_due - 1) / b.every) * b.every, NULL
    FROM base b WHERE b.to_due < 0
  UNION ALL
    SELECT b.id, b.due_on, 'escalation', x.key, json_extract(x.value, '$.to')
    FROM base b, json_each(b.policy, '$.escalation') x
    WHERE b.to_due < 0 AND -b.to_due >= json_extract(x.value, '$.after_working_days_overdue')
)
SELECT s.id, s.kind, s.step, s.due_on, s.target FROM steps s
WHERE NOT EXISTS (  -- already handled: a notification keyed a<id>:<kind>:<step>:<due>:…
    SELECT 1 FROM notifications n  -- (a range on the unique key's index; ';' follows ':')
    WHERE n.idempotency_key > 'a' || s.id || ':' || s.kind || ':' || s.step || ':' || s.due_on
                              || ':'
      AND n.idempotency_key < 'a' || s.id || ':' || s.kind || ':' || s.step || ':' || s.due_on
                              || ';')
""")


def sql_due_steps(session: Session, cycle_id: str, today: date) -> set[Step]:
    rows = session.execute(DUE_STEPS_SQL, {"cycle": cycle_id, "today": today.isoformat()})
    return {(r.id, r.kind, int(r.step), date.fromisoformat(r.due_on), r.target) for r in rows}


def plan_steps(session: Session, cycle_id: str, today: date) -> set[Step]:
    return {(p.assignment_id, p.step.kind, p.step.step, p.step.due_on, p.step.target)
            for p in plan(session, cycle_id, today)}


# --------------------------------------------------------------------------- timing


def timed(fn: Any) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def medians(a: Any, b: Any, repeat: int) -> tuple[float, float]:
    """Median seconds of ``a`` and ``b``, run alternately so both see the same machine."""
    a(), b()  # warm-up: statement caches, bank holidays, SQLite page cache
    gc.collect()
    times_a, times_b = [], []
    for _ in range(repeat):
        times_a.append(timed(a))
        times_b.append(timed(b))
    return statistics.median(times_a), statistics.median(times_b)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assignments", type=int, default=10_000)
    parser.add_argument("--today", type=date.fromisoformat, default=date(2026, 5, 6))
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--seed", type=int, default=20260401)
    parser.add_argument("--profile", action="store_true", help="cProfile plan() afterwards")
    args = parser.parse_args()
    today: date = args.today

    with tempfile.TemporaryDirectory(prefix="plancycle-bench-") as tmp:
        t0 = time.perf_counter()
        register, cycle_id = build(Path(tmp), args.assignments, today, args.seed)
        build_calendar_tables(register, date(2025, 1, 1), date(2028, 12, 31))
        with register.session() as session:
            n_open = session.scalar(text(
                "SELECT count(*) FROM assignments WHERE cycle_id = :c AND state = 'open'"),
                {"c": cycle_id})
            n_notes = session.scalar(text("SELECT count(*) FROM notifications"))
        print(f"register: {n_open:,} open assignments, {n_notes:,} notifications "
              f"(built in {time.perf_counter() - t0:.1f} s)")

        # Same answer on the bench day and around it (weekend and bank holiday: nothing).
        checks = [today, date(2026, 5, 1), date(2026, 5, 2), date(2026, 5, 4),
                  date(2026, 5, 11), date(2026, 4, 20), date(2026, 6, 3)]
        with register.session() as session:
            for day in checks:
                ours, theirs = plan_steps(session, cycle_id, day), sql_due_steps(
                    session, cycle_id, day)
                if ours != theirs:
                    print(f"MISMATCH on {day}: plan-only {sorted(ours - theirs)[:5]} "
                          f"sql-only {sorted(theirs - ours)[:5]}")
                    return 1
                print(f"  {day:%a %d %b}: {len(ours):,} steps due, plan and SQL agree")

        def run_plan() -> int:
            with register.session() as session:
                return len(plan(session, cycle_id, today))

        def run_sql() -> int:
            with register.session() as session:
                return len(session.execute(
                    DUE_STEPS_SQL, {"cycle": cycle_id, "today": today.isoformat()}).all())

        n_plan, n_sql = run_plan(), run_sql()
        assert n_sql == n_plan, (n_sql, n_plan)
        t_plan, t_sql = medians(run_plan, run_sql, args.repeat)
        ratio = t_plan / t_sql
        print(f"today {today:%a %d %b %Y}: {n_plan:,} steps due "
              f"(median of {args.repeat}, run alternately)")
        print(f"  (a) plancycle.chaser.plan : {t_plan * 1000:8.1f} ms")
        print(f"  (b) hand-written SQL      : {t_sql * 1000:8.1f} ms")
        print(f"  ratio plan / SQL          : {ratio:8.2f}x  (target <= 2x) "
              f"{'OK' if ratio <= 2 else 'OVER'}")

        if args.profile:
            import cProfile
            import pstats

            with register.session() as session:
                profile = cProfile.Profile()
                profile.runcall(plan, session, cycle_id, today)
            pstats.Stats(profile).sort_stats("cumulative").print_stats(20)
        register.dispose()
    return 0 if ratio <= 2 else 2


if __name__ == "__main__":
    raise SystemExit(main())
