"""Server-rendered pages: the Jinja2 environment of ``templates/portal`` and its filters."""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from plancycle.calendar import WorkingCalendar
from plancycle.clock import LONDON

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "portal"
STATIC = TEMPLATES / "static"


def day(value: date | None) -> str:
    return "" if value is None else f"{value:%a} {value.day} {value:%b %Y}"


def when(value: datetime | None) -> str:
    if value is None:
        return ""
    local = value.astimezone(LONDON)
    return f"{local.day} {local:%b %Y %H:%M}"


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "j2")),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(day=day, when=when, plural=plural)
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)


def timing(calendar: WorkingCalendar, today: date, due_on: date) -> dict[str, Any]:
    """How a due date stands today, in working days: for badges and sorting."""
    days = calendar.working_days_between(today, due_on)
    if days > 0:
        return {"state": "due", "days": days, "overdue": 0,
                "text": f"due in {plural(days, 'working day')}"}
    if days == 0:
        return {"state": "today", "days": 0, "overdue": 0, "text": "due today"}
    return {"state": "overdue", "days": days, "overdue": -days,
            "text": f"overdue by {plural(-days, 'working day')}"}


_MAIN = re.compile(r"<main[^>]*>(.*)</main>", re.S)
_HEADING = re.compile(r"<(/?)h([1-5])\b")


def embed_report(html: str) -> Markup:
    """The DQ report's ``<main>`` (already escaped by its own template), headings one level down
    so it sits under the page's own heading; its inline ``<style>`` is dropped (CSP)."""
    match = _MAIN.search(html)
    body = match.group(1) if match else re.sub(r"<style.*?</style>", "", html, flags=re.S)
    body = _HEADING.sub(lambda m: f"<{m.group(1)}h{int(m.group(2)) + 1}", body)
    return Markup(body)  # noqa: S704 - rendered by the DQ report's autoescaping template
