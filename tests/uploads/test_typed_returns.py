"""Accepted returns read back through their typed Parquet copy.

Given an accepted return in the raw store, when it is read back the first time, then the
values are those parsed from the raw file and a typed copy is kept beside it; later reads
give exactly the same frame (values and dtypes) from the copy. A copy that belongs to other
content (the raw file's SHA-256 differs), is damaged, or cannot be written never changes
what is read: the raw file is the record.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from plancycle.returns import load_typed
from plancycle.synthetic import generate_trust, write_trust
from plancycle.typed_returns import copy_path, read_accepted


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("store")
    return write_trust(generate_trust(size=300, seed=11), folder)


def _upload(path: Path, sha256: str = "a" * 64) -> SimpleNamespace:
    return SimpleNamespace(stored_path=str(path), sha256=sha256, original_name=path.name)


def test_every_kind_reads_back_the_same_from_its_copy(stored: dict[str, Path]) -> None:
    assert len(stored) == 9
    for kind, path in stored.items():
        upload = _upload(path)
        parsed = load_typed(path, kind, file_name=path.name)
        first = read_accepted(upload, kind)
        assert copy_path(upload).exists(), kind
        again = read_accepted(upload, kind)
        pd.testing.assert_frame_equal(first, parsed, check_exact=True)
        pd.testing.assert_frame_equal(again, parsed, check_exact=True)


def test_a_copy_of_other_content_or_a_damaged_one_is_rebuilt_from_the_raw_file(
        stored: dict[str, Path], tmp_path: Path) -> None:
    kind, source = "staff_in_post", stored["staff_in_post"]
    raw = tmp_path / source.name
    raw.write_bytes(source.read_bytes())
    read_accepted(_upload(raw, "1" * 64), kind)            # a copy for other content
    changed = pd.read_csv(raw)
    changed.loc[0, "wte"] = 0.5
    changed.to_csv(raw, index=False)
    expected = load_typed(raw, kind, file_name=raw.name)
    pd.testing.assert_frame_equal(read_accepted(_upload(raw, "2" * 64), kind), expected,
                                  check_exact=True)
    copy_path(_upload(raw)).write_bytes(b"not parquet")
    pd.testing.assert_frame_equal(read_accepted(_upload(raw, "2" * 64), kind), expected,
                                  check_exact=True)
    pd.testing.assert_frame_equal(read_accepted(_upload(raw, "2" * 64), kind), expected,
                                  check_exact=True)


def test_a_store_that_cannot_take_the_copy_still_reads(stored: dict[str, Path],
                                                       tmp_path: Path) -> None:
    kind, source = "vacancies", stored["vacancies"]
    raw = tmp_path / source.name
    raw.write_bytes(source.read_bytes())
    copy_path(_upload(raw)).mkdir()   # the copy cannot be put in place (works as root too)
    expected = load_typed(raw, kind, file_name=raw.name)
    for _ in range(2):
        pd.testing.assert_frame_equal(read_accepted(_upload(raw), kind), expected,
                                      check_exact=True)
    assert copy_path(_upload(raw)).is_dir()
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_reader_asking_for_some_columns_gets_those_of_every_row(
        stored: dict[str, Path], tmp_path: Path) -> None:
    """The ICS roll-up reads a few columns of many returns: the same values, every row, from
    the copy or (first read) from the raw file; columns a return lacks are left out."""
    for kind, source in stored.items():
        for fresh in (True, False):
            raw = tmp_path / f"{kind}-{fresh}-{source.name}"
            raw.write_bytes(source.read_bytes())
            upload = _upload(raw)
            if not fresh:
                read_accepted(upload, kind)                # the copy exists
            full = load_typed(raw, kind, file_name=raw.name)
            wanted = [str(full.columns[-1]), "no_such_column", str(full.columns[0])]
            some = read_accepted(upload, kind, wanted)
            assert list(some.columns) == [wanted[0], wanted[2]], (kind, fresh)
            pd.testing.assert_frame_equal(some, full[[wanted[0], wanted[2]]],
                                          check_exact=True)
            none = read_accepted(upload, kind, ())
            assert len(none) == len(full) and list(none.columns) == [], (kind, fresh)
