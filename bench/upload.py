"""Bench: ``plancycle return upload`` of a staff-in-post extract, as the user runs it.

    .venv/bin/python bench/upload.py [--rows 15000 150000 300000 1500000] [--repeat 3]

For each size it writes an ESR-like staff-in-post extract (the synthetic trust generator of
``plancycle.synthetic``, plus a sprinkling of the errors real extracts have), then, in the
same run and interleaved:

* **plancycle** — the whole CLI process, ``plancycle return upload staff_in_post_return FILE
  --person lucy.fernandes``, against a fresh register with the sample cycle started and the
  task open: imports, ``Runtime.build``, storing the raw file and its hash, reading, the
  Great Expectations suite and the cross-return rules, the DQ report (HTML and JSON) and its
  GX Data Docs page, the register, the verdict and the DQ report message;
* **baseline** — a plain process (``bench/upload.py --baseline FILE REPORT``): pandas
  ``read_csv`` and the same kinds of checks written directly, vectorised, writing a small JSON
  report of offending counts.

Each is timed as a subprocess (wall clock, median of the repeats) with its own peak RSS
(``os.wait4``). It checks that both find the same offending counts for every check, and prints
the growth from the first size (1×, 10×, 20×, 100× the rows), the time ratio (target ≤ 2.5×)
and the peak RSS against the file size (target ≤ 4×) — the targets at 300,000 and 1,500,000
rows, a large trust's extract. Delivery of the DQ report message is part of the path
but no email server is configured here (the message is recorded as undeliverable), so mail
transport is not in the figure.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "cycle_config" / "trust_annual_cycle.yaml"
CYCLE = "rxx-2026-27"
TASK, PERSON = "staff_in_post_return", "lucy.fernandes"
#: The extract sizes the targets are for (smaller ones show growth).
TARGET_ROWS = 300_000
#: Staff in post has about 1.04 assignments per person (second posts).
ASSIGNMENTS_PER_PERSON = 1.04


# --- the baseline process: pandas and the same checks, written directly -----------------

def baseline(path: str, out: str) -> int:
    """Read the extract with pandas and count the offending rows of each check."""
    import numpy as np
    import pandas as pd

    sys.path.insert(0, str(ROOT))
    from plancycle.returns import codes  # plain tuples of the NHS code lists

    frame = pd.read_csv(path, dtype=str)
    counts: dict[str, int] = {}
    required = ["assignment_id", "person_id", "org_code", "staff_group", "job_role", "grade",
                "wte", "contracted_hours", "gender", "ethnic_category", "start_date",
                "cost_centre", "service", "location"]
    for col in required:
        counts[f"not_null.{col}"] = int(frame[col].isna().sum())

    def numbers(col: str, low: float, high: float) -> None:
        value = pd.to_numeric(frame[col], errors="coerce")
        counts[f"type.{col}"] = int((frame[col].notna() & value.isna()).sum())
        counts[f"range.{col}"] = int(((value < low) | (value > high)).sum())

    numbers("wte", 0, 1.5)
    numbers("contracted_hours", 0, 60)
    text = frame["start_date"]
    codes_, uniques = pd.factorize(text)
    u = pd.Series(np.asarray(uniques, dtype=object))
    parsed = pd.to_datetime(u, format="%Y-%m-%d", errors="coerce")
    for fmt in ("%d/%m/%Y", "%d-%b-%Y", "%Y-%m-%d %H:%M:%S"):
        gaps = parsed.isna()
        parsed[gaps] = pd.to_datetime(u[gaps], format=fmt, errors="coerce")
    bad_dates = set(u[parsed.isna()])
    counts["type.start_date"] = int(text.isin(bad_dates).sum())
    parts = u.str.extract(r"^(\d{1,2})/(\d{1,2})/(\d{4})$").dropna().astype(int)
    us = set(u[parts.index[(parts[0] <= 12) & (parts[1] > 12)]])
    counts["dates.day_month_order"] = int(text.isin(us).sum())

    def code_list(col: str, allowed: set[str]) -> None:
        values = pd.Series(frame[col].dropna().unique())
        bad = set(values[~values.str.lower().isin(allowed)])
        counts[f"codes.{col}"] = int(frame[col].isin(bad).sum())

    code_list("staff_group", {c.lower() for c in codes.STAFF_GROUPS})
    code_list("grade", {c.lower() for c in codes.GRADES})
    code_list("age_band", {c.lower() for c in codes.AGE_BANDS})
    code_list("gender", {c.lower() for c in codes.GENDERS})
    code_list("ethnic_category", set(codes.ETHNIC_SPELLINGS))
    ids = frame["assignment_id"]
    counts["unique.assignment_id"] = int((ids.notna() & ids.duplicated(keep=False)).sum())
    counts["cross.age_band_or_dob"] = int(frame["age_band"].isna().sum())
    Path(out).write_text(json.dumps({"rows": len(frame), "offending": counts}))
    return 0


# --- the extract ------------------------------------------------------------------------------

def write_extract(rows: int, seed: int, path: Path) -> int:
    """An ESR-like staff-in-post CSV of about ``rows`` assignments; returns the row count."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    from plancycle.synthetic import generate_trust

    frame = generate_trust(size=max(50, round(rows / ASSIGNMENTS_PER_PERSON)),
                           seed=seed)["staff_in_post"]
    frame = frame.astype({c: object for c in frame.columns})
    for col in ("wte", "contracted_hours"):
        frame[col] = frame[col].map("{:g}".format)
    rng = np.random.default_rng(seed)
    n = len(frame)
    n_bad = max(n // 1000, 5)
    # What real extracts get wrong: out-of-range WTE, typos in codes, blanks, decimal commas,
    # impossible and US-style dates, free-text ethnicity, duplicated assignment numbers.
    for column, value in [("wte", "1.8"), ("staff_group", "Nursing"), ("grade", "Band 10"),
                          ("org_code", None), ("contracted_hours", "37,5"),
                          ("start_date", "31/02/2019"), ("start_date", "04/30/2019"),
                          ("ethnic_category", "White"), ("age_band", None)]:
        frame.loc[rng.choice(n, n_bad, replace=False), column] = value
    dup = rng.choice(n - 1, n_bad, replace=False)
    frame.loc[dup + 1, "assignment_id"] = frame.loc[dup, "assignment_id"].to_numpy()
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pa_csv.write_csv(table, path, pa_csv.WriteOptions(quoting_style="needed"))
    return n


# --- running the two processes ---------------------------------------------------------------

@dataclass
class Run:
    seconds: float
    peak_rss: int          # bytes
    code: int
    output: str


#: Started with ``python -S``: forks, execs the command, waits for it and prints its wall time
#: and peak RSS. Measuring from a small launcher keeps the bench's own memory (which a child
#: of this process would inherit into its ru_maxrss at fork) out of the child's figure.
LAUNCHER = """
import os, sys, time
started = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(time.perf_counter() - started, usage.ru_maxrss * 1024, os.waitstatus_to_exitcode(status),
      file=sys.stderr)
"""


def run_child(cmd: list[str], env: dict[str, str], cwd: Path) -> Run:
    """Run one process to the end; its wall time and its own peak resident memory."""
    program = shutil.which(cmd[0]) or cmd[0]
    result = subprocess.run([sys.executable, "-S", "-c", LAUNCHER, program, *cmd[1:]],
                            env=env, cwd=cwd, capture_output=True, text=True, check=False)
    *_, last = result.stderr.strip().splitlines() or [""]
    try:
        seconds, peak, code = last.split()
    except ValueError:
        raise SystemExit(f"could not run {cmd}: {result.stderr}") from None
    return Run(float(seconds), int(peak), int(code), result.stdout + result.stderr)


def prepare_home(template: Path, home: Path) -> None:
    """A fresh register with the sample cycle started and the data requests open."""
    if home.exists():
        shutil.rmtree(home)
    shutil.copytree(template, home)


def build_template(home: Path) -> None:
    """Start the sample cycle in a register and open its data requests (16 April 2026)."""
    from datetime import date

    os.environ["PLANCYCLE_HOME"] = str(home)
    os.environ.setdefault("PLANCYCLE_LINK_SECRET", "bench-secret")
    from plancycle.clock import SimulatedClock
    from plancycle.config import load_config
    from plancycle.notify.channels import RecordingChannels
    from plancycle.register.cycles import start_cycle
    from plancycle.runtime import Runtime

    clock = SimulatedClock(date(2026, 4, 1))
    runtime = Runtime.build(clock=clock, channels=RecordingChannels(),
                            database_url=f"sqlite:///{home / 'register.db'}")
    with runtime.register.session(actor="planner") as session:
        start_cycle(session, load_config(SAMPLE), SAMPLE)
    clock.set(date(2026, 4, 16))
    runtime.advance(CYCLE)
    runtime.register.dispose()


def cli_counts(home: Path) -> tuple[int, dict[str, int]]:
    """Rows and offending counts of the DQ report the upload left in the register."""
    with sqlite3.connect(home / "register.db") as db:
        (report,) = db.execute("SELECT report FROM dq_results ORDER BY id DESC LIMIT 1").fetchone()
    data = json.loads(report)
    return int(data["row_count"]), {c["id"]: int(c["offending"]) for c in data["checks"]}


def plancycle_command() -> list[str]:
    script = Path(sys.executable).with_name("plancycle")
    return [str(script)] if script.exists() else [sys.executable, "-m", "plancycle.cli"]


def mib(size: float) -> str:
    return f"{size / 1_048_576:,.0f} MiB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+",
                        default=[15_000, 150_000, 300_000, 1_500_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20260401)
    parser.add_argument("--baseline", nargs=2, metavar=("FILE", "REPORT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.baseline:
        return baseline(*args.baseline)

    work = Path(tempfile.mkdtemp(prefix="plancycle-bench-upload-"))
    sys.path.insert(0, str(ROOT))
    try:
        template = work / "template"
        build_template(template)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("PLANCYCLE_", "PREFECT_API_URL"))}
        env.update(PLANCYCLE_LINK_SECRET="bench-secret", PYTHONDONTWRITEBYTECODE="",
                   GX_ANALYTICS_ENABLED="false")
        results = []
        mismatched = False
        for rows in args.rows:
            path = work / f"staff_in_post_{rows}.csv"
            started = time.perf_counter()
            n = write_extract(rows, args.seed, path)
            size = path.stat().st_size
            print(f"extract: {n:,} rows, {mib(size)} ({time.perf_counter() - started:.1f} s to "
                  "generate)", flush=True)
            cli_runs: list[Run] = []
            base_runs: list[Run] = []
            for r in range(max(args.repeat, 1)):
                home = work / f"home-{rows}-{r}"
                prepare_home(template, home)
                run = run_child([*plancycle_command(), "return", "upload", TASK, str(path),
                                 "--person", PERSON, "--as-of", "2026-04-20"],
                                {**env, "PLANCYCLE_HOME": str(home)}, work)
                if run.code not in (0, 1):
                    print(run.output)
                    raise SystemExit(f"plancycle return upload exited {run.code}")
                cli_runs.append(run)
                report = work / f"baseline-{rows}-{r}.json"
                base = run_child([sys.executable, __file__, "--baseline", str(path),
                                  str(report)], env, work)
                if base.code != 0:
                    print(base.output)
                    raise SystemExit(f"baseline exited {base.code}")
                base_runs.append(base)
                print(f"  run {r + 1}: plancycle {run.seconds:.2f} s {mib(run.peak_rss)} "
                      f"(exit {run.code}), baseline {base.seconds:.2f} s {mib(base.peak_rss)}",
                      flush=True)
            got_rows, got = cli_counts(home)
            expected = json.loads(report.read_text())
            diffs = [f"{k}: plancycle {got.get(k)} vs baseline {v}"
                     for k, v in expected["offending"].items() if got.get(k) != v]
            if got_rows != expected["rows"]:
                diffs.append(f"rows: plancycle {got_rows} vs baseline {expected['rows']}")
            mismatched |= bool(diffs)
            checked = len(expected["offending"])
            flagged = sum(1 for v in expected["offending"].values() if v)
            print(f"  same offending counts for all {checked} checks ({flagged} with "
                  f"offending rows): " + ("yes" if not diffs else "NO\n    "
                                           + "\n    ".join(diffs)), flush=True)
            t_cli = statistics.median(r.seconds for r in cli_runs)
            t_base = statistics.median(r.seconds for r in base_runs)
            results.append((rows, n, size, t_cli, t_base, max(r.peak_rss for r in cli_runs),
                            max(r.peak_rss for r in base_runs)))
        print()
        print(f"{'rows':>10} {'file':>9} {'plancycle':>10} {'baseline':>9} {'ratio':>6} "
              f"{'RSS plancycle':>14} {'RSS baseline':>13} {'RSS/file':>8}")
        for _rows, n, size, t_cli, t_base, rss_cli, rss_base in results:
            print(f"{n:>10,} {mib(size):>9} {t_cli:>9.2f}s {t_base:>8.2f}s "
                  f"{t_cli / t_base:>5.2f}x {mib(rss_cli):>14} {mib(rss_base):>13} "
                  f"{rss_cli / size:>7.2f}x")
        if len(results) > 1:
            first = results[0]
            growth = ", ".join(
                f"{n / first[1]:.0f}x rows: plancycle {t_cli / first[3]:.2f}x, baseline "
                f"{t_base / first[4]:.2f}x" for _r, n, _s, t_cli, t_base, _a, _b in results[1:])
            print(f"time growth from {first[1]:,} rows (1x): {growth}")
        # The targets are for the extracts the issue names (a large trust's 300,000 and
        # 1,500,000 rows); smaller files are shown for growth, where start-up dominates (GX's
        # import alone is ~1 s and ~150 MB).
        judged = [r for r in results if r[0] >= TARGET_ROWS] or results
        ratios = ", ".join(f"{t_cli / t_base:.2f}x at {n:,}"
                           for _r, n, _s, t_cli, t_base, _a, _b in results)
        worst = max(t_cli / t_base for _r, _n, _s, t_cli, t_base, _a, _b in judged)
        rss = ", ".join(f"{rss_cli / size:.2f}× ({mib(rss_cli)}, {mib(size)} file) at {n:,}"
                        for _r, n, size, _t, _b, rss_cli, _rb in results)
        worst_rss = max(rss_cli / size for _r, _n, size, _t, _b, rss_cli, _rb in judged)
        sizes = " and ".join(f"{r[1]:,}" for r in judged)
        print(f"peak RSS plancycle / file size: {rss} (target ≤ 4× at {sizes} rows) "
              f"{'OK' if worst_rss <= 4 else 'OVER TARGET'}")
        print(f"ratio plancycle/baseline (median of {args.repeat}): {ratios} "
              f"(target ≤ 2.5× at {sizes} rows) {'OK' if worst <= 2.5 else 'OVER TARGET'}")
        return 1 if mismatched else 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
