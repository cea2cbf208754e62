"""``plancycle stack up | down | status | env``: the production stack on this machine.

Imports stay light here (the CLI loads every sub-app): the stack's parts load Prefect and
the register only when a command runs.
"""

from __future__ import annotations

from typing import Annotated

import typer

from plancycle.cli.common import UserError, console

app = typer.Typer(help="The production stack on this machine: Postgres, Prefect server, "
                       "workers, deployments, portal.", no_args_is_help=True)

HomeOpt = Annotated[str | None, typer.Option(
    "--home", help="Stack folder (default: $PLANCYCLE_STACK_HOME or $PLANCYCLE_HOME/stack)")]


def _stack(home: str | None):  # type: ignore[no-untyped-def]
    from plancycle.stack import Stack, StackHome

    return Stack(StackHome.at(home))


def _echo(line: str) -> None:
    console.print(line, highlight=False, markup=False, soft_wrap=True)


@app.command("up")
def up(
    home: HomeOpt = None,
    workers: Annotated[int | None, typer.Option(
        help="Workers polling the pool [default: 2, or as last time]", min=1)] = None,
    worker_limit: Annotated[int | None, typer.Option(
        help="Flow runs each worker runs at once, 0 for no limit [default: 4, or as last "
             "time]", min=0)] = None,
    sample: Annotated[bool, typer.Option(
        help="Start the sample trust's cycle in the register")] = False,
    scheduler: Annotated[bool | None, typer.Option(
        "--scheduler/--no-scheduler",
        help="Run Prefect's scheduler, so scheduled runs start on their own [default: on, "
             "or as last time]")] = None,
) -> None:
    """Bring the stack up (safe to run again: what runs is left running).

    Options not given keep their values from the last `stack up`.
    """
    import time

    from plancycle.stack import StackError, describe

    stack = _stack(home)
    started = time.monotonic()
    options = stack.recorded_options(workers=workers, scheduler=scheduler)
    if worker_limit is not None:
        options.worker_limit = worker_limit or None
    options.sample = sample
    try:
        report = stack.up(options, echo=_echo)
    except StackError as exc:
        raise UserError(f"the stack did not come up: {exc}") from None
    if report.started:
        _echo(f"started: {', '.join(report.started)}")
    if report.already:
        _echo(f"already running: {', '.join(report.already)}")
    _echo(f"the stack is up ({time.monotonic() - started:.0f} s):")
    for name, where in describe(stack).items():
        _echo(f"  {name:<22} {where}")
    _echo("Use it from this shell:  eval \"$(plancycle stack env"
          + (f" --home {home}" if home else "") + ")\"")


@app.command("down")
def down(home: HomeOpt = None) -> None:
    """Stop every part of the stack (data is kept; `stack up` starts it again)."""
    _stack(home).down(echo=_echo)


@app.command("status")
def status(home: HomeOpt = None) -> None:
    """Each part: running or not, the workers polling, the next scheduled chaser run."""
    from rich.table import Table

    rows = _stack(home).status()
    table = Table(show_header=True, header_style="bold")
    for column in ("part", "", "state", "where"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(row.part, "[green]ok[/]" if row.ok else "[red]down[/]", row.detail,
                      " ".join(x for x in (row.url, f"log {row.log}" if row.log else None)
                               if x))
    console.print(table)
    if not all(row.ok for row in rows):
        raise typer.Exit(1)


@app.command("env")
def env(home: HomeOpt = None) -> None:
    """Shell exports that point the CLI at the stack: eval "$(plancycle stack env)"."""
    from plancycle.stack import shell_exports

    print(shell_exports(_stack(home)))
