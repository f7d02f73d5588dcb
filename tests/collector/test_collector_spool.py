"""SpoolFile: a dump part written to the spool, direct (O_DIRECT, page-aligned whole blocks, then cut to
length) or through the page cache; the bytes, digest and size must come out the same either way."""

from __future__ import annotations

import hashlib
import os
import random

import pytest

from crashdesk.collector import spool
from crashdesk.collector.spool import ALIGN, BUFFER_SIZE, SpoolFile, direct_io_works

SIZES = [0, 1, ALIGN - 1, ALIGN, ALIGN + 1, BUFFER_SIZE - 1, BUFFER_SIZE, BUFFER_SIZE + 1,
         3 * BUFFER_SIZE + ALIGN // 2]


@pytest.fixture(params=["direct", "buffered"])
def folder(request, tmp_path):
    """A spool folder in the mode asked for. ``buffered`` marks the folder as refusing O_DIRECT (what the
    probe records on a file system without it), so the page-cache path runs on the same disk."""
    if request.param == "buffered":
        spool._direct_ok[str(tmp_path)] = False
    elif not direct_io_works(tmp_path):
        pytest.skip(f"the file system of {tmp_path} refuses O_DIRECT: only the buffered path applies here")
    yield tmp_path
    spool._direct_ok.pop(str(tmp_path), None)


@pytest.mark.parametrize("size", SIZES)
def test_written_bytes_digest_and_size(folder, size):
    rng = random.Random(size)
    data = rng.randbytes(size)
    f = SpoolFile(folder)
    pos = 0
    while pos < size:  # uneven pieces, like a multipart parser's output
        step = rng.choice([1, 7, 4096, 65536, 262144, 1048577])
        f.write(data[pos:pos + step])
        pos += step
    digest = f.finish()
    assert digest == hashlib.sha256(data).hexdigest()
    assert f.size == size
    assert f.path.read_bytes() == data
    assert f.path.name.startswith("part-") and f.path.name.endswith(".tmp")


def test_memoryview_pieces_are_accepted(folder):
    data = os.urandom(BUFFER_SIZE + 123)
    f = SpoolFile(folder)
    f.write(memoryview(data)[:100])
    f.write(memoryview(data)[100:])
    assert f.finish() == hashlib.sha256(data).hexdigest()
    assert f.path.read_bytes() == data


def test_discard_removes_the_file(folder):
    f = SpoolFile(folder)
    f.write(b"x" * (BUFFER_SIZE + 5))
    path = f.path
    assert path.exists()
    f.discard()
    assert not path.exists()
    f.discard()  # twice is harmless


def test_buffers_are_reused_not_leaked(folder):
    for _ in range(spool.MAX_POOLED + 8):
        f = SpoolFile(folder)
        f.write(b"abc")
        f.finish()
    assert len(spool._pool) <= spool.MAX_POOLED


def test_probe_leaves_nothing_behind(tmp_path):
    spool._direct_ok.pop(str(tmp_path), None)
    direct_io_works(tmp_path)
    assert list(tmp_path.iterdir()) == []
    spool._direct_ok.pop(str(tmp_path), None)
