"""Bad returns never reach the plan: what is gathered, and the refusal the planner reads.

Each scenario starts from the sample cycle with the synthetic trust's returns and changes
one thing: a return that only ever failed validation, one not validated yet, one never sent,
a later failed upload after an accepted one, a raw file gone from the store, and the six
service leads each sending their own part of the service change return.
"""

from __future__ import annotations

import pickle
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from plancycle.analysis import AnalysisRefused
from plancycle.planning import PlanningError, build_plan, gather_returns
from plancycle.register.models import Document, Upload
from tests.engine.conftest import CYCLE
from tests.planning.conftest import Trust


def gather(trust: Trust):
    with trust.runtime.register.session() as session:
        return gather_returns(session, CYCLE)


def test_a_return_that_only_failed_validation_stops_the_plan_naming_it(trust, trust_returns):
    """Given sickness absence sent twice and failed twice, and no education return at all."""
    others = {k: v for k, v in trust_returns.items()
              if k not in ("sickness_absence", "education_training")}
    trust.upload_all(others, on=date(2026, 4, 20))
    sickness = trust_returns["sickness_absence"]
    trust.upload("sickness_absence", sickness.head(5), "failed", failed_checks=1,
                 on=date(2026, 5, 5))
    trust.upload("sickness_absence", sickness.head(7), "failed", failed_checks=3,
                 on=date(2026, 5, 12))

    with pytest.raises(AnalysisRefused) as refused:
        build_plan(trust.runtime, CYCLE)

    assert refused.value.problems == {
        "sickness_absence": "not accepted (the latest upload (v2, 12 May) failed validation: "
                            "3 checks failed)",
        "education_training": "no return received",
    }
    # It survives pickling, as when Prefect persists a failed task's exception.
    assert pickle.loads(pickle.dumps(refused.value)).problems == refused.value.problems
    message = str(refused.value)
    assert "sickness_absence: not accepted (the latest upload (v2, 12 May)" in message
    assert "Chase or resubmit these returns" in message
    with trust.runtime.register.session() as session:
        assert session.scalar(select(func.count()).select_from(Document)) == 0
    assert not (trust.home / "documents").exists()
    returns, accepted, missing = gather(trust)    # unpacks as (returns, accepted, missing)
    assert missing == ["education_training"]
    assert accepted["sickness_absence"] is False and accepted["staff_in_post"] is True
    assert len(returns["staff_in_post"]) == len(trust_returns["staff_in_post"])


def test_a_return_not_yet_validated_is_not_analysed(trust, trust_returns):
    trust.upload_all({k: v for k, v in trust_returns.items() if k != "leavers"},
                     on=date(2026, 4, 20))
    trust.upload("leavers", trust_returns["leavers"], "received", on=date(2026, 4, 22))
    with pytest.raises(AnalysisRefused) as refused:
        build_plan(trust.runtime, CYCLE)
    assert refused.value.problems == {
        "leavers": "not accepted (the latest upload (v1, 22 April) has not been validated yet)"}


def test_a_later_failed_upload_leaves_the_accepted_one_in_use_with_a_note(trust, trust_returns):
    trust.upload_all(trust_returns, on=date(2026, 4, 20))
    bad = trust.upload("vacancies", trust_returns["vacancies"].head(3), "failed",
                       failed_checks=1, on=date(2026, 5, 12))
    gathered = gather(trust)
    assert all(gathered.accepted.values()) and gathered.missing == []
    assert gathered.uploads["vacancies"] == [2] and bad not in gathered.uploads["vacancies"]
    assert len(gathered.returns["vacancies"]) == len(trust_returns["vacancies"])
    assert [n for n in gathered.notes if n.startswith("vacancies")] == [
        "vacancies: using v1, 20 April; a later upload (v2, 12 May) failed validation: "
        "1 check failed"]


def test_a_raw_file_missing_from_the_store_is_named_not_a_traceback(trust, trust_returns):
    trust.upload_all(trust_returns, on=date(2026, 4, 20))
    with trust.runtime.register.session() as session:
        upload = session.scalars(select(Upload).where(Upload.id == 6)).one()  # pay budget
        path = upload.stored_path
    Path(path).chmod(0o644)
    Path(path).unlink()
    with pytest.raises(AnalysisRefused) as refused:
        build_plan(trust.runtime, CYCLE)
    why = refused.value.problems["pay_budget"]
    assert why.startswith("not accepted (the accepted upload (v1, 20 April) could not be read "
                          "back from the store")
    assert why.endswith("upload it again)")


def test_each_service_lead_sends_a_part_and_the_plan_reads_them_all(trust, trust_returns):
    """Six service leads hold the service change return: each part counts, in config order."""
    trust.upload_all({k: v for k, v in trust_returns.items() if k != "service_changes"},
                     on=date(2026, 4, 20))
    changes = trust_returns["service_changes"]
    services = list(dict.fromkeys(changes["service"]))
    first, second = (changes[changes["service"].isin(services[:2])],
                     changes[~changes["service"].isin(services[:2])])
    # Claire Dunn sends hers first, then Dr Oliver Hughes (first in the config) sends his.
    trust.upload("service_changes", second, person="claire.dunn", on=date(2026, 4, 27))
    trust.upload("service_changes", first, person="oliver.hughes", on=date(2026, 4, 28))

    gathered = gather(trust)
    combined = gathered.returns["service_changes"]
    assert gathered.accepted["service_changes"] is True
    assert len(combined) == len(changes)
    assert list(combined["service"]) == list(first["service"]) + list(second["service"])
    assert gathered.notes == [
        "service_changes: combined 2 parts (Dr Oliver Hughes, Claire Dunn); nothing yet from "
        "Nadia Rahman, Michael O'Brien, Samuel Green, Victoria Lee"]

    # One lead's corrected part fails: the plan waits for that lead, naming them.
    trust.upload("service_changes", first.head(1), "failed", person="nadia.rahman",
                 failed_checks=2, on=date(2026, 5, 4))
    with pytest.raises(AnalysisRefused) as refused:
        build_plan(trust.runtime, CYCLE)
    assert refused.value.problems == {
        "service_changes": "not accepted (the part from Nadia Rahman: the latest upload "
                           "(v3, 4 May) failed validation: 2 checks failed)"}


def test_a_deputys_upload_replaces_the_holders_for_a_single_holder_return(trust, trust_returns):
    trust.upload_all(trust_returns, on=date(2026, 4, 20))
    fewer = trust_returns["staff_in_post"].head(400)
    trust.upload("staff_in_post", fewer, person="kwame.asante", on=date(2026, 4, 24))
    gathered = gather(trust)
    assert len(gathered.returns["staff_in_post"]) == 400
    assert not any(n.startswith("staff_in_post") for n in gathered.notes)


def test_an_unknown_cycle_is_a_planning_error(trust):
    with pytest.raises(PlanningError, match="no cycle 'rxx-2030-31'"):
        build_plan(trust.runtime, "rxx-2030-31")
    with pytest.raises(PlanningError), trust.runtime.register.session() as session:
        gather_returns(session, "rxx-2030-31")
