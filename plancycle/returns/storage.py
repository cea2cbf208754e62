"""Content-addressed store for raw uploads: every file kept exactly as received.

The raw bytes are stored before validation so a DQ report can always be traced to the file
it judged (by sha256), and a re-upload of the same file is recognised. Paths are built from
the hash only; the uploader's file name is kept as sanitised metadata and never touches the
file system path, so a name like ``../../etc/passwd`` cannot escape the store.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

_CHUNK = 16 << 20
_UNSAFE = re.compile(r"[^A-Za-z0-9._ ()&+-]+")


@dataclass(frozen=True)
class StoredFile:
    """Where a raw upload lives and what it was called when uploaded."""

    sha256: str
    path: Path
    size: int
    original_name: str


def sanitise_name(name: str, *, max_length: int = 120) -> str:
    """A display-safe file name: no directories, control characters or leading dots."""
    base = re.split(r"[\\/]", str(name))[-1]
    base = unicodedata.normalize("NFKC", base)
    base = _UNSAFE.sub("_", base).strip(" ._")
    if len(base) > max_length:
        stem, dot, ext = base.rpartition(".")
        base = (stem[: max_length - len(ext) - 1] + dot + ext) if dot and len(ext) <= 10 \
            else base[:max_length]
    return base or "upload"


class RawStore:
    """Files saved as ``<root>/<sha[:2]>/<sha>``, written atomically; storing twice is a no-op."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path_for(self, sha256: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{64}", sha256):
            raise ValueError(f"not a sha256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / sha256

    def store(self, data: bytes | str | Path, original_name: str | None = None) -> StoredFile:
        """Store bytes or the file at a path; returns where it is and its sha256."""
        self.root.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            name = original_name or "upload"
            fd, tmp_name = tempfile.mkstemp(dir=self.root, prefix=".incoming-")
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            digest, size = hashlib.sha256(data).hexdigest(), len(data)
        else:
            source = Path(data)
            name = original_name or source.name
            digest_obj = hashlib.sha256()
            size = 0
            fd, tmp_name = tempfile.mkstemp(dir=self.root, prefix=".incoming-")
            # Large blocks into one buffer: reading, hashing and writing each release the GIL
            # for a whole block, so a 250 MB extract is copied in a few dozen native calls
            # (other threads, e.g. Great Expectations importing, run meanwhile).
            buffer = bytearray(_CHUNK)
            view = memoryview(buffer)
            with os.fdopen(fd, "wb", buffering=0) as out, source.open("rb", buffering=0) as src:
                while n := src.readinto(buffer):
                    block = view[:n]
                    digest_obj.update(block)
                    while block:   # a raw write may take less than the whole block
                        block = block[out.write(block):]
                    size += n
                os.fsync(out.fileno())
            digest = digest_obj.hexdigest()
        target = self.path_for(digest)
        tmp = Path(tmp_name)
        try:
            if target.exists():
                tmp.unlink()
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp, target)
                target.chmod(0o444)
        finally:
            if tmp.exists():
                tmp.unlink()
        return StoredFile(sha256=digest, path=target, size=size,
                          original_name=sanitise_name(name))

    def open(self, sha256: str) -> bytes:
        """The stored bytes of a file by its hash."""
        return self.path_for(sha256).read_bytes()

    def __contains__(self, sha256: str) -> bool:
        return self.path_for(sha256).exists()
