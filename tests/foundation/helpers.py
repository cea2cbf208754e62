"""Helpers for the foundation tests: where things are and how to run the real CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / "tests" / "fixtures" / "configs"
VALID_SMALL = CONFIGS / "valid_small.yaml"
SAMPLE = REPO / "cycle_config" / "trust_annual_cycle.yaml"
MISTAKE = "# MISTAKE"  # marks, in a broken fixture, the line its error must point at


def plancycle_exe() -> str:
    """The installed ``plancycle`` console script of the interpreter running the tests."""
    beside = Path(sys.executable).with_name("plancycle")
    if beside.exists():
        return str(beside)
    found = shutil.which("plancycle")
    if found is None:
        pytest.fail("the plancycle console script is not installed (pip install -e .)")
    return found


def cli_env(**extra: str) -> dict[str, str]:
    """The current environment, made deterministic for rich's output (no colour, no wrap)."""
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TERM")}
    env.update(COLUMNS="200", LINES="50", NO_COLOR="1", PYTHONIOENCODING="utf-8", **extra)
    return env


def run_cli(*args: str, env: dict[str, str] | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``plancycle ARGS`` from the repository root, as a planner would."""
    return subprocess.run(
        [plancycle_exe(), *args], cwd=REPO, env=env or cli_env(), capture_output=True,
        text=True, encoding="utf-8", timeout=timeout, check=False)


def run_cli_many(calls: list[tuple[list[str], dict[str, str]]], independent: bool = False
                 ) -> list[subprocess.CompletedProcess[str]]:
    """Run many ``plancycle`` invocations (args, env), in order, in one process.

    See cli_batch.py. With PLANCYCLE_TESTS_PROCESS_PER_CALL=1 each runs in its own process
    instead (slower, same results; in parallel if the calls are ``independent``).
    """
    if os.environ.get("PLANCYCLE_TESTS_PROCESS_PER_CALL"):
        workers = max(2, os.cpu_count() or 1) if independent else 1
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(lambda call: run_cli(*call[0], env=call[1]), calls))
    driver = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("cli_batch.py"))],
        input=json.dumps([{"args": args, "env": env} for args, env in calls]), cwd=REPO,
        env=cli_env(), capture_output=True, text=True, encoding="utf-8", timeout=300,
        check=False)
    if driver.returncode != 0:
        pytest.fail(f"the CLI batch driver failed:\n{driver.stderr}")
    return [subprocess.CompletedProcess([plancycle_exe(), *r["args"]], r["returncode"],
                                        r["stdout"], r["stderr"])
            for r in json.loads(driver.stdout)]


def mistake_lines(path: Path) -> list[int]:
    """1-based numbers of the lines marked ``# MISTAKE`` in a fixture."""
    text = path.read_text(encoding="utf-8")
    return [n for n, line in enumerate(text.splitlines(), start=1)
            if line.rstrip().endswith(MISTAKE) and not line.lstrip().startswith("#")]
