"""Dumps on disk, content-addressed by sha256: ``<root>/ab/cd/<sha256>``.

Writes go to a temporary file in the same folder, are fsynced, then renamed, so a reader never sees a
half-written dump and a crash mid-write leaves only a temporary file behind.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from crashdesk.store.errors import StoreError


class BlobStore:
    def __init__(self, root: Path, *, create: bool = True) -> None:
        self.root = Path(root)
        if create:
            self.root.mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise StoreError(f"not a sha256: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, data: bytes, *, fsync: bool = True) -> str:
        sha = hashlib.sha256(data).hexdigest()
        target = self.path(sha)
        if target.exists() and target.stat().st_size == len(data):
            return sha
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                if fsync:
                    fh.flush()
                    os.fsync(fh.fileno())
            os.replace(tmp, target)
            if fsync:
                fsync_dir(target.parent)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise
        return sha

    def put_file(self, source: Path, *, fsync: bool = True) -> tuple[str, int]:
        """Store a file's bytes; return (sha256, size)."""
        data = Path(source).read_bytes()
        return self.put(data, fsync=fsync), len(data)

    def adopt(self, source: Path, sha256: str, size: int, *, fsync: bool = True) -> str:
        """Move a file whose sha256 the caller computed while writing it (e.g. a dump streamed out of a bundle)
        into the store, without reading it into memory; ``source`` must be on the store's file system."""
        target = self.path(sha256)
        source = Path(source)
        if target.exists() and target.stat().st_size == size:
            source.unlink(missing_ok=True)
            return sha256
        target.parent.mkdir(parents=True, exist_ok=True)
        if fsync:
            fd = os.open(source, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        os.replace(source, target)
        if fsync:
            fsync_dir(target.parent)
        return sha256

    def read(self, sha256: str) -> bytes:
        try:
            return self.path(sha256).read_bytes()
        except FileNotFoundError as exc:
            raise StoreError(f"dump {sha256} is missing from {self.root}") from exc

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).exists()


def fsync_dir(path: Path) -> None:
    """fsync a folder so a new entry or rename in it survives a power cut (no-op where unsupported)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
