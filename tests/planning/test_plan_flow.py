"""The build-workforce-plan flow on the real Prefect API: builds once, converges, refuses.

Given the sample cycle with every return accepted, when the flow runs, then plan version 1
is registered and the Prefect artifact shows the key measures and the document hash; a
second run registers nothing new. Given a cycle whose sickness return failed validation,
the flow run fails with the refusal naming it, and the artifact says why.
"""

from __future__ import annotations

from datetime import date

import pytest
from prefect.artifacts import Artifact
from sqlalchemy import select

from plancycle import runtime as runtime_mod
from plancycle.analysis import AnalysisRefused
from plancycle.register.models import Document
from tests.engine.conftest import CYCLE
from tests.planning.conftest import open_trust

ARTIFACT = f"plan-{CYCLE}"


@pytest.fixture(scope="module")
def runs(prefect_api, tmp_path_factory, trust_returns):
    from flows.analysis import build_workforce_plan

    with pytest.MonkeyPatch.context() as env:
        trust = open_trust(tmp_path_factory.mktemp("flow"), env)
        trust.upload_all(trust_returns, on=date(2026, 4, 20))
        trust.clock.set(date(2026, 6, 1))
        with runtime_mod.use(trust.runtime):
            first = build_workforce_plan(CYCLE)
            second = build_workforce_plan(CYCLE)
        artifact = Artifact.get(ARTIFACT)
        with trust.runtime.register.session() as session:
            rows = [(d.kind, d.version, d.sha256) for d in session.scalars(
                select(Document).order_by(Document.id))]
        yield {"first": first, "second": second, "artifact": artifact, "documents": rows}
    trust.runtime.register.dispose()


def test_the_flow_registers_version_1_once(runs):
    first, second = runs["first"], runs["second"]
    assert (first["kind"], first["version"], first["new_version"]) == ("plan", 1, True)
    assert (second["version"], second["new_version"]) == (1, False)
    assert second["sha256"] == first["sha256"]
    assert [(kind, version) for kind, version, _ in runs["documents"]] == [
        ("plan", 1), ("exec_summary", 1), ("workforce_template", 1)]
    assert runs["documents"][0][2] == first["sha256"]


def test_the_artifact_shows_the_measures_and_the_document_hash(runs):
    markdown = runs["artifact"].data
    assert f"# Workforce plan for {CYCLE}: version 1" in markdown
    assert "unchanged: same content" in markdown              # the latest run's verdict
    assert f"`{runs['first']['sha256']}`" in markdown
    assert runs["first"]["pdf_path"].rsplit("/", 1)[-1] in markdown
    for measure in ("| Headcount | 600 |", "| Vacancy rate |", "| Sickness absence |",
                    "Five-year workforce gap"):
        assert measure in markdown


def test_a_refused_build_fails_the_run_and_says_why(prefect_api, tmp_path, monkeypatch,
                                                    trust_returns):
    from flows.analysis import build_workforce_plan

    trust = open_trust(tmp_path, monkeypatch)
    trust.upload_all({k: v for k, v in trust_returns.items() if k != "sickness_absence"},
                     on=date(2026, 4, 20))
    trust.upload("sickness_absence", trust_returns["sickness_absence"], "failed",
                 failed_checks=4, on=date(2026, 5, 12))
    with runtime_mod.use(trust.runtime), pytest.raises(AnalysisRefused) as refused:
        build_workforce_plan(CYCLE)
    trust.runtime.register.dispose()
    assert set(refused.value.problems) == {"sickness_absence"}
    markdown = Artifact.get(ARTIFACT).data
    assert "not built" in markdown
    assert "sickness_absence: not accepted (the latest upload (v1, 12 May) failed validation: " \
           "4 checks failed)" in markdown
