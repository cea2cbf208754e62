"""Bench: `plancycle chase` — plan, queue and deliver N reminders — against a plain loop.

    .venv/bin/python bench/chase.py [--sizes 1000 10000 100000] [--repeat 3] [--tls]

What the user runs is one process: ``plancycle chase --as-of DAY`` reads the open
assignments, decides today's steps, renders every message, writes them to the register
(audited), sends them by email and records each outcome. This bench times exactly that
process, as a subprocess, on a register holding N open assignments (N/5 people × 5 tasks,
each due in five working days, so every assignment is owed one reminder today, and each
with the "new task" email it was sent when it opened), against a **plain baseline process**
doing the same work with no framework: one SQL query for the due rows, the same Jinja
templates rendered per message (text and HTML, a signed link, a calendar attachment),
``executemany`` into the notifications table, one ``smtplib`` connection sending every
message, ``executemany`` of the outcomes.

Both send to the same local SMTP server (aiosmtpd in a third process, counting what it
receives: both must deliver exactly N). Each run starts from a fresh copy of the register.
With ``--tls`` the server requires STARTTLS (a self-signed certificate) and both sides
negotiate it, to show the per-message cost over TLS.

The last lines print the ratios (target ≤ 2× at 10,000), the growth from 10,000 to 100,000
(target ≤ 11×) and, with --tls, the TLS / plain per-message cost (target ≤ 2×).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
VENV_BIN = Path(sys.executable).parent
SAMPLE = ROOT / "cycle_config" / "trust_annual_cycle.yaml"
TODAY = date(2026, 5, 6)
SENDER = "workforce.planning@riverside.nhs.uk"
SECRET = "bench-secret"
PORTAL = "https://portal.example.nhs.uk"
TASKS_PER_PERSON = 5
POLICY = {"reminders_before_due": [5, 1], "remind_on_due_date": True, "overdue_every": 2,
          "escalation": [{"after_working_days_overdue": 3, "to": "line_manager"}],
          "digest": False, "channels": ["email"]}


# --------------------------------------------------------------------------- the register


def build(folder: Path, n: int) -> Path:
    """A register with the sample cycle and ``n`` open assignments owed a reminder today."""
    from sqlalchemy import insert, select, update

    from plancycle.calendar import WorkingCalendar
    from plancycle.clock import LONDON, SimulatedClock
    from plancycle.config import load_config
    from plancycle.engine import reconcile
    from plancycle.register import Register
    from plancycle.register.cycles import start_cycle
    from plancycle.register.models import Assignment, Notification, Person, Stage, Task

    calendar = WorkingCalendar()
    clock = SimulatedClock(date(2026, 4, 1))
    db = folder / "register.db"
    register = Register(f"sqlite:///{db}", clock=clock)
    register.migrate()
    config = load_config(SAMPLE)
    with register.session(actor="bench") as session:
        cycle_id = start_cycle(session, config, SAMPLE).cycle_id
        reconcile(session, cycle_id, date(2026, 4, 1), clock.now())
    with register.engine.begin() as conn:  # only the bench's assignments are owed a message
        conn.execute(update(Assignment).values(state="complete"))
    due = calendar.add_working_days(TODAY, 5)
    opened = calendar.add_working_days(TODAY, -15)
    n_people = max(1, n // TASKS_PER_PERSON)
    with register.engine.begin() as conn:
        stage_id = conn.scalar(select(Stage.id).where(Stage.cycle_id == cycle_id)
                               .order_by(Stage.sequence))
        keys = [f"p{i:06d}" for i in range(n_people)]
        conn.execute(insert(Person), [{
            "cycle_id": cycle_id, "key": key, "name": f"Person {i}",
            "email": f"{key}@trust.nhs.uk", "chat": None, "deputy_key": None,
            "line_manager_key": keys[i // 10] if i >= 10 else None, "absent": False,
        } for i, key in enumerate(keys)])
        people = list(conn.scalars(select(Person.id).where(Person.key.in_(keys))
                                   .order_by(Person.id)))
        conn.execute(insert(Task), [{
            "cycle_id": cycle_id, "stage_id": stage_id, "key": f"bench_{i}",
            "name": f"Bench review {i}", "kind": "review", "role_key": "service_lead",
            "sequence": 100 + i, "due_on": due, "depends_on": [], "return_kind": None,
            "instructions": "Review the figures for your service and confirm them.",
            "settings": {"chasing": POLICY}, "state": "open",
        } for i in range(TASKS_PER_PERSON)])
        tasks = list(conn.scalars(select(Task.id).where(
            Task.cycle_id == cycle_id, Task.key.like("bench_%")).order_by(Task.id)))
        assigned = datetime.combine(opened, dtime(9, 0), tzinfo=LONDON)
        rows = [{"cycle_id": cycle_id, "task_id": t, "person_id": p, "state": "open",
                 "due_on": due, "assigned_at": assigned, "completed_at": None,
                 "on_behalf_of_id": None, "reason": None}
                for p in people for t in tasks][:n]
        conn.execute(insert(Assignment), rows)
        ids = conn.execute(select(Assignment.id, Assignment.person_id).where(
            Assignment.task_id.in_(tasks))).all()
        sent = assigned.astimezone(UTC)
        conn.execute(insert(Notification), [{
            "idempotency_key": f"a{a}:new_task:{due.isoformat()}:email", "cycle_id": cycle_id,
            "person_id": p, "assignment_id": a, "kind": "new_task", "channel": "email",
            "subject": "New task", "body": "", "status": "sent", "attempts": 1,
            "created_at": sent, "sent_at": sent,
        } for a, p in ids])
    register.dispose()
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return db


# --------------------------------------------------------------------------- SMTP server


def self_signed(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


def serve_smtp(port: int, counter: Path, cert: str | None, key: str | None) -> None:
    """The SMTP server process: counts messages; writes the count on SIGUSR1."""
    import ssl

    from aiosmtpd.controller import Controller

    count = 0

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            nonlocal count
            count += len(envelope.rcpt_tos)
            return "250 OK"

    kwargs: dict[str, Any] = {}
    if cert and key:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        kwargs = {"tls_context": context, "require_starttls": True}
    controller = Controller(Handler(), hostname="127.0.0.1", port=port, **kwargs)
    controller.start()

    def report(*_: Any) -> None:
        counter.write_text(str(count))

    def reset(*_: Any) -> None:
        nonlocal count
        count = 0
        counter.write_text("0")

    signal.signal(signal.SIGUSR1, report)
    signal.signal(signal.SIGUSR2, reset)
    counter.write_text("ready")
    signal.signal(signal.SIGTERM, lambda *_: (controller.stop(), sys.exit(0)))
    while True:
        time.sleep(3600)


class SmtpServer:
    def __init__(self, folder: Path, tls: bool) -> None:
        from plancycle.mailsink import free_port

        self.port = free_port()
        self.counter = folder / f"smtp-count-{self.port}"
        cert = key = None
        if tls:
            cert_path, key_path = self_signed(folder)
            cert, key = str(cert_path), str(key_path)
        self.tls = tls
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve-smtp", str(self.port), str(self.counter),
             cert or "", key or ""])
        deadline = time.monotonic() + 30
        while not (self.counter.exists() and self.counter.read_text() == "ready"):
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise SystemExit("the bench SMTP server did not start")
            time.sleep(0.05)

    def _signal(self, sig: int) -> str:
        self.counter.write_text("")
        self.process.send_signal(sig)
        deadline = time.monotonic() + 10
        while not self.counter.read_text():
            if time.monotonic() > deadline:
                raise SystemExit("the bench SMTP server did not answer")
            time.sleep(0.01)
        return self.counter.read_text()

    def reset(self) -> None:
        self._signal(signal.SIGUSR2)

    def count(self) -> int:
        return int(self._signal(signal.SIGUSR1))

    @property
    def url(self) -> str:
        scheme, mode = ("mailtos", "starttls") if self.tls else ("mailto", "insecure")
        extra = "&verify=no" if self.tls else ""
        return (f"{scheme}://127.0.0.1:{self.port}?from={SENDER}&name=Workforce%20Planning"
                f"&mode={mode}{extra}")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


# --------------------------------------------------------------------------- the baseline


BASELINE_SQL = """
SELECT a.id, a.due_on, p.id, p.key, p.name, p.email, t.name, t.instructions, s.name,
       c.org_name, c.name, c.id
