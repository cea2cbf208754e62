"""Helpers shared by the CLI commands: consoles, the register, user errors.

Kept light on purpose: every command imports this module, so it pulls in no SQLAlchemy,
pydantic or pandas at import time — each command imports what it uses when it runs
(``plancycle --help`` pays for none of it).
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import typer
from rich.console import Console

if TYPE_CHECKING:
    from plancycle.clock import Clock
    from plancycle.config import CycleConfig
    from plancycle.register import Register

console = Console()
console_err = Console(stderr=True)


class UserError(Exception):
    """A mistake the user can fix; printed without a traceback, exit code 2."""


def parse_day(value: str | None, option: str = "--as-of") -> date | None:
    """An ISO date typed for ``option``, or a user error naming the option."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UserError(f"{option} {value!r} is not a date; write it as YYYY-MM-DD") from None


def load_or_exit(path: str) -> CycleConfig:
    """The cycle file, or exit 2 listing every problem; warnings are printed, not fatal."""
    from plancycle.config import ConfigError, load_config

    try:
        config = load_config(path)
    except ConfigError as exc:
        console_err.print(str(exc), highlight=False, markup=False, emoji=False, soft_wrap=True)
        raise typer.Exit(2) from None
    for warning in config.warnings:
        console_err.print(str(warning), style="yellow", highlight=False, markup=False,
                          emoji=False, soft_wrap=True)
    return config


def open_register(clock: Clock | None = None, as_of: date | None = None) -> Register:
    from plancycle.clock import clock_at
    from plancycle.register import Register

    register = Register(clock=clock or clock_at(as_of))
    register.migrate()
    return register


def resolve_cycle_id(register: Register, cycle_id: str | None) -> str:
    """The cycle named, or the only cycle in the register."""
    from sqlalchemy import select

    from plancycle.register import Cycle

    with register.session() as session:
        ids = list(session.scalars(select(Cycle.id).order_by(Cycle.started_at)))
    if cycle_id:
        if cycle_id not in ids:
            known = ", ".join(ids) or "none yet"
            raise UserError(f"no cycle '{cycle_id}' in the register (cycles: {known}); "
                            "start one with `plancycle cycle start FILE`")
        return cycle_id
    if not ids:
        raise UserError("the register has no cycles yet; start one with "
                        "`plancycle cycle start cycle_config/trust_annual_cycle.yaml`")
    if len(ids) > 1:
        raise UserError(
            f"several cycles in the register ({', '.join(ids)}); choose one with --cycle")
    return ids[0]
