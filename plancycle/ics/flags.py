"""Consistency flags: organisations whose figures disagree with published statistics or with
last year.

Why: a system plan is only as good as its worst return, and the ICS cannot re-check every
organisation's data. These checks point the System Workforce Lead at the figures to query
before the roll-up goes to the People Board:

- **published staff in post** — an organisation's staff-in-post WTE by staff group against
  the NHS Workforce Statistics Core 5 FTE published for its ORG_CODE. Core 5 excludes
  medical staff, so HCHS doctors are left out of the comparison, and its "Unknown
  classification" bucket is reported but not compared. A group is flagged when it differs by
  more than the tolerance (default ±10%) *and* by more than a few WTE (small groups swing);
  so is the organisation's total of the compared groups.
- **published sickness** — the organisation's sickness rate against its published rate
  (FTE days lost ÷ available over the published months), beyond a tolerance in percentage
  points. The periods differ, so this is a loose check.
- **last year** — rows per return kind and staff-in-post WTE against the organisation's
  previous accepted returns (a swing beyond the tolerance usually means a partial extract or a
  change of definition).
- **ORG_CODE** — a return whose own ``org_code`` column names another organisation.

A flag is a question to ask, not a verdict: nothing is changed or refused because of one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal

import pandas as pd

from plancycle.ics.rollup import OrganisationReturns
from plancycle.returns import codes

#: Core 5 is "staff groups (excl medical)": these groups are never in it.
NOT_IN_CORE5: tuple[str, ...] = ("HCHS doctors",)


@dataclass(frozen=True)
class Tolerances:
    published_fte_pct: float = 10.0
    published_fte_min_wte: float = 5.0
    published_sickness_points: float = 1.5
    last_year_rows_pct: float = 25.0
    last_year_wte_pct: float = 15.0


@dataclass(frozen=True)
class Flag:
    """One figure to query with one organisation."""

    org_code: str
    check: str           # published_fte / published_sickness / last_year_rows / …
    scope: str           # staff group, return kind or "organisation"
    value: float
    reference: float
    difference_pct: float | None
    message: str

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class LastYear:
    """What an organisation returned last year: rows per kind and staff-in-post WTE."""

    cycle_id: str
    rows: Mapping[str, int] = field(default_factory=dict)
    staff_in_post_wte: float | None = None


def _pct(value: float, reference: float) -> float | None:
    return (value - reference) / reference * 100 if reference else None


def published_fte_flags(by_org_group: pd.DataFrame, core5: pd.DataFrame,
                        tolerances: Tolerances | None = None) -> list[Flag]:
    """Staff-in-post WTE by staff group against the published Core 5 FTE of each ORG_CODE.

    ``by_org_group`` has ``org_code``, ``staff_group``, ``wte`` (the roll-up's
    organisation × staff group table); ``core5`` is :func:`plancycle.analysis.published.
    load_core5`'s frame. Organisations not in the published file are not compared.
    """
    t = tolerances or Tolerances()
    published = core5.assign(_fte=core5["FTE"].map(Decimal)).groupby(
        ["ORG_CODE", "staff_group"], sort=False)["_fte"].sum()
    flags: list[Flag] = []
    for org_code, ours in by_org_group.groupby("org_code", sort=False):
        if org_code not in published.index.get_level_values(0):
            continue
        theirs = {g: float(v) for g, v in published.loc[org_code].items()
                  if g != codes.UNKNOWN_CLASSIFICATION}
        mine = ours[~ours["staff_group"].isin(NOT_IN_CORE5)].groupby("staff_group")["wte"].sum()
        for group in [g for g in codes.STAFF_GROUPS if g not in NOT_IN_CORE5]:
            value, reference = float(mine.get(group, 0.0)), theirs.get(group, 0.0)
            diff = value - reference
            if abs(diff) > t.published_fte_min_wte and (
                    not reference or abs(diff) > reference * t.published_fte_pct / 100):
                change = _pct(value, reference)
                flags.append(Flag(
                    org_code, "published_fte", group, round(value, 2), round(reference, 2),
                    change, f"{org_code} returned {value:,.1f} WTE of {group} in post; NHS "
                    f"Workforce Statistics publish {reference:,.1f} FTE"
                    + (f" ({change:+.1f}%, beyond ±{t.published_fte_pct:g}%)" if change is not
                       None else " (none published)")))
        value = float(mine.sum())
        reference = sum(theirs.values())
        change = _pct(value, reference)
        if change is not None and abs(change) > t.published_fte_pct:
            flags.append(Flag(
                org_code, "published_fte", "organisation", round(value, 2), round(reference, 2),
                change, f"{org_code} staff in post (excluding doctors) is {value:,.1f} WTE "
                f"against {reference:,.1f} FTE published ({change:+.1f}%, beyond "
                f"±{t.published_fte_pct:g}%): check the extract is the whole organisation"))
    return flags


def published_sickness_flags(organisations: pd.DataFrame, published: pd.DataFrame,
                             tolerances: Tolerances | None = None) -> list[Flag]:
    """Each organisation's sickness rate against its published rate (all published months).

    ``published`` is :func:`plancycle.analysis.published.load_sickness`'s frame.
    """
    t = tolerances or Tolerances()
    days = published.assign(
        org=published["ORG_CODE"].str.strip(),
        lost=published["FTE_DAYS_LOST"].map(Decimal),
        available=published["FTE_DAYS_AVAILABLE"].map(Decimal)).groupby("org")[
        ["lost", "available"]].sum()
    flags = []
    for row in organisations.itertuples(index=False):
        if row.org_code not in days.index or pd.isna(row.sickness_pct):
            continue
        lost, available = days.loc[row.org_code, "lost"], days.loc[row.org_code, "available"]
        if not available:
            continue
        reference = float(lost / available * 100)
        if abs(row.sickness_pct - reference) > t.published_sickness_points:
            flags.append(Flag(
                row.org_code, "published_sickness", "organisation", round(row.sickness_pct, 2),
                round(reference, 2), _pct(row.sickness_pct, reference),
                f"{row.org_code} sickness absence is {row.sickness_pct:.2f}% against "
                f"{reference:.2f}% published (NHS Sickness Absence Rates), more than "
                f"{t.published_sickness_points:g} percentage points apart"))
    return flags


def last_year_flags(members: Sequence[OrganisationReturns], organisations: pd.DataFrame,
                    last_year: Mapping[str, LastYear],
                    tolerances: Tolerances | None = None) -> list[Flag]:
    """Row counts per return kind and staff-in-post WTE against last year's returns."""
    t = tolerances or Tolerances()
    wte = organisations.set_index("org_code")["wte"]
    flags = []
    for member in members:
        code = member.organisation.org_code
        before = last_year.get(code)
        if before is None:
            continue
        for kind, rows_then in before.rows.items():
            frame = member.returns.get(kind)
            if frame is None or not rows_then:
                continue
            change = _pct(len(frame), rows_then)
            if change is not None and abs(change) > t.last_year_rows_pct:
                flags.append(Flag(
                    code, "last_year_rows", kind, float(len(frame)), float(rows_then), change,
                    f"{code}'s {kind} return has {len(frame):,} rows against {rows_then:,} last "
                    f"year ({before.cycle_id}), {change:+.0f}%: a partial extract or a change "
                    "of definition?"))
        if before.staff_in_post_wte:
            value = float(wte.get(code, 0.0))
            change = _pct(value, before.staff_in_post_wte)
            if change is not None and abs(change) > t.last_year_wte_pct:
                flags.append(Flag(
                    code, "last_year_wte", "staff_in_post", round(value, 2),
                    round(before.staff_in_post_wte, 2), change,
                    f"{code} staff in post is {value:,.1f} WTE against "
                    f"{before.staff_in_post_wte:,.1f} last year ({change:+.1f}%, beyond "
                    f"±{t.last_year_wte_pct:g}%)"))
    return flags


def org_code_flags(members: Sequence[OrganisationReturns]) -> list[Flag]:
    """Returns whose own ``org_code`` column names another organisation than the member."""
    flags = []
    for member in members:
        code = member.organisation.org_code
        for kind, frame in member.returns.items():
            column = next((c for c in frame.columns if str(c).strip().lower() == "org_code"),
                          None)
            if column is None:
                continue
            values = frame[column]
            if not values.ne(code).any():  # the usual case, without hashing every value
                continue
            others = sorted({str(v).strip() for v in values.dropna().unique()} - {code})
            if others:
                flags.append(Flag(
                    code, "org_code", kind, float(len(others)), 0.0, None,
                    f"{code}'s {kind} return carries ORG_CODE {', '.join(others)}: is it "
                    "another organisation's file?"))
    return flags


def flags_frame(flags: Sequence[Flag]) -> pd.DataFrame:
    columns = ["org_code", "check", "scope", "value", "reference", "difference_pct", "message"]
    return pd.DataFrame([f.as_dict() for f in flags], columns=columns)
