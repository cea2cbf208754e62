"""The ``plancycle`` command line: one Typer app, one module per noun.

User mistakes (bad config, unknown cycle, bad date) print a clear message and exit 2;
they never show a traceback.
"""

from __future__ import annotations

import gc
import sys
import threading
from collections.abc import Callable

import typer

from plancycle.cli import (
    actions_cmd,
    audit_cmd,
    calendar_cmd,
    config_cmd,
    cycle_cmd,
    gate_cmd,
    ics_cmd,
    plan_cmd,
    return_cmd,
    rollforward_cmd,
    run_cmd,
    stack_cmd,
    task_cmd,
)
from plancycle.cli.common import UserError, console_err
from plancycle.cli.portal_cmd import link_app, serve_portal

app = typer.Typer(
    name="plancycle",
    help="Run an NHS organisation's annual workforce planning cycle.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(config_cmd.app, name="config")
app.add_typer(cycle_cmd.app, name="cycle")
app.add_typer(task_cmd.app, name="task")
app.add_typer(task_cmd.person_app, name="person")
app.add_typer(gate_cmd.app, name="gate")
app.add_typer(return_cmd.app, name="return")
app.add_typer(plan_cmd.app, name="plan")
app.command("demo-data")(plan_cmd.demo_data)
app.command("chase")(run_cmd.chase)
cycle_cmd.app.command("run")(run_cmd.run)
app.command("portal")(serve_portal)
app.add_typer(link_app, name="link")
cycle_cmd.app.command("audit")(audit_cmd.audit)
cycle_cmd.app.command("unlock")(audit_cmd.unlock)
cycle_cmd.app.command("roll-forward")(rollforward_cmd.roll_forward_cmd)
cycle_cmd.app.command("ics")(calendar_cmd.ics)
app.add_typer(actions_cmd.app, name="actions")
app.add_typer(ics_cmd.app, name="ics")
app.add_typer(stack_cmd.app, name="stack")


#: How long a command runs before the cyclic garbage collector is resumed (see ``main``).
STARTUP_SECONDS = 2.0


def _quiet_start(seconds: float) -> Callable[[], None]:
    """Pause the cyclic collector while the command starts; return what ends the pause.

    Why: a command's first half-second imports pandas, SQLAlchemy, pyarrow and its own
    modules — about a million long-lived objects and next to no garbage — and the collector
    walks them again and again meanwhile, then once more at interpreter exit (≈0.3 s of a
    one-second ``plancycle ics rollup``). A command that ends within ``seconds`` moves what
    exists out of the collector's sight as it returns (``gc.freeze``, as for Great
    Expectations' import), so the exit pays nothing; a longer one (a chase, the portal)
    simply has collection resumed after ``seconds`` and collects its garbage as usual —
    nothing it allocates is frozen. Reference counting frees memory throughout.
    """
    if not gc.isenabled():
        return lambda: None
    gc.disable()
    timer = threading.Timer(seconds, gc.enable)
    timer.daemon = True
    timer.start()

    def done() -> None:
        timer.cancel()
        if not gc.isenabled():
            gc.freeze()
            gc.enable()

    return done


def main() -> None:
    """The ``plancycle`` executable: run the command; a user's mistake exits 2, untraced."""
    settle = _quiet_start(STARTUP_SECONDS)
    try:
        app()
    except UserError as exc:
        console_err.print("error:", str(exc), style="bold red", highlight=False, markup=False,
                          emoji=False, soft_wrap=True)
        sys.exit(2)
    finally:
        settle()


if __name__ == "__main__":
    main()
