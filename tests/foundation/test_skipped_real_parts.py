"""``make test`` never hides a skipped real part (issue 18.10).

Given a run in which a Postgres test cannot start its server, when the run ends, then it lists
the skipped test with the reason (which says how to enable it) under a loud heading; and with
``PLANCYCLE_REQUIRE_REAL_PARTS=1`` (what ``.ci/run`` sets) the run fails.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"
SKIPPING = """
import pytest

def test_postgres():
    pytest.skip("Postgres binaries (initdb, pg_ctl) are not on PATH")

def test_plain():
    assert True
"""


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(CONFTEST.read_text())
    pytester.makepyfile(test_parts=SKIPPING)
    return pytester


def test_a_skipped_real_part_is_listed_loudly(suite: pytest.Pytester,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PLANCYCLE_REQUIRE_REAL_PARTS", raising=False)
    result = suite.runpytest_subprocess("-q")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*REAL PARTS NOT TESTED*",
                                 "1 test(s) skipped: Postgres binaries (initdb, pg_ctl) are not "
                                 "on PATH", "*test_parts.py::test_postgres"])


def test_ci_fails_when_a_real_part_is_skipped(suite: pytest.Pytester,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLANCYCLE_REQUIRE_REAL_PARTS", "1")
    result = suite.runpytest_subprocess("-q")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*a skipped real part fails this run*"])


def test_ci_script_requires_every_real_part() -> None:
    script = (Path(__file__).resolve().parents[2] / ".ci" / "run").read_text()
    assert "export PLANCYCLE_REQUIRE_REAL_PARTS=1" in script
    assert script.index("PLANCYCLE_REQUIRE_REAL_PARTS=1") < script.rindex("make test")


def test_a_run_without_skips_says_nothing(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST.read_text())
    pytester.makepyfile(test_ok="def test_ok():\n    assert True\n")
    result = pytester.runpytest_subprocess("-q")
    assert result.ret == 0
    assert "REAL PARTS NOT TESTED" not in result.stdout.str()
