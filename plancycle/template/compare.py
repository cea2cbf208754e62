"""What changed in the workforce plan template between two builds (for ``plan build``).

Why: the planner adjusts the scenario and assumptions in the cycle YAML and rebuilds; they
need to see, in a few lines, what that did to the trajectory the board will approve.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from plancycle.template.model import ALL_GROUPS, MONTHS, OPENING, WorkforceTemplate, text
from plancycle.template.workbook import read_xlsx, template_from_sheets


def load(path: Path) -> WorkforceTemplate:
    return template_from_sheets(read_xlsx(path.read_bytes()))


def _signed(value: Decimal) -> str:
    return ("+" if value > 0 else "") + text(value)


def describe_change(current: Path, previous: Path | None) -> list[str]:
    """Headline lines: the trajectory now, and against the previous version if there is one."""
    new = load(current)
    end = MONTHS[-1]
    lines = [f"WTE {text(new.wte(period=OPENING))} at opening → {text(new.wte(period=end))} "
             f"in March ({_signed(new.wte(period=end) - new.wte(period=OPENING))}); agency share "
             f"{text(new.kpi('agency_share_pct', end))}% in March; validation: "
             f"{len(new.validation)} item(s)"]
    if previous is None or not previous.exists():
        return lines
    old = load(previous)
    changes = []
    for group in [*new.staff_groups, ALL_GROUPS]:
        try:
            before = old.wte(group, period=end)
        except KeyError:
            before = Decimal(0)
        after = new.wte(group, period=end)
        if after != before:
            changes.append(f"{group} {text(before)} → {text(after)} ({_signed(after - before)})")
    old_assumptions, new_assumptions = dict(old.assumptions), dict(new.assumptions)
    changed = [f"{k}: {old_assumptions.get(k, '–')} → {v}" for k, v in new_assumptions.items()
               if old_assumptions.get(k) != v]
    if changed:
        lines.append("assumptions changed: " + "; ".join(changed))
    lines.append("March WTE against the previous version: "
                 + ("; ".join(changes) if changes else "no change"))
    return lines