FROM assignments a
JOIN tasks t ON t.id = a.task_id
JOIN stages s ON s.id = t.stage_id
JOIN people p ON p.id = a.person_id
JOIN cycles c ON c.id = a.cycle_id
JOIN workday_index today ON today.day = :today
JOIN workday_index d ON d.day = a.due_on
WHERE a.state = 'open' AND d.n - today.n = 5
  AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.idempotency_key
                  = 'a' || a.id || ':reminder:5:' || a.due_on || ':email')
ORDER BY a.id
"""

ICS = ("BEGIN:VCALENDAR\r\nPRODID:-//plancycle//Workforce planning cycle//EN\r\nVERSION:2.0\r\n"
       "METHOD:REQUEST\r\nBEGIN:VEVENT\r\nSUMMARY:Due: {task}\r\nDTSTART;VALUE=DATE:{day}\r\n"
       "DTEND;VALUE=DATE:{next}\r\nDTSTAMP:{stamp}\r\nUID:assignment-{a}@{cycle}.plancycle\r\n"
       "SEQUENCE:0\r\nSTATUS:CONFIRMED\r\nTRANSP:TRANSPARENT\r\nURL:{link}\r\n"
       "ORGANIZER;CN=Workforce Planning Team:mailto:{sender}\r\n"
       "ATTENDEE;CN={name};PARTSTAT=ACCEPTED;ROLE=REQ-PARTICIPANT;RSVP=FALSE:mailto:{email}\r\n"
       "END:VEVENT\r\nEND:VCALENDAR\r\n")


def baseline(db: Path, port: int, tls: bool) -> int:
    """Plain code: one query, Jinja per message, executemany, one SMTP connection."""
    import smtplib
    import ssl
    from email.message import EmailMessage

    from itsdangerous import URLSafeTimedSerializer

    from plancycle.notify.render import environment

    env = environment()
    text_t = env.get_template("notifications/task.txt.j2")
    html_t = env.get_template("notifications/task.html.j2")
    signer = URLSafeTimedSerializer(SECRET, salt="plancycle.task-link")
    now = datetime.now(UTC)
    stamp = f"{now:%Y%m%dT%H%M%SZ}"
    conn = sqlite3.connect(db)
    rows = conn.execute(BASELINE_SQL.replace(":today", "?"), (TODAY.isoformat(),)).fetchall()
    queued, messages = [], []
    for (a, due, pid, pkey, pname, email, task, instructions, stage, org, cname,
         cycle) in rows:
        due_on = date.fromisoformat(due)
        link = f"{PORTAL}/t/{signer.dumps({'p': pkey, 'a': a, 'c': cycle, 'g': 0})}"
        ctx = {"kind": "reminder", "recipient_name": pname, "organisation": org,
               "cycle_name": cname, "task_name": task, "stage_name": stage,
               "role_name": "Service lead", "due_on": due_on, "days_to_due": 5,
               "days_overdue": 0, "assignee_name": pname, "on_behalf_of": None, "note": None,
               "return_kind": None, "instructions": instructions, "waiting": [],
               "link": link, "link_days": 30, "sender_name": "Workforce Planning Team"}
        subject = f"Reminder: {task} is due in 5 working days ({due_on:%d %b})"
        text, html = text_t.render(ctx), html_t.render(ctx)
        ics = ICS.format(task=task, day=f"{due_on:%Y%m%d}",
                         next=f"{due_on + timedelta(1):%Y%m%d}", stamp=stamp, a=a,
                         cycle=cycle, link=link, sender=SENDER, name=pname, email=email)
        key = f"a{a}:reminder:5:{due}:email"
        queued.append((key, cycle, pid, a, "reminder", "email", subject, text, html, ics,
                       "pending", 0, now.isoformat(), now.isoformat()))
        messages.append((key, pname, email, subject, text, html, ics))
    conn.executemany(
        "INSERT INTO notifications (idempotency_key, cycle_id, person_id, assignment_id, kind,"
        " channel, subject, body, html, ics, status, attempts, created_at, next_attempt_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", queued)
    conn.commit()
    smtp = smtplib.SMTP("127.0.0.1", port)
    if tls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        smtp.starttls(context=context)
    outcomes = []
    for key, name, email, subject, text, html, ics in messages:
        message = EmailMessage()
        message["From"] = f"Workforce Planning <{SENDER}>"
        message["To"] = f"{name} <{email}>"
        message["Subject"] = subject
        message.set_content(text)
        message.add_alternative(html, subtype="html")
        message.add_attachment(ics.encode(), maintype="text", subtype="calendar",
                               filename="task.ics")
        smtp.send_message(message)
        outcomes.append(("sent", datetime.now(UTC).isoformat(), key))
    smtp.quit()
    conn.executemany("UPDATE notifications SET status = ?, attempts = 1, sent_at = ? "
                     "WHERE idempotency_key = ?", outcomes)
    conn.commit()
    conn.close()
    return len(outcomes)


def build_calendar_table(db: Path) -> None:
    """``workday_index`` for the baseline's query: working days counted up to each day."""
    from plancycle.calendar import WorkingCalendar

    calendar = WorkingCalendar()
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS workday_index (day DATE PRIMARY KEY, "
                     "n INTEGER) WITHOUT ROWID")
        day, n, rows = date(2026, 1, 1), 0, []
        while day <= date(2027, 12, 31):
            n += calendar.is_working_day(day)
            rows.append((day.isoformat(), n))
            day += timedelta(1)
        conn.executemany("INSERT OR REPLACE INTO workday_index VALUES (?, ?)", rows)
    with sqlite3.connect(db) as conn:  # the copies take register.db alone: no WAL left over
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


