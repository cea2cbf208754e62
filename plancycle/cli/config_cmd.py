"""``plancycle config``: validate a cycle file, export the JSON Schema."""

from __future__ import annotations

import json

import typer

from plancycle.cli.common import console, load_or_exit

app = typer.Typer(help="Check cycle configuration files.", no_args_is_help=True)


@app.command("validate")
def validate(file: str = typer.Argument(..., help="Cycle YAML file")) -> None:
    """Check a cycle file; lists every problem with its line and fix (exit code 2 if any)."""
    config = load_or_exit(file)
    console.print(
        f"[green]✓[/] {file}: cycle '{config.cycle.id}' for {config.organisation.name} — "
        f"{len(config.stages)} stages, {len(config.tasks())} tasks, {len(config.people)} people, "
        f"{len(config.roles)} roles", highlight=False)


@app.command("schema")
def schema() -> None:
    """Print the JSON Schema of a cycle file (for editors)."""
    from plancycle.config import config_schema

    typer.echo(json.dumps(config_schema(), indent=2))
