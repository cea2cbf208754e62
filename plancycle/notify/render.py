"""Rendering notifications from the Jinja2 templates in ``templates/notifications/``.

Every message comes in three shapes: plain text and HTML for email, and a short chat line.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    chat: str


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "html.j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["day"] = lambda d: f"{d:%a %d %b %Y}" if d else ""
    env.filters["plural"] = lambda n, word: f"{n} {word}{'' if n == 1 else 's'}"
    return env


SUBJECTS = {
    "new_task": "New task: {task} (due {due:%d %b})",
    "reminder": "Reminder: {task} is due in {days} working day{s} ({due:%d %b})",
    "due": "Due today: {task}",
    "overdue": "Overdue by {overdue} working day{os}: {task}",
    "escalation": "Escalation: {assignee}'s task '{task}' is {overdue} working days overdue",
    "escalation_fallback": "Escalation with nobody to receive it: {assignee}'s task '{task}' is "
                           "{overdue} working days overdue",
    "digest": "Your open workforce planning tasks ({count})",
    "dq_report": "{outcome}: data quality report for {task} (version {version})",
    "approval_request": "Your decision is needed: {task} ({document})",
    "reopened": "Reopened after a rejection: {task} (new due date {due:%d %b})",
    "handed_over": "Handed over: {task} is no longer yours",
    "template_sent_back": "Sent back by the ICS: your workforce plan template ({task})",
}
#: Kinds with their own templates; every other kind uses the "task" templates.
OWN_TEMPLATES = {"digest", "dq_report", "approval_request", "reopened", "handed_over",
                 "template_sent_back"}


ALL_SHAPES = frozenset({"text", "html", "chat"})


def render(kind: str, context: dict[str, Any], shapes: frozenset[str] = ALL_SHAPES
           ) -> Rendered:
    """Render one message kind ('new_task', 'reminder', …) with its context.

    ``shapes`` names the renderings wanted (a chat-only message needs no HTML); the others
    are left empty.
    """
    template = kind if kind in OWN_TEMPLATES else "task"
    env = environment()
    ctx = {**context, "kind": kind}
    subject = SUBJECTS[kind].format(
        task=ctx.get("task_name", ""), due=ctx.get("due_on"), days=ctx.get("days_to_due", 0),
        s="" if ctx.get("days_to_due") == 1 else "s", overdue=ctx.get("days_overdue", 0),
        os="" if ctx.get("days_overdue") == 1 else "s", assignee=ctx.get("assignee_name", ""),
        count=len(ctx.get("items", [])), outcome=ctx.get("outcome", ""),
        version=ctx.get("version", ""), document=ctx.get("document_label", ""),
    )
    def shape(suffix: str, wanted: str) -> str:
        if wanted not in shapes:
            return ""
        return env.get_template(f"notifications/{template}.{suffix}.j2").render(ctx)

    return Rendered(subject=subject, text=shape("txt", "text"), html=shape("html", "html"),
                    chat=shape("chat", "chat").strip())
