"""Bench: the headless simulated year of the sample trust, whole process, server included.

    .venv/bin/python bench/year.py [--repeat 1] [--trust-size 1500]

Runs what ``make demo`` runs — ``plancycle.demo.main`` in a fresh ``python`` process, into a
temporary folder: a local Prefect server started for the year (its start-up is timed), the
register, the portal, Great Expectations validation of every upload, the plan documents
(HTML + PDF), the board gates, the submission and every email into the local mail sink —
and times the whole process from exec to exit. The run must end with the cycle complete
(exit 0). Prints the best and median wall time and the ratio to the 30 s target.

Also prints where the time went in the last run when ``--profile`` is given (py-spy, if
installed, sampling the demo process; not part of the figure).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = 30.0
DEMO = ("import sys; from pathlib import Path; from plancycle.demo import main; "
        "sys.exit(main(Path(sys.argv[1]), trust_size=int(sys.argv[2])))")


def one_year(folder: Path, trust_size: int, profile: Path | None) -> tuple[float, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PLANCYCLE_", "PREFECT_API_URL", "PREFECT_UI_URL"))}
    env.update(PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1",
               GX_ANALYTICS_ENABLED="false", COLUMNS="120")
    argv = [sys.executable, "-c", DEMO, str(folder), str(trust_size)]
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) if profile else None
    if spy:
        argv = [spy, "record", "-f", "raw", "-r", "20", "-o", str(profile), "--", *argv]
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True)
    took = time.perf_counter() - started
    output = done.stdout + done.stderr
    if done.returncode != 0 or "Cycle complete: True" not in output:
        raise SystemExit(f"the simulated year did not complete (exit {done.returncode}):\n"
                         f"{output[-4000:]}")
    return took, output


OURS = ("plancycle/", "flows/", "tasks/")


def where(profile: Path, top: int = 15) -> None:
    """The plancycle/flows functions that held the main thread longest (inclusive)."""
    from collections import Counter

    counts: Counter[str] = Counter()
    total = 0
    for line in profile.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        total += int(n)
        seen = set()
        for frame in stack.split(";"):
            function, _, where_ = frame.partition(" (")
            path = where_.rsplit(":", 1)[0]
            # py-spy names the repo's files relative to the working directory and the
            # rest by absolute path; match both spellings of ours.
            ours = path.startswith(OURS) or (
                "site-packages" not in path and any(f"/{d}" in path for d in OURS))
            if ours:
                name = function + " " + path.rsplit("/", 1)[-1]
                if name not in seen:
                    seen.add(name)
                    counts[name] += int(n)
    for name, n in counts.most_common(top):
        print(f"  {n / max(total, 1):6.1%}  {name}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--trust-size", type=int, default=1500)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    times = []
    with tempfile.TemporaryDirectory(prefix="plancycle-bench-year-") as tmp:
        for i in range(args.repeat):
            folder = Path(tmp) / f"year-{i}"
            profile = Path(tmp) / "profile.txt" if args.profile and i == args.repeat - 1 \
                else None
            took, output = one_year(folder, args.trust_size, profile)
            times.append(took)
            rehearsed = next((line.strip() for line in output.splitlines()
                              if "rehearsed in" in line), "")
            print(f"run {i + 1}: {took:.1f} s whole process ({rehearsed})", flush=True)
            if profile is not None and profile.exists():
                print("where the time went (share of samples, inclusive):")
                where(profile)
    best = min(times)
    print(f"simulated year, whole process with its Prefect server: best {best:.1f} s, "
          f"median {statistics.median(times):.1f} s")
    print(f"ratio year / {TARGET:.0f} s target: {best / TARGET:.2f} (target ≤ 1.00, i.e. "
          f"≤ {TARGET:.0f} s)")
    return 0 if best <= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
