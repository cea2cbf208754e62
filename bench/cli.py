"""Bench: the CLI as a user runs it — `--help`, `config validate`, and `chase` vs the library.

    .venv/bin/python bench/cli.py [--n 10000] [--repeat 5]

Every figure is the wall time of a whole process, started the way a user starts it (the
``plancycle`` console script of this venv), with no ``PREFECT_API_URL`` and a fresh
``PREFECT_HOME`` (no Prefect profile pointing at a server):

- ``plancycle --help`` and ``plancycle config validate cycle_config/trust_annual_cycle.yaml``:
  best and median of ``--repeat`` runs (target ≤ 1 s each);
- ``plancycle chase --as-of DAY`` on a register of N open assignments (N/5 people × 5 tasks,
  each owed one reminder today: the register of ``bench/chase.py``), against the **same
  chase called as a library function** — ``Runtime.build(...).chase(cycle, day)`` then
  ``.deliver()`` in a plain ``python -c`` process — in the same run, alternating which goes
  first, each from a fresh copy of the register. Both send to the same local SMTP server
  (aiosmtpd in its own process) and must deliver exactly N messages (target ≤ 1.5×).

The machine may be shared: ratios compare best runs; medians are printed too.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import chase as chase_bench  # noqa: E402  (bench/chase.py: register, SMTP server)

VENV_BIN = Path(sys.executable).parent
PLANCYCLE = str(VENV_BIN / "plancycle")
SAMPLE = "cycle_config/trust_annual_cycle.yaml"
DAY = chase_bench.TODAY.isoformat()

LIBRARY = ("from datetime import date\n"
           "from plancycle.clock import clock_at\n"
           "from plancycle.runtime import Runtime\n"
           f"day = date.fromisoformat('{DAY}')\n"
           "rt = Runtime.build(clock=clock_at(day))\n"
           "result = rt.chase('{cycle}', day)\n"
           "report = rt.deliver()\n"
           "print(len(result.planned), result.queued, report.sent, report.failed)\n")


def clean_env(prefect_home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PLANCYCLE_", "PREFECT_"))}
    env.update(PREFECT_HOME=str(prefect_home), PREFECT_SERVER_ANALYTICS_ENABLED="false",
               DO_NOT_TRACK="1", **extra)
    return env


#: CPU seconds (user + system) of the last process :func:`wall` ran: on a shared machine the
#: wall time also waits for other people's work, the CPU time does not.
last_cpu = 0.0


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wall(argv: list[str], env: dict[str, str], cwd: Path = ROOT) -> tuple[float, str]:
    global last_cpu
    cpu = _children_cpu()
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
    took = time.perf_counter() - started
    last_cpu = _children_cpu() - cpu
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:3])} exited {done.returncode}:\n"
                         f"{(done.stdout + done.stderr)[-3000:]}")
    return took, done.stdout + done.stderr


CPU: dict[str, list[float]] = {}   # CPU seconds of each run, by command


def light_commands(work: Path, repeat: int) -> dict[str, list[float]]:
    env = clean_env(work / "prefect-light", PLANCYCLE_HOME=str(work / "light-home"))
    commands = {"plancycle --help": [PLANCYCLE, "--help"],
                "plancycle config validate": [PLANCYCLE, "config", "validate", SAMPLE]}
    times: dict[str, list[float]] = {name: [] for name in commands}
    for name, argv in commands.items():
        wall(argv, env)  # warm the file cache once, like a user's second run
        for _ in range(repeat):
            times[name].append(wall(argv, env)[0])
            CPU.setdefault(name, []).append(last_cpu)
    return times


def chase_vs_library(work: Path, n: int, repeat: int) -> tuple[list[float], list[float]]:
    t0 = time.perf_counter()
    folder = work / "template"
    folder.mkdir()
    template = chase_bench.build(folder, n)
    print(f"register of {n:,} open assignments built in {time.perf_counter() - t0:.1f} s "
          "(not timed)", flush=True)
    smtp = chase_bench.SmtpServer(work, tls=False)
    cli, library = [], []
    try:
        for i in range(repeat):
            sides = [("cli", cli), ("library", library)]
            for side, times in (sides if i % 2 == 0 else sides[::-1]):
                home = work / f"{side}-{i}"
                home.mkdir()
                shutil.copy(template, home / "register.db")
                (home / "link-secret").write_text(chase_bench.SECRET)
                env = clean_env(work / f"prefect-{side}-{i}", PLANCYCLE_HOME=str(home),
                                PLANCYCLE_EMAIL_URL=smtp.url,
                                PLANCYCLE_LINK_SECRET=chase_bench.SECRET,
                                PLANCYCLE_PORTAL_URL=chase_bench.PORTAL)
                smtp.reset()
                if side == "cli":
                    took, output = wall([PLANCYCLE, "chase", "--as-of", DAY], env)
                    CPU.setdefault("cli", []).append(last_cpu)
                    assert "no Prefect flow run recorded" in output, output[-2000:]
                else:
                    code = LIBRARY.replace("{cycle}", "rxx-2026-27")
                    took, output = wall([sys.executable, "-c", code], env)
                    CPU.setdefault("library", []).append(last_cpu)
                received = smtp.count()
                if received != n:
                    raise SystemExit(f"{side} delivered {received} messages, expected {n}:\n"
                                     f"{output[-2000:]}")
                times.append(took)
                shutil.rmtree(home)
    finally:
        smtp.stop()
    return cli, library


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="open assignments to chase")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--chase-repeat", type=int, default=3)
    args = parser.parse_args()

    ok = True
    with tempfile.TemporaryDirectory(prefix="plancycle-bench-cli-") as tmp:
        work = Path(tmp)
        light = light_commands(work, args.repeat)
        for name, times in light.items():
            print(f"{name:<28} best {min(times):.2f} s  median {statistics.median(times):.2f} s"
                  f"  runs {', '.join(f'{t:.2f}' for t in times)}  "
                  f"(CPU best {min(CPU[name]):.2f} s)", flush=True)
        cli, library = chase_vs_library(work, args.n, args.chase_repeat)
    print(f"plancycle chase ({args.n:,})      best {min(cli):.2f} s  median "
          f"{statistics.median(cli):.2f} s  runs {', '.join(f'{t:.2f}' for t in cli)}")
    print(f"library chase + deliver      best {min(library):.2f} s  median "
          f"{statistics.median(library):.2f} s  runs {', '.join(f'{t:.2f}' for t in library)}")
    print()
    for name, times in light.items():
        ok &= min(times) <= 1.0
        print(f"ratio {name} / 1 s: {min(times):.2f} (best; median "
              f"{statistics.median(times):.2f}) (target ≤ 1.00)")
    cpu_cli, cpu_lib = min(CPU["cli"]), min(CPU["library"])
    print(f"CPU time (user + system, best): plancycle chase {cpu_cli:.2f} s, library "
          f"{cpu_lib:.2f} s ({cpu_cli / cpu_lib:.2f}×)")
    ratio = min(cli) / min(library)
    ok &= ratio <= 1.5
    print(f"ratio plancycle chase / library call at {args.n:,}: {ratio:.2f}× best-to-best, "
          f"{statistics.median(cli) / statistics.median(library):.2f}× median (target ≤ 1.5×)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
