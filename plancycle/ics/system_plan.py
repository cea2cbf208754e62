"""The system plan: the organisations' returns analysed as one system, rendered by the same
document machinery as an organisation's plan.

Why the same machinery: the People Board reads the system plan in the outline it already
knows (Appendix F, Annexes B–G) and signs it the same way (document hash, signature page).

How: every organisation's accepted returns are pooled — person and assignment ids and
locations are prefixed with the ORG_CODE, because ids are only unique within an
organisation's ESR and "Main Hospital" is a different place in each trust — and analysed with
:func:`plancycle.analysis.analyse`. The supply, demand and gap projections then use the
system's own leaving, recruitment and growth rates (a system projection, not a sum of the
organisations' projections). Headcount is blanked wherever it would add people up across
organisations (the total, and the headcount columns of the B.1 tables), and the plan says
why; profiles (age, gender, ethnicity) stay as shares of the organisations' staff records.

When organisations report different latest months, the pooled vacancy position and period
follow the system's latest month; the system tables (:mod:`plancycle.ics.rollup`) keep each
organisation's own, so compare the two when the months differ.
"""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from plancycle.analysis import WorkforceAnalysis, analyse
from plancycle.analysis.frames import ANALYSED_KINDS
from plancycle.config.model import CycleConfig
from plancycle.documents import PlanContext, Signature
from plancycle.ics.flags import Flag, flags_frame
from plancycle.ics.rollup import HEADCOUNT_NOTE, TURNOVER_NOTE, OrganisationReturns, SystemTables
from plancycle.returns.hostile import neutralise_frame

SYSTEM_TABLES = "system_tables"  # document kind of the tables in the register
TITLE = "System Workforce Plan"
_NAMESPACED = ("person_id", "assignment_id", "location")
_HEADCOUNT_TABLES = ("by_staff_group", "by_grade", "by_service", "by_location", "skill_mix")


def pooled_returns(members: Sequence[OrganisationReturns]) -> dict[str, pd.DataFrame]:
    """Each analysed kind for the whole system, ids and locations made unique per org."""
    out: dict[str, pd.DataFrame] = {}
    for kind in ANALYSED_KINDS:
        parts = []
        for member in members:
            frame = member.returns.get(kind)
            if frame is None:
                raise ValueError(f"{member.organisation.org_code} has no accepted {kind} return")
            code = member.organisation.org_code
            changes = {c: code + " " + frame[c].astype(str) for c in _NAMESPACED
                       if kind == "staff_in_post" and c in frame.columns}
            parts.append(frame.assign(**changes) if changes else frame)
        out[kind] = pd.concat(parts, ignore_index=True)
    return out


def system_analysis(members: Sequence[OrganisationReturns], ics_code: str,
                    financial_year: str | None = None) -> WorkforceAnalysis:
    """One WorkforceAnalysis for the system, with cross-organisation headcount blanked."""
    pooled = pooled_returns(members)
    result = analyse(pooled, {k: True for k in ANALYSED_KINDS}, financial_year=financial_year)
    current = result.current
    blanked = {name: getattr(current, name).assign(headcount=float("nan"))
               for name in _HEADCOUNT_TABLES if "headcount" in getattr(current, name).columns}
    current = dataclasses.replace(current, headcount=float("nan"), **blanked)  # type: ignore[arg-type]
    notes = [HEADCOUNT_NOTE, TURNOVER_NOTE,
             f"Pooled from the accepted returns of {len(members)} organisations: "
             + ", ".join(m.organisation.org_code for m in members) + "."]
    return dataclasses.replace(result, org_code=ics_code, current=current,
                               notes=[*notes, *result.notes])


def system_context(base: PlanContext, config: CycleConfig,
                   members: Sequence[OrganisationReturns], flags: Sequence[Flag] = (),
                   signatures: Sequence[Signature] | None = None) -> PlanContext:
    """The plan context of the system plan, from the ICS cycle's own (``plan_context``)."""
    ics = config.ics
    name = f"{ics.name} Integrated Care System" if ics else base.organisation_name
    by_place: dict[str, list[str]] = {}
    for m in members:
        o = m.organisation
        by_place.setdefault(o.place, []).append(
            f"{o.name} ({o.org_code}, {o.type.replace('_', ' ')})")
    places = "; ".join(f"{place}: {', '.join(orgs)}" for place, orgs in by_place.items())
    queried = sorted({f.org_code for f in flags})
    paragraphs = [
        f"{name} ({ics.code if ics else ''}"
        + (f", NHS England {ics.region} region" if ics and ics.region else "")
        + f") brings together {len(members)} organisations' workforce plans. By place — "
        f"{places}.",
        "This system plan is built from every organisation's board-approved plan and the "
        "accepted data returns behind it, rolled up by organisation, staff group and place "
        "and triangulated with the organisations' pay budgets and activity plans. Its "
        "projections apply system-wide rates to the system's workforce.",
        HEADCOUNT_NOTE + " Where this plan shows '–' for headcount, that is why.",
    ]
    if queried:
        paragraphs.append(
            f"{len(flags)} consistency flag{'s' if len(flags) != 1 else ''} were raised with "
            f"{', '.join(queried)} (figures differing from the published NHS statistics or "
            "from last year); see the system tables.")
    return dataclasses.replace(
        base, title=TITLE, organisation_name=name, ics_name=None,
        organisation_noun="the system", prepared_by=_system_preparer(base.prepared_by),
        local_context="\n\n".join(paragraphs),
        version=("Approved by the ICS People Board (signed)" if signatures
                 else "Draft for ICS People Board approval"),
        signatures=tuple(signatures or ()))


