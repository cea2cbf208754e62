"""Scenario: the system tables agree with each organisation's own plan, add up what is
additive and nothing else, and flag the figures to query.

Given three synthetic organisations in two places, when they are rolled up, then each
organisation's row is exactly what its own analysis says, WTE adds up to the system, and no
headcount is added up across organisations. Given R1D's staff in post as published and RL1's
synthetic one, then only RL1 disagrees with the published statistics, and a partial extract
shows up against last year.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

import pandas as pd
import pytest
from sqlalchemy import select

from plancycle.analysis import analyse
from plancycle.analysis.published import load_core5
from plancycle.clock import SimulatedClock
from plancycle.ics import service
from plancycle.ics.flags import (
    LastYear,
    last_year_flags,
    org_code_flags,
    published_fte_flags,
)
from plancycle.ics.rollup import HEADCOUNT_NOTE, Organisation, OrganisationReturns, roll_up
from plancycle.ics.system_plan import system_analysis
from plancycle.notify.channels import RecordingChannels
from plancycle.register.models import SubmissionRecord, Task
from plancycle.runtime import Runtime
from plancycle.synthetic import RETURN_KINDS, generate_trust
from tests.ics.conftest import CORE5, ICS_CYCLE, MEMBERS, published_like_staff, start_cycles

ORGS = [("RAA", "North", 1), ("RBB", "North", 2), ("RCC", "South", 3)]


@pytest.fixture(scope="module")
def members() -> list[OrganisationReturns]:
    return [OrganisationReturns(Organisation(code, f"Trust {code}", "acute", place),
                                generate_trust(size=400, seed=seed, org_code=code))
            for code, place, seed in ORGS]


@pytest.fixture(scope="module")
def tables(members):
    return roll_up(members)


def test_each_organisation_row_is_its_own_plans_figure(members, tables):
    rows = tables.organisations.set_index("org_code")
    for member in members:
        own = analyse(member.returns, dict.fromkeys(RETURN_KINDS, True))
        row = rows.loc[member.organisation.org_code]
        pairs = {
            "wte": own.current.wte, "headcount": own.current.headcount,
            "vacancy_rate_pct": own.vacancies.rate_pct, "turnover_pct": own.turnover.rate_pct,
            "sickness_pct": own.sickness.rate_pct,
            "agency_share_pct": own.temporary_staffing.agency_share_pct,
            "agency_wte": own.temporary_staffing.agency_wte,
            "pay_budget_gbp": own.affordability.pay_budget_gbp,
            "current_spend_gbp": own.affordability.current_spend_gbp,
        }
        for column, expected in pairs.items():
            assert math.isclose(row[column], expected, rel_tol=1e-9), column


def test_wte_adds_up_and_headcount_is_never_added_across_organisations(tables):
    system = tables.system
    assert math.isclose(system["wte"], tables.organisations["wte"].sum())
    assert math.isclose(system["wte"], tables.staff_group["wte"].sum())
    assert math.isclose(system["wte"], tables.place["wte"].sum())
    assert tables.place.set_index("place")["organisations"].to_dict() == {"North": 2, "South": 1}
    assert system["headcount"] is None and system["headcount_note"] == HEADCOUNT_NOTE
    for table in (tables.staff_group, tables.place):
        assert "headcount" not in table.columns
    by_org = tables.organisation_staff_group
    assert (by_org.groupby("org_code")["headcount"].sum()
            >= tables.organisations.set_index("org_code")["headcount"]).all()
    assert math.isclose(system["vacancy_rate_pct"], system["vacancy_wte"]
                        / system["establishment_wte"] * 100)
    assert list(tables.triangulation["org_code"]) == ["RAA", "RBB", "RCC", "System"]


def test_person_ids_repeat_across_organisations_but_are_not_merged(members, tables):
    ids = [set(m.returns["staff_in_post"]["person_id"]) for m in members]
    assert ids[0] & ids[1], "synthetic trusts reuse local person ids"
    system = system_analysis(members, "QXX", "2026/27")
    assert math.isnan(system.current.headcount)
    assert system.current.by_staff_group["headcount"].isna().all()
    assert system.org_code == "QXX" and HEADCOUNT_NOTE in system.notes
    assert math.isclose(system.current.wte, tables.system["wte"])
    assert math.isclose(system.vacancies.rate_pct, tables.system["vacancy_rate_pct"])
    assert math.isclose(system.sickness.rate_pct, tables.system["sickness_pct"])
    assert math.isclose(system.turnover.rate_pct, tables.system["turnover_pct"])


def test_only_the_organisation_that_disagrees_with_the_published_figures_is_flagged():
    core5 = load_core5(CORE5)
    template = generate_trust(size=300, seed=1, org_code="R1D")["staff_in_post"]
    r1d = published_like_staff("R1D", template)
    rl1 = generate_trust(size=300, seed=2, org_code="RL1")["staff_in_post"]
    frame = pd.concat([r1d.assign(org_code="R1D"), rl1.assign(org_code="RL1")])
    by_group = frame.groupby(["org_code", "staff_group"], as_index=False)["wte"].sum()
    flags = published_fte_flags(by_group, core5)
    assert {f.org_code for f in flags} == {"RL1"}
    assert any(f.scope == "organisation" and "check the extract is the whole organisation"
               in f.message for f in flags)
    # Half R1D's nurses missing: that group is flagged, and nothing else of R1D's.
    nurses = r1d["staff_group"] == "Nurses & health visitors"
    halved = r1d.drop(r1d[nurses].index[::2])
    by_group = halved.assign(org_code="R1D").groupby(["org_code", "staff_group"],
                                                     as_index=False)["wte"].sum()
    (flag,) = [f for f in published_fte_flags(by_group, core5) if f.scope != "organisation"]
    assert flag.scope == "Nurses & health visitors" and -55 < flag.difference_pct < -45
    assert "NHS Workforce Statistics publish" in flag.message


def test_a_partial_extract_and_another_organisations_file_are_flagged(members, tables):
    partial = OrganisationReturns(members[0].organisation, {
        **members[0].returns,
        "vacancies": members[0].returns["vacancies"].head(100),
        "leavers": members[0].returns["leavers"].assign(org_code="RZZ")})
    last = {"RAA": LastYear("raa-2025-26", {"vacancies": len(members[0].returns["vacancies"]),
                                            "leavers": len(members[0].returns["leavers"])},
                            staff_in_post_wte=tables.system["wte"])}
    flags = last_year_flags([partial, *members[1:]], tables.organisations, last)
    assert [(f.check, f.scope) for f in flags] == [("last_year_rows", "vacancies"),
                                                    ("last_year_wte", "staff_in_post")]
    (wrong,) = org_code_flags([partial])
    assert wrong.scope == "leavers" and "RZZ" in wrong.message


@pytest.fixture
def ics_register(tmp_path, monkeypatch):
    monkeypatch.setenv("PLANCYCLE_HOME", str(tmp_path))
    monkeypatch.setenv("PLANCYCLE_LINK_SECRET", "test-secret")
    rt = Runtime.build(clock=SimulatedClock(date(2026, 5, 6)), channels=RecordingChannels(),
                       database_url=f"sqlite:///{tmp_path / 'register.db'}")
    start_cycles(rt, tmp_path)
    yield rt
    rt.register.dispose()


def test_a_delivered_package_completes_the_organisations_system_task(ics_register):
    rt = ics_register
    rt.advance(ICS_CYCLE)
    with rt.register.session(actor="test") as session:
        config = service.system_config(session, ICS_CYCLE)
        assert service.organisation_cycles(session, config) == [m.cycle_id for m in MEMBERS]
        members = service.member_cycles(session, config, [m.cycle_id for m in MEMBERS])
        session.add(SubmissionRecord(cycle_id="rl1-2026-27", package_sha256="ab" * 32,
                                     destination="outbox", status="delivered", attempts=1,
                                     created_at=rt.clock.now(), delivered_at=rt.clock.now()))
        session.flush()
        synced = service.sync(session, ICS_CYCLE, members, rt.clock.now())
        assert [(s.org_code, s.how) for s in synced] == [("RL1", "package")]
        assert service.sync(session, ICS_CYCLE, members, rt.clock.now()) == []
    rt.advance(ICS_CYCLE)
    with rt.register.session() as session:
        task = session.scalars(select(Task).where(Task.cycle_id == ICS_CYCLE,
                                                  Task.key == "submit_rl1_plan")).one()
        assert task.state == "complete"
        assert "package abababababab" in task.assignments[0].reason
        other = session.scalars(select(Task).where(Task.cycle_id == ICS_CYCLE,
                                                   Task.key == "submit_r1d_plan")).one()
        assert other.state == "open"
    assert datetime(2026, 5, 6, tzinfo=UTC) <= task.completed_at


@pytest.mark.parametrize(("cycles", "expected"), [
    (["nope-2026-27"], "no organisation cycle 'nope-2026-27'"),
    ([ICS_CYCLE], "is the system cycle itself"),
    (["r1d-2026-27", "r1d-2026-27"], "two cycles for R1D"),
])
def test_the_roll_up_refuses_cycles_it_cannot_use(ics_register, cycles, expected):
    with ics_register.register.session() as session:
        config = service.system_config(session, ICS_CYCLE)
        with pytest.raises(service.IcsError, match=expected):
            service.member_cycles(session, config, cycles)
        with pytest.raises(service.IcsError, match="not a system cycle"):
            service.system_config(session, "r1d-2026-27")


def test_gathering_many_members_reads_what_each_would_read_alone(ics_register):
    """The roll-up gathers all members with a few queries and reads their typed copies
    together; each member's frames are what gathering it alone from its raw files gives."""
    from plancycle.planning import gather_returns, gather_returns_of
    from plancycle.typed_returns import copy_path
    from plancycle.uploads import accepted_returns
    from tests.ics.conftest import MEMBERS, member_returns, record_accepted

    rt = ics_register
    for member in MEMBERS:
        record_accepted(rt, member, member_returns(member))
    cycles = [m.cycle_id for m in MEMBERS]
    columns = service.TABLE_COLUMNS
    with rt.register.session() as session:
        alone = {c: gather_returns(session, c, columns) for c in cycles}  # parses, keeps copies
        assert all(copy_path(u).exists() for c in cycles
                   for u in accepted_returns(session, c).values())
        together = gather_returns_of(session, cycles, columns)
    assert list(together) == cycles
    for cycle_id in cycles:
        mine, theirs = together[cycle_id], alone[cycle_id]
        assert mine.accepted == theirs.accepted and mine.missing == theirs.missing
        assert mine.uploads == theirs.uploads and mine.notes == theirs.notes
        assert set(mine.returns) == set(theirs.returns)
        for kind, frame in theirs.returns.items():
            assert list(mine.returns[kind].columns) == list(frame.columns), kind
            pd.testing.assert_frame_equal(mine.returns[kind], frame.reset_index(drop=True),
                                          check_column_type=len(frame.columns) > 0)
    # and the roll-up of the command (tables only) equals the full one
    quick = service.roll_up_cycles(rt, ICS_CYCLE, None, tables_only=True)
    full = service.roll_up_cycles(rt, ICS_CYCLE, cycles)
    for name, frame in full.tables.frames().items():
        pd.testing.assert_frame_equal(quick.tables.frames()[name], frame, check_like=True)
    assert [f.message for f in quick.flags] == [f.message for f in full.flags]
    assert quick.basis == full.basis
    pd.testing.assert_frame_equal(quick.plans, full.plans)
