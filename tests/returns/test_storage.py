"""Given raw uploads, they are kept content-addressed, atomically, and never outside the root."""

from __future__ import annotations

import hashlib

import pytest

from plancycle.returns.storage import RawStore, sanitise_name


def test_store_bytes_is_content_addressed(tmp_path):
    store = RawStore(tmp_path / "raw")
    data = b"assignment_id\nA1\n"
    sha = hashlib.sha256(data).hexdigest()
    stored = store.store(data, "sip.csv")
    assert stored.sha256 == sha and stored.size == len(data)
    assert stored.path == tmp_path / "raw" / sha[:2] / sha
    assert stored.path.read_bytes() == data and store.open(sha) == data
    assert sha in store


def test_storing_twice_is_a_no_op(tmp_path):
    store = RawStore(tmp_path)
    first = store.store(b"same bytes", "a.csv")
    mtime = first.path.stat().st_mtime_ns
    second = store.store(b"same bytes", "b.csv")
    assert second.path == first.path and second.path.stat().st_mtime_ns == mtime
    assert second.original_name == "b.csv"
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert files == [first.path]  # no temp files left behind


def test_store_from_path_streams_and_matches_bytes(tmp_path):
    src = tmp_path / "upload.xlsx"
    src.write_bytes(b"PK\x03\x04" + b"x" * 3_000_000)
    store = RawStore(tmp_path / "raw")
    stored = store.store(src)
    assert stored.sha256 == hashlib.sha256(src.read_bytes()).hexdigest()
    assert stored.original_name == "upload.xlsx"


@pytest.mark.parametrize(("name", "safe"), [
    ("../../etc/passwd", "passwd"),
    ("..\\..\\windows\\system32\\x.csv", "x.csv"),
    ("/abs/path/sip.csv", "sip.csv"),
    ("..", "upload"),
    ("", "upload"),
    ("sip\x00 march;rm -rf.csv", "sip_ march_rm -rf.csv"),
    (".hidden.csv", "hidden.csv"),
])
def test_original_names_are_sanitised(name, safe):
    assert sanitise_name(name) == safe


def test_traversal_in_a_name_cannot_escape_the_root(tmp_path):
    root = tmp_path / "raw"
    stored = RawStore(root).store(b"data", "../../../outside.csv")
    assert stored.path.resolve().is_relative_to(root.resolve())
    assert not (tmp_path / "outside.csv").exists()
    with pytest.raises(ValueError, match="not a sha256"):
        RawStore(root).path_for("../../etc/passwd")
