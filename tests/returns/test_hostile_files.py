"""Hostile and malformed files (#19.3): each gets a named failure or warning, never a traceback.

The corpus (28 kinds of damage x every return kind) is made once per session by
``tests/fixtures/hostile/generate.py`` into a tmp dir; the large files are never in git.
Files of a kind the sample cycle requests go through the real upload path
(:func:`plancycle.uploads.submit_return`: stored, recorded, validated, messages sent); the
other kinds through :func:`validate_upload`. Wall time and peak RSS of each file are
recorded (printed with ``-s``; ``bench/hostile.py`` reports them), never asserted.
"""

from __future__ import annotations

import logging
import resource
import time
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select, text

from plancycle.register.models import Upload
from plancycle.returns.hostile import looks_like_formula, neutralise, neutralise_frame
from plancycle.returns.validate import validate_upload
from plancycle.uploads import UploadRefused, submit_return
from tests.engine.conftest import CYCLE
from tests.fixtures.hostile.generate import corpus, kind_headers
from tests.uploads.conftest import RETURNS as TASKS


@pytest.fixture(scope="session")
def hostile_corpus(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, Path]]:
    return corpus(tmp_path_factory.mktemp("hostile"), kind_headers())


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_every_hostile_file_gets_a_named_failure_or_warning(hostile_corpus, runtime, clock,
                                                            caplog, capsys):
    assert len(hostile_corpus) >= 100
    assert {k for k, _ in hostile_corpus} == set(kind_headers())
    clock.set(date(2026, 4, 16))  # the data requests are open
    runtime.advance(CYCLE)
    runtime.deliver(CYCLE)
    task_of = {kind: (task, person) for task, (person, kind) in TASKS.items()}
    caplog.set_level(logging.DEBUG)
    measured: list[tuple[float, float, str]] = []
    stored = 0
    for kind, path in hostile_corpus:
        label = f"{kind}/{path.name}"
        started = time.perf_counter()
        if kind in task_of:
            task, person = task_of[kind]
            try:
                report = submit_return(runtime, CYCLE, task, person, path.read_bytes(),
                                       path.name).report
                stored += 1
            except UploadRefused as refused:  # nothing stored; the message says what to do
                assert path.name in str(refused) or "empty" in str(refused).lower(), label
                measured.append((time.perf_counter() - started, _rss_mb(), label))
                continue
        else:
            report = validate_upload(path, kind)
        measured.append((time.perf_counter() - started, _rss_mb(), label))
        flagged = [c for c in report.checks if c.status != "pass"]
        assert report.verdict in {"fail", "warn"}, label
        assert report.file_name == path.name, label
        assert flagged and all(c.id and c.message and c.fix for c in flagged), label
        if path.name == "formulas.csv":
            assert "file.formula_text" in {c.id for c in flagged}, label
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    assert "Traceback" not in caplog.text
    assert not [r for r in caplog.records if r.exc_info]
    # The register is intact and every stored upload was judged (none left "received").
    with runtime.register.engine.connect() as connection:
        assert connection.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    with runtime.register.session() as session:
        uploads = session.scalars(select(Upload)).all()
    assert len(uploads) == stored
    assert {u.state for u in uploads} <= {"failed", "accepted"}
    by_task: dict[int, list[int]] = {}
    for u in uploads:
        by_task.setdefault(u.task_id, []).append(u.version)
    assert all(sorted(v) == list(range(1, len(v) + 1)) for v in by_task.values())
    worst = max(measured)
    with capsys.disabled():
        print(f"\nhostile corpus: {len(measured)} files, worst {worst[0]:.2f} s ({worst[2]}), "
              f"peak RSS {max(m[1] for m in measured):.0f} MB")


def test_the_zip_bomb_and_long_line_are_named(hostile_corpus):
    named = {p.name: p for k, p in hostile_corpus if k == "staff_in_post"}
    bomb = validate_upload(named["zip_bomb.xlsx"], "staff_in_post")
    assert bomb.checks[0].id == "file.archive_limits"
    line = validate_upload(named["long_line_30mb.csv"], "staff_in_post")
    assert line.checks[0].id == "file.long_line"


@pytest.mark.parametrize("text", ["=HYPERLINK(\"http://x\")", "=cmd|' /C calc'!A0", "+A1",
                                  "-A1+2", "@SUM(A1)", "\tx", "\rx"])
def test_formula_text_is_neutralised(text):
    assert looks_like_formula(text)
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("value", ["-3", "+44", "-0.5", "1e-3", "ward", "", None, 3, -3.0])
def test_numbers_and_plain_text_are_not_formulas(value):
    assert not looks_like_formula(value)
    assert neutralise(value) == value


def test_frames_are_neutralised_for_export():
    frame = pd.DataFrame({"=bad": ["=1+1", "ok"], "n": [-3, 4]})
    out = neutralise_frame(frame)
    assert list(out.columns) == ["'=bad", "n"]
    assert out["'=bad"].tolist() == ["'=1+1", "ok"] and out["n"].tolist() == [-3, 4]