def _system_preparer(prepared_by: str) -> str:
    return prepared_by.replace("Workforce Planner (Trust)", "ICS Workforce Lead")


# --- the system tables as a document --------------------------------------------------------

_FORMATS = {"_pct": "{:.1f}%", "_gbp": "£{:,.0f}", "wte": "{:,.1f}", "_wte": "{:,.1f}"}


def _cell(column: str, value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "–"
    if isinstance(value, float):
        for suffix, fmt in _FORMATS.items():
            if column.endswith(suffix):
                return fmt.format(value)
        return f"{value:,.2f}"
    return html.escape(str(value))


def _table(title: str, frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in frame.columns)
    rows = "".join("<tr>" + "".join(f"<td>{_cell(c, v)}</td>" for c, v in zip(
        frame.columns, row, strict=True)) + "</tr>" for row in frame.itertuples(index=False))
    return f"<h2>{html.escape(title)}</h2>\n<table><thead><tr>{head}</tr></thead>" \
           f"<tbody>{rows}</tbody></table>\n"


def tables_html(name: str, financial_year: str, tables: SystemTables, flags: Sequence[Flag],
                gap: pd.DataFrame | None = None, plans: pd.DataFrame | None = None,
                gap_groups: pd.DataFrame | None = None,
                extra: dict[str, pd.DataFrame] | None = None) -> str:
    """A self-contained HTML page of the system tables (deterministic for the same inputs)."""
    parts = [f"<!DOCTYPE html><html lang='en-GB'><head><meta charset='utf-8'><title>System "
             f"tables {financial_year} – {html.escape(name)}</title><style>body{{font-family:"
             "sans-serif;font-size:10pt}}table{{border-collapse:collapse;margin-bottom:1em}}"
             "td,th{{border:1px solid #999;padding:2px 4px;text-align:right}}"
             "td:first-child,th:first-child{{text-align:left}}</style></head><body>",
             f"<h1>System tables {financial_year} – {html.escape(name)}</h1>"]
    parts += [f"<p>{html.escape(n)}</p>" for n in tables.notes]
    system = pd.DataFrame([{k: v for k, v in tables.system.items() if k != "headcount_note"}])
    parts.append(_table("System totals", system))
    parts.append(_table("By organisation", tables.organisations))
    parts.append(_table("By place", tables.place))
    parts.append(_table("By staff group", tables.staff_group))
    parts.append(_table("By organisation and staff group", tables.organisation_staff_group))
    parts.append(_table("Finance and activity triangulation", tables.triangulation))
    if gap is not None:
        parts.append(_table("Supply, demand and gap by year (system projection)", gap))
    if gap_groups is not None:
        parts.append(_table("Supply, demand and gap by staff group and year (system "
                            "projection)", gap_groups))
    if plans is not None:
        parts.append(_table("Organisations' plans and submissions", plans))
    parts.append(_table("Consistency flags", flags_frame(flags)))
    for title, frame in (extra or {}).items():
        parts.append(_table(title.replace("_", " ").capitalize(), _plain(frame)))
    parts.append("</body></html>\n")
    return "".join(parts)


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Decimals as their exact text (CSV and HTML show 438004.36505, never float noise)."""
    from decimal import Decimal

    return frame.map(lambda v: format(v, "f") if isinstance(v, Decimal) else v)


def write_tables(directory: Path, tables: SystemTables, flags: Sequence[Flag],
                 gap: pd.DataFrame | None = None, plans: pd.DataFrame | None = None,
                 gap_groups: pd.DataFrame | None = None,
                 extra: dict[str, pd.DataFrame] | None = None) -> dict[str, Path]:
    """Every table as CSV in ``directory`` (the folder is named by the tables' hash)."""
    directory.mkdir(parents=True, exist_ok=True)
    frames = dict(tables.frames())
    frames["flags"] = flags_frame(flags)
    if gap is not None:
        frames["gap_by_year"] = gap
    if gap_groups is not None:
        frames["gap_by_staff_group"] = gap_groups
    if plans is not None:
        frames["organisation_plans"] = plans
    frames.update({name: _plain(frame) for name, frame in (extra or {}).items()})
    written = {}
    for name, frame in frames.items():
        path = directory / f"{name}.csv"
        neutralise_frame(frame).to_csv(path, index=False, lineterminator="\n")
        written[name] = path
    return written
