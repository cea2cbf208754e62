"""The published system view: an ICS's staff in post and sickness as NHS England publish them.

Why: the roll-up is checked against the publisher's own numbers, so those numbers must first
be reproduced exactly from the publisher's files. This module reads the in-repo copies of the
published files (``tests/fixtures/nhs/``: NHS Workforce Statistics Core 5 and NHS Sickness
Absence Rates, Open Government Licence v3.0) — or another directory holding the same
publications — and builds, for one ICS:

- FTE per organisation and per staff group, and the ICS total, summed as exact decimals from
  the file's own strings (FTE is additive); the Core 5 "headcount" is a sum of cells, not of
  distinct people, and is labelled ``headcount_cells``;
- each organisation's sickness absence rate per month, computed as FTE days lost ÷ FTE days
  available × 100 rounded half-up to 2 dp, beside the published rate; and the system's rate
  per month from summed days (computed, not published).

The arithmetic is :mod:`plancycle.analysis.published`'s; this module only selects and shapes.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pandas as pd

from plancycle.analysis.published import (
    fte_by_staff_group,
    fte_totals,
    load_core5,
    load_sickness,
    sickness_rate,
    sickness_rates,
)
from plancycle.returns import codes

#: The in-repo copies of the published files (see tests/fixtures/nhs/SOURCE.md).
DEFAULT_DIR = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "nhs"
CORE5_PATTERN = "hchs_core5_*.csv"
SICKNESS_PATTERN = "nhs_sickness_absence_*.csv"
PUBLISHED_ENV = "PLANCYCLE_PUBLISHED_DATA"


class PublishedDataError(Exception):
    """The published files cannot give what was asked (message says what to do)."""


def published_dir(directory: str | Path | None = None) -> Path:
    """Where the published files are: the argument, ``$PLANCYCLE_PUBLISHED_DATA``, or the
    in-repo copies."""
    return Path(directory or os.environ.get(PUBLISHED_ENV) or DEFAULT_DIR)


@dataclass(frozen=True)
class PublishedFiles:
    core5: Path
    sickness: tuple[Path, ...]

    def sources(self) -> list[dict[str, str]]:
        return [{"file": p.name, "sha256": hashlib.sha256(p.read_bytes()).hexdigest()}
                for p in (self.core5, *self.sickness)]


def find_files(directory: str | Path | None = None) -> PublishedFiles:
    root = published_dir(directory)
    if not root.is_dir():
        raise PublishedDataError(
            f"no directory {root}; give --data DIR holding the published Core 5 and sickness "
            "CSV files")
    core5 = sorted(root.glob(CORE5_PATTERN))
    sickness = tuple(sorted(root.glob(SICKNESS_PATTERN)))
    if not core5:
        raise PublishedDataError(
            f"no NHS Workforce Statistics Core 5 file ({CORE5_PATTERN}) in {root}")
    if not sickness:
        raise PublishedDataError(
            f"no NHS sickness absence file ({SICKNESS_PATTERN}) in {root}")
    return PublishedFiles(core5[-1], sickness)


@dataclass(frozen=True)
class PublishedView:
    """One ICS as published: staff in post (exact FTE) and sickness absence."""

    ics_code: str
    ics_name: str
    data_month: str
    organisations: pd.DataFrame       # org_code, org_name, fte (Decimal), headcount_cells, rows
    staff_groups: pd.DataFrame        # staff_group, fte (Decimal), headcount_cells
    organisation_staff_groups: pd.DataFrame
    fte_total: Decimal                # the ICS total as the file's rows sum
    sickness: pd.DataFrame            # per org and month: computed vs published rate
    system_sickness: pd.DataFrame     # per month: the system's rate from summed days
    sources: list[dict[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def sickness_reproduced(self) -> bool:
        return bool(len(self.sickness)) and bool(self.sickness["matches"].all())


def available_ics(core5: pd.DataFrame) -> list[str]:
    return sorted(core5["ICS_CODE"].str.strip().unique())


def published_view(ics_code: str, directory: str | Path | None = None,
                   files: PublishedFiles | None = None) -> PublishedView:
    """The published staff in post and sickness of one ICS (see the module docstring)."""
    files = files or find_files(directory)
    core5 = load_core5(files.core5)
    code = ics_code.strip().upper()
    known = available_ics(core5)
    if code not in known:
        raise PublishedDataError(
            f"ICS {ics_code!r} is not in {files.core5.name}, which covers {', '.join(known)}; "
            "use one of those or point --data at a file that covers it")
    mine = core5[core5["ICS_CODE"].str.strip() == code]
    names = mine.drop_duplicates("ORG_CODE").set_index("ORG_CODE")["ORG_NAME"]
    orgs = fte_totals(mine, level="organisation")
    orgs.insert(1, "org_name", orgs["ORG_CODE"].map(names))
    orgs = orgs.rename(columns={"ORG_CODE": "org_code"})
    ics_total = fte_totals(mine, level="ics")
    total = ics_total["fte"].iloc[0]
    by_group = fte_by_staff_group(mine, level="ics").drop(columns="ICS_CODE")
    by_org_group = fte_by_staff_group(mine, level="organisation").rename(
        columns={"ORG_CODE": "org_code"})

    sickness = load_sickness(files.sickness)
    ours = sickness[sickness["ICS_CODE"].str.strip() == code]
    rates = sickness_rates(ours).assign(org_name=ours["ORG_NAME"].to_numpy())
    rates = rates[["month", "org_code", "org_name", "fte_days_lost", "fte_days_available",
                   "computed_rate", "published_rate", "matches"]]
    system = (ours.assign(month=rates["month"].to_numpy(),
                          lost=ours["FTE_DAYS_LOST"].map(Decimal),
                          available=ours["FTE_DAYS_AVAILABLE"].map(Decimal))
              .groupby("month", sort=True)[["lost", "available"]]
              .agg(lambda s: sum(s, Decimal(0))).reset_index())
    system["computed_rate"] = [sickness_rate(a, b) for a, b in
                               zip(system["lost"], system["available"], strict=True)]
    system["organisations"] = ours.groupby(rates["month"].to_numpy()).size().to_numpy()
    notes = [
        "FTE is summed exactly from the published decimal strings; FTE adds up across staff "
        "groups and organisations, so the ICS total is the sum of its organisations.",
        "Core 5 covers staff groups excluding medical staff; 'headcount_cells' sums the "
        "published cell headcounts, which counts a person once per cell, not once.",
        "Sickness rate = FTE days lost ÷ FTE days available × 100, rounded half-up to 2 dp; "
        "the system rate per month is computed from summed days (not a published figure).",
    ]
    if set(orgs["org_code"]) != set(rates["org_code"]):
        notes.append("The sickness files list organisations under this ICS that differ from "
                     "Core 5's: " + ", ".join(sorted(set(orgs["org_code"])
                                                      ^ set(rates["org_code"]))))
    return PublishedView(
        ics_code=code, ics_name=str(mine["ICS_NAME"].iloc[0]),
        data_month=str(mine["DATA_MONTH"].iloc[0]) if "DATA_MONTH" in mine.columns else "",
        organisations=orgs.reset_index(drop=True),
        staff_groups=_ordered(by_group), organisation_staff_groups=by_org_group,
        fte_total=total, sickness=rates.reset_index(drop=True),
        system_sickness=system.rename(columns={"lost": "fte_days_lost",
                                               "available": "fte_days_available"}),
        sources=files.sources(), notes=notes)


def _ordered(frame: pd.DataFrame) -> pd.DataFrame:
    rank = {g: i for i, g in enumerate(codes.PUBLISHED_STAFF_GROUPS)}
    return frame.assign(_r=frame["staff_group"].map(rank).fillna(len(rank))) \
        .sort_values("_r", kind="stable").drop(columns="_r").reset_index(drop=True)


def load_published(directory: str | Path | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Core 5 and sickness frames for the consistency flags (all ICSs in the files)."""
    files = find_files(directory)
    return load_core5(files.core5), load_sickness(files.sickness)
