"""Smoke test of `make demo`'s path: the whole rehearsal on a small trust.

Given a fresh output folder, when the demo rehearses the year (a 300-staff synthetic trust,
the test harness's Prefect API instead of a local server), then it completes and leaves the
plan PDF, DQ reports, the mailbox and a submission package whose manifest verifies.
"""

from __future__ import annotations

import os

from plancycle.submission import verify_manifest

DEMO_ENV = ("PLANCYCLE_HOME", "PLANCYCLE_DATABASE_URL", "PLANCYCLE_PLANNER_TOKEN",
            "PLANCYCLE_PORTAL_URL", "PLANCYCLE_ICS_SUBMISSION_URL", "PREFECT_UI_URL")


def test_demo_rehearses_the_year(prefect_api, tmp_path, monkeypatch):
    from plancycle import demo

    for name in DEMO_ENV:  # the demo sets these; restore them afterwards
        monkeypatch.setenv(name, os.environ.get(name, ""))
    monkeypatch.delenv("PLANCYCLE_PLANNER_TOKEN")
    out = tmp_path / "demo-output"
    assert demo.main(out=out, trust_size=300, start_server=False) == 0

    pdfs = list((out / "home" / "documents").rglob("plan-*.pdf"))
    assert pdfs and pdfs[0].read_bytes().startswith(b"%PDF")
    assert list((out / "home" / "documents").rglob("signed_plan-*.pdf"))
    reports = list((out / "home" / "uploads").rglob("*.html"))
    assert len(reports) >= 10, "a DQ report for every upload"
    mails = list((out / "mail").glob("*.eml"))
    assert len(mails) > 100
    assert any(b"/t/" in m.read_bytes() for m in mails), "emails carry task links"
    manifests = list((out / "home" / "submissions").rglob("manifest.json"))
    assert manifests and verify_manifest(manifests[0].parent).ok
    assert list((out / "home" / "outbox").glob("*.zip"))
    assert list((out / "ics-endpoint").glob("received-*.zip")), "delivered over HTTP"

