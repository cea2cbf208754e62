"""The planner's commands: ``plancycle demo-data`` and a refused ``plancycle plan build``.

All invocations run once, in one batch process (tests/foundation/cli_batch.py), exactly as
the console script runs them; mistakes exit 2 with a message and never a traceback.
"""

from __future__ import annotations

import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from plancycle.synthetic import RETURN_KINDS
from tests.foundation.helpers import cli_env, run_cli_many
from tests.planning.conftest import open_trust


def said(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stdout + result.stderr
    return " ".join((result.stdout + result.stderr).split())


@pytest.fixture(scope="module")
def ran(tmp_path_factory, trust_returns) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("cli")
    env = cli_env(PLANCYCLE_HOME=str(root / "empty-home"))
    with pytest.MonkeyPatch.context() as patch:   # a cycle whose sickness return failed
        refused_home = root / "refused-home"
        trust = open_trust(refused_home, patch)
        trust.upload_all({k: v for k, v in trust_returns.items() if k != "sickness_absence"},
                         on=date(2026, 4, 20))
        trust.upload("sickness_absence", trust_returns["sickness_absence"], "failed",
                     failed_checks=2, on=date(2026, 5, 12))
        trust.runtime.register.dispose()
    refused_env = cli_env(PLANCYCLE_HOME=str(refused_home), PLANCYCLE_LINK_SECRET="x",
                          PLANCYCLE_DATABASE_URL=f"sqlite:///{refused_home / 'register.db'}")
    calls = {
        "first": ["demo-data", "--size", "300", "--seed", "5", "--out", str(root / "a")],
        "again": ["demo-data", "--size", "300", "--seed", "5", "--out", str(root / "b")],
        "other seed": ["demo-data", "--size", "300", "--seed", "6", "--out", str(root / "c")],
        "xlsx": ["demo-data", "--size", "300", "--seed", "5", "--format", "xlsx",
                 "--out", str(root / "x")],
        "defects": ["demo-data", "--size", "300", "--seed", "5", "--defects",
                    "wte_out_of_range, bad_month", "--out", str(root / "d")],
        "unknown defect": ["demo-data", "--defects", "typo", "--out", str(root / "e")],
        "too small": ["demo-data", "--size", "10", "--out", str(root / "f")],
        "bad format": ["demo-data", "--format", "ods", "--out", str(root / "g")],
        "refused": ["plan", "build"],
        "nothing built": ["plan", "show"],
    }
    envs = {"refused": refused_env, "nothing built": refused_env}
    results = run_cli_many([(args, envs.get(name, env)) for name, args in calls.items()])
    return {"root": root, **dict(zip(calls, results, strict=True))}


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_demo_data_writes_one_file_per_return_kind_and_says_so(ran):
    root = ran["root"]
    assert ran["first"].returncode == 0, said(ran["first"])
    assert sorted(files(root / "a")) == sorted(f"{kind}.csv" for kind in RETURN_KINDS)
    text = said(ran["first"])
    assert "Synthetic trust RXX (300 people, seed 5, 2026/27): 9 returns written to" in text
    staff = pd.read_csv(root / "a" / "staff_in_post.csv")
    assert f"staff_in_post {len(staff):,} rows {root / 'a' / 'staff_in_post.csv'}" in text


def test_the_same_seed_gives_identical_files_and_another_seed_does_not(ran):
    root = ran["root"]
    assert files(root / "a") == files(root / "b")
    other = files(root / "c")
    assert other.keys() == files(root / "a").keys()
    assert other["staff_in_post.csv"] != files(root / "a")["staff_in_post.csv"]


def test_xlsx_holds_the_same_returns_and_defects_are_injected(ran):
    root = ran["root"]
    assert ran["xlsx"].returncode == 0, said(ran["xlsx"])
    assert sorted(p.name for p in (root / "x").iterdir()) == sorted(
        f"{kind}.xlsx" for kind in RETURN_KINDS)
    from_csv = pd.read_csv(root / "a" / "vacancies.csv")
    from_xlsx = pd.read_excel(root / "x" / "vacancies.xlsx")
    pd.testing.assert_frame_equal(from_csv, from_xlsx, check_dtype=False)
    assert ran["defects"].returncode == 0
    assert "with defects bad_month, wte_out_of_range" in said(ran["defects"])
    assert files(root / "d") != files(root / "a")


def test_demo_data_mistakes_exit_2_with_the_fix(ran):
    for name, expected in (
            ("unknown defect", "unknown defect(s): typo; choose from bad_ethnic_code"),
            ("too small", "size must be at least 50 people, got 10"),
            ("bad format", "--format must be csv or xlsx, not 'ods'")):
        assert ran[name].returncode == 2, name
        assert expected in said(ran[name]), name


def test_a_refused_plan_build_exits_2_naming_the_return(ran):
    result = ran["refused"]
    assert result.returncode == 2
    text = said(result)
    assert "no plan built for rxx-2026-27" in text
    assert ("sickness_absence: not accepted (the latest upload (v1, 12 May) failed "
            "validation: 2 checks failed)") in text
    assert "Chase or resubmit these returns" in text
    nothing = ran["nothing built"]
    assert nothing.returncode == 2
    assert "no plan has been built for rxx-2026-27 yet; run `plancycle plan build`" in \
        said(nothing)
