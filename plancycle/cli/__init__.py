"""The ``plancycle`` command line: one Typer app, one module per noun.

User mistakes (bad config, unknown cycle, bad date) print a clear message and exit 2;
they never show a traceback.
"""

from __future__ import annotations

import sys

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


def main() -> None:
    try:
        app()
    except UserError as exc:
        console_err.print("error:", str(exc), style="bold red", highlight=False, markup=False,
                          emoji=False, soft_wrap=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
