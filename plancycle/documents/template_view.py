"""Annex D's workforce plan template tables, and the system plan's organisation pages.

Why here: the plan shows what is submitted — the board signs the plan whose Annex D states the
template's trajectory, bridge and KPIs and its SHA-256, so approving the plan approves the
template. The tables are formatted once, like every other annex table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from plancycle.documents import tables as t
from plancycle.template.model import (
    ALL_GROUPS,
    BRIDGE_ITEMS,
    OPENING,
    STAFF_TYPES,
    TOTAL_TYPE,
    YEAR,
    WorkforceTemplate,
    month_labels,
)

SHOWN_PERIODS = (OPENING, "M3", "M6", "M9", "M12")


def _periods(template: WorkforceTemplate) -> list[tuple[str, str]]:
    labels = month_labels(template.financial_year)
    return [(p, labels[p]) for p in SHOWN_PERIODS]


def trajectory_table(template: WorkforceTemplate, caption: str) -> t.Table:
    f = template.forecast
    rows = pd.concat([f[f["staff_type"] == TOTAL_TYPE],
                      f[(f["staff_group"] == ALL_GROUPS) & f["staff_type"].isin(STAFF_TYPES)]])
    rows = rows.assign(label=[g if s == TOTAL_TYPE else f"{g}: {s}"
                              for g, s in zip(rows["staff_group"], rows["staff_type"],
                                              strict=True)])
    return t.table_from(rows, caption, [("label", "Staff group", t.text),
                                        *[(p, label, t.wte) for p, label in _periods(template)]],
                        note="WTE at each month-end (substantive + bank + agency); the "
                             "template gives every month M1–M12.")


def bridge_table(template: WorkforceTemplate, caption: str) -> t.Table:
    b = template.bridge
    groups = [*template.staff_groups, ALL_GROUPS]
    rows = []
    for g in groups:
        mine = b[b["staff_group"] == g].set_index("item")[YEAR]
        rows.append({"staff_group": g, **{item: mine.get(item) for item in BRIDGE_ITEMS}})
    frame = pd.DataFrame(rows)
    columns = [("staff_group", "Staff group", t.text)]
    columns += [(item, item, t.wte if item in (BRIDGE_ITEMS[0], BRIDGE_ITEMS[-1])
                 else t.signed_wte) for item in BRIDGE_ITEMS]
    return t.table_from(frame, caption, columns,
                        note="Opening + movements = closing for every group and month "
                             "(checked on the template's Validation sheet).")


def kpi_table(template: WorkforceTemplate, caption: str) -> t.Table:
    k = template.kpis[template.kpis["unit"] == "%"]
    return t.table_from(k, caption, [("label", "KPI", t.text),
                                     *[(p, label, t.pct2) for p, label in _periods(template)]])


@dataclass(frozen=True)
class TemplateView:
    sha256: str
    scenario: str
    trajectory: t.Table
    bridge: t.Table
    kpis: t.Table
    issues: list[dict[str, Any]]
    assumptions: list[tuple[str, str]]


def template_view(template: WorkforceTemplate | None, sha256: str | None,
                  number: str = "D.7") -> TemplateView | None:
    if template is None:
        return None
    issues = template.validation.to_dict("records") if template.validation is not None else []
    return TemplateView(
        sha256=sha256 or "",
        scenario=template.cover_value("scenario") or "",
        trajectory=trajectory_table(template, f"{number}a WTE trajectory {template.financial_year}"
                                    " (workforce plan template)"),
        bridge=bridge_table(template, f"{number}b Bridge from opening to closing WTE, "
                            "year to March"),
        kpis=kpi_table(template, f"{number}c Workforce KPIs by month"),
        issues=issues, assumptions=list(template.assumptions))


@dataclass
class SystemView:
    """What only a system plan has: a page per organisation and the system tables."""

    organisations: list[dict[str, Any]] = field(default_factory=list)
    tables: list[t.Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def system_view(templates: Sequence[WorkforceTemplate], system: Any) -> SystemView:
    """Organisation pages from their templates and the system tables from the roll-up
    (``plancycle.ics.templates.SystemTemplate``)."""
    pages = []
    for template in templates:
        pages.append({
            "name": template.org_name, "code": template.org_code,
            "opening": t.wte(template.wte()), "closing": t.wte(template.wte(period="M12")),
            "trajectory": trajectory_table(template, f"{template.org_code} WTE trajectory"),
            "kpis": kpi_table(template, f"{template.org_code} workforce KPIs"),
        })
    org = system.organisations
    tables = [
        t.table_from(org, "H.1 The system by organisation (workforce plan templates)", [
            ("org_code", "Code", t.text), ("org_name", "Organisation", t.text),
            ("opening_wte", "Opening WTE", t.wte), ("closing_wte", "March WTE", t.wte),
            ("change_wte", "Change", t.signed_wte), ("sickness_pct", "Sickness", t.pct2),
            ("vacancy_rate_pct", "Vacancy rate", t.pct), ("agency_share_pct", "Agency share",
                                                           t.pct)],
            note="WTE adds up across organisations; headcount is never summed."),
        trajectory_table(system.template, "H.2 System WTE trajectory by staff group"),
        bridge_table(system.template, "H.3 System bridge from opening to closing WTE"),
        kpi_table(system.template, "H.4 System workforce KPIs"),
    ]
    if system.outliers is not None and len(system.outliers):
        flagged = system.outliers[system.outliers["outlier"]]
        tables.append(t.table_from(flagged, "H.5 Outliers against the published Core 5 "
                                   "baseline", [
                                       ("org_code", "Organisation", t.text),
                                       ("staff_group", "Staff group", t.text),
                                       ("template_opening_wte", "Template opening", t.wte),
                                       ("published_fte", "Published FTE", t.wte),
                                       ("difference_pct", "Difference", t.pct)]))
    return SystemView(pages, tables, list(system.notes))