# --------------------------------------------------------------------------- timing


def run(argv: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    """Wall seconds and peak RSS (KiB) of one whole process."""
    t0 = time.perf_counter()
    process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - t0
    output = process.stdout.read().decode(errors="replace") if process.stdout else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{argv[:3]} failed:\n{output[-3000:]}")
    return wall, usage.ru_maxrss, output


def environment_for(home: Path, smtp: SmtpServer) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PLANCYCLE_", "PREFECT_API_URL"))}
    env.update(PLANCYCLE_HOME=str(home), PLANCYCLE_EMAIL_URL=smtp.url,
               PLANCYCLE_LINK_SECRET=SECRET, PLANCYCLE_PORTAL_URL=PORTAL,
               PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1")
    return env


def measure(template: Path, work: Path, smtp: SmtpServer, n: int, repeat: int,
            command: list[str]) -> dict[str, Any]:
    ours, plain, rss = [], [], []
    for i in range(repeat):
        for side in ("ours", "plain"):
            home = work / f"{side}-{i}"
            shutil.rmtree(home, ignore_errors=True)
            home.mkdir(parents=True)
            shutil.copy(template, home / "register.db")
            (home / "link-secret").write_text(SECRET)
            smtp.reset()
            env = environment_for(home, smtp)
            if side == "ours":
                wall, peak, output = run(command, env)
                ours.append(wall)
                rss.append(peak)
            else:
                wall, _, output = run([sys.executable, __file__, "--baseline",
                                       str(home / "register.db"), str(smtp.port),
                                       "1" if smtp.tls else "0"], env)
                plain.append(wall)
            received = smtp.count()
            if received != n:
                raise SystemExit(f"{side} delivered {received} messages, expected {n}:\n"
                                 f"{output[-2000:]}")
            shutil.rmtree(home, ignore_errors=True)
    return {"n": n, "ours": statistics.median(ours), "plain": statistics.median(plain),
            "rss_mib": max(rss) / 1024}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tls", action="store_true", help="also measure over STARTTLS")
    parser.add_argument("--library", action="store_true",
                        help="run the chase as a library call in a subprocess (not the CLI)")
    args = parser.parse_args()
    command = [str(VENV_BIN / "plancycle"), "chase", "--as-of", TODAY.isoformat()]
    if args.library:
        command = [sys.executable, "-c",
                   "from datetime import date; from plancycle.runtime import Runtime;"
                   "from plancycle.clock import clock_at; d = date.fromisoformat("
                   f"'{TODAY.isoformat()}'); rt = Runtime.build(clock=clock_at(d));"
                   "r = rt.chase('rxx-2026-27', d); s = rt.deliver();"
                   "print(len(r.planned), r.queued, s.sent, s.failed)"]
    results: list[dict[str, Any]] = []
    tls_results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="plancycle-bench-chase-") as tmp:
        work = Path(tmp)
        plain_smtp = SmtpServer(work, tls=False)
        tls_smtp = SmtpServer(work, tls=True) if args.tls else None
        try:
            for n in args.sizes:
                t0 = time.perf_counter()
                folder = work / f"template-{n}"
                folder.mkdir()
                template = build(folder, n)
                build_calendar_table(template)
                print(f"N = {n:,}: register built in {time.perf_counter() - t0:.1f} s",
                      flush=True)
                result = measure(template, work, plain_smtp, n, args.repeat, command)
                results.append(result)
                print(f"  plancycle chase {result['ours']:8.2f} s   plain loop "
                      f"{result['plain']:8.2f} s   ratio {result['ours'] / result['plain']:.2f}x"
                      f"   peak RSS {result['rss_mib']:.0f} MiB", flush=True)
                if tls_smtp is not None:
                    tls = measure(template, work, tls_smtp, n, args.repeat, command)
                    tls_results.append(tls)
                    print(f"  over STARTTLS: plancycle chase {tls['ours']:8.2f} s   plain "
                          f"{tls['plain']:8.2f} s   ratio {tls['ours'] / tls['plain']:.2f}x",
                          flush=True)
                shutil.rmtree(folder)
        finally:
            plain_smtp.stop()
            if tls_smtp is not None:
                tls_smtp.stop()
    print()
    ok = True
    for r in results:
        ratio = r["ours"] / r["plain"]
        target = " (target ≤ 2×)" if r["n"] == 10_000 else ""
        ok &= ratio <= 2 or r["n"] != 10_000
        print(f"ratio chase+deliver / plain loop at {r['n']:,}: {ratio:.2f}×{target}")
    by_n = {r["n"]: r for r in results}
    if 10_000 in by_n and 100_000 in by_n:
        growth = by_n[100_000]["ours"] / by_n[10_000]["ours"]
        ok &= growth <= 11
        print(f"growth 10,000 → 100,000: {growth:.1f}× the time for 10× the work "
              f"(target ≤ 11×)")
    # The target is judged at the largest size: at 1,000 the process start-up (imports,
    # planning) is most of the time, so "per message" there mostly measures that.
    largest = max((r["n"] for r in tls_results), default=None)
    for plain_r, tls_r in zip(results, tls_results, strict=False):
        per_plain = plain_r["ours"] / plain_r["n"] * 1000
        per_tls = tls_r["ours"] / tls_r["n"] * 1000
        judged = plain_r["n"] == largest
        ok &= per_tls / per_plain <= 2 or not judged
        print(f"per message over TLS / plain at {plain_r['n']:,}: {per_tls:.2f} ms / "
              f"{per_plain:.2f} ms = {per_tls / per_plain:.2f}×"
              + (" (target ≤ 2×)" if judged else " (start-up dominated)"))
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--serve-smtp":
        serve_smtp(int(sys.argv[2]), Path(sys.argv[3]), sys.argv[4] or None,
                   sys.argv[5] or None)
    elif len(sys.argv) > 1 and sys.argv[1] == "--baseline":
        print(baseline(Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"))
    else:
        raise SystemExit(main())
