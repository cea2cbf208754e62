"""Commands pay only for what they use: ``--help`` and ``config validate`` import no
Prefect, pandas, Great Expectations, SQLAlchemy or WeasyPrint (each costs a second or so
before the user sees anything). Checked by what is imported, not by timing."""

from __future__ import annotations

import subprocess
import sys

import pytest

from .helpers import REPO, cli_env

HEAVY = ("prefect", "pandas", "great_expectations", "weasyprint", "matplotlib", "apprise")


def imported_by(*args: str) -> tuple[int, list[str]]:
    probe = (f"import sys; sys.argv = ['plancycle', *{list(args)!r}]\n"
             "from plancycle.cli import main\n"
             "try:\n    main()\nexcept SystemExit as exc:\n    code = exc.code or 0\n"
             f"print('HEAVY', sorted(m for m in {HEAVY!r} + ('sqlalchemy',) "
             "if m in sys.modules), file=sys.stderr)\n")
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True,
                            text=True, env=cli_env(), timeout=60, check=False)
    line = next(x for x in result.stderr.splitlines() if x.startswith("HEAVY "))
    return result.returncode, eval(line[6:])  # noqa: S307 - our own printed list


@pytest.mark.parametrize("args", [["--help"], ["cycle", "--help"], ["ics", "--help"],
                                  ["config", "validate", "cycle_config/trust_annual_cycle.yaml"]],
                         ids=" ".join)
def test_a_light_command_imports_nothing_heavy(args: list[str]) -> None:
    code, heavy = imported_by(*args)
    assert code == 0
    assert heavy == [], f"`plancycle {' '.join(args)}` imported {heavy}"
