"""Hostile and malformed files (#19.3): each gets a named failure or warning, never a traceback.

The corpus (27 kinds of damage × every return kind) is made once per session by
``tests/fixtures/hostile/generate.py`` into a tmp dir; the large files are never in git.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import pytest

from plancycle.returns.hostile import looks_like_formula, neutralise, neutralise_frame
from plancycle.returns.validate import validate_upload
from tests.fixtures.hostile.generate import corpus, kind_headers


@pytest.fixture(scope="session")
def hostile_corpus(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, Path]]:
    return corpus(tmp_path_factory.mktemp("hostile"), kind_headers())


def test_every_hostile_file_gets_a_named_failure_or_warning(hostile_corpus, caplog, capsys):
    assert len(hostile_corpus) >= 100
    caplog.set_level(logging.DEBUG)
    for kind, path in hostile_corpus:
        report = validate_upload(path, kind)
        flagged = [c for c in report.checks if c.status != "pass"]
        assert report.verdict in {"fail", "warn"}, (kind, path.name)
        assert flagged and all(c.id and c.message and c.fix for c in flagged), (kind, path.name)
        if path.name == "formulas.csv":
            assert "file.formula_text" in {c.id for c in flagged}, kind
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    assert "Traceback" not in caplog.text
    assert not [r for r in caplog.records if r.exc_info]


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
