"""Hostile files through ``plancycle return upload`` (#19.3): sent back with a named check,
no traceback in the output or the log, and the register intact afterwards."""

from __future__ import annotations

import logging
import re

from sqlalchemy import func, select, text

from plancycle.register.models import DQResult, Upload
from tests.fixtures.hostile.generate import corpus, kind_headers
from tests.uploads.test_return_cli import cli  # noqa: F401 (the fixture)


def test_every_hostile_staff_in_post_is_sent_back_by_the_cli(cli, opened, tmp_path,  # noqa: F811
                                                              caplog):
    caplog.set_level(logging.DEBUG)
    files = corpus(tmp_path, {"staff_in_post": kind_headers()["staff_in_post"]})
    for _, path in files:
        code, out = cli("return", "upload", "staff_in_post_return", path,
                        "--person", "lucy.fernandes", "--as-of", "2026-04-20")
        assert code == 1, (path.name, out)
        assert re.search(r"\((file|columns|codes|not_null|unique|range)\.[a-z_.]+\)", out), \
            (path.name, out)
        assert "How to fix:" in out, (path.name, out)
    assert "Traceback" not in caplog.text
    assert not [r for r in caplog.records if r.exc_info]
    with opened.register.session() as session:
        assert session.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        assert session.scalar(select(func.count()).select_from(Upload)) == len(files)
        assert session.scalar(select(func.count()).select_from(DQResult)) == len(files)
