"""Fixtures shared by the whole suite: real stores in tmp_path, the test-data folder, the shared corpus."""

from __future__ import annotations

import json
import os
import sqlite3
import zlib
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# The app, `process` and `collector` add the servers these name (a distribution may set DEBUGINFOD_URLS for
# every login): tests reach only the servers they start themselves.
for _name in ("DEBUGINFOD_URLS", "_NT_SYMBOL_PATH"):
    os.environ.pop(_name, None)

DATA = Path(__file__).parent / "data"
SHARED = Path(os.environ.get("CRASHDESK_SHARED", Path(__file__).resolve().parents[1].parent / "shared"))


class FakeClock:
    """A ``time.monotonic`` that moves only when a test moves it (``clock.now += ttl``)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    """``time.monotonic`` replaced by a :class:`FakeClock` for the test (the expiry of symbol misses and folder
    listings)."""
    import time

    fake = FakeClock()
    monkeypatch.setattr(time, "monotonic", fake)
    return fake


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    d = tmp_path / "crashdesk-home"
    d.mkdir()
    return d


@pytest.fixture
def store(data_dir: Path):
    from crashdesk.store import CrashStore

    s = CrashStore.open(data_dir)
    yield s
    s.close()


@pytest.fixture
def test_data() -> Path:
    return DATA


@pytest.fixture
def shared_corpus() -> Path:
    corpus = SHARED / "corpus"
    if not corpus.is_dir():
        pytest.skip(f"{corpus} not present: full-corpus runs need ../shared (absent on a plain clone)")
    return corpus


@pytest.fixture
def keyring_home(tmp_path, monkeypatch):
    """A real keyring backend (keyrings.alt's PlaintextKeyring) in tmp_path, for this process and its
    subprocesses; never the user's keyring. ``CRASHDESK_API_TOKEN`` is unset so only the keyring answers."""
    import keyring
    import keyring.core

    home = tmp_path / "keyring-home"
    home.mkdir()
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    monkeypatch.delenv("CRASHDESK_API_TOKEN", raising=False)
    previous = keyring.get_keyring()
    keyring.core.init_backend()
    assert type(keyring.get_keyring()).__name__ == "PlaintextKeyring"
    yield home
    keyring.set_keyring(previous)


@pytest.fixture
def v7_database():
    """A factory: a database as CrashDesk wrote it at schema v7 (before crash_terms), with one processed crash
    (crash id ``abcdef01-2345-6789-abcd-ef0123261120``)."""
    return _v7_database


def _v7_database(path):
    conn = sqlite3.connect(path, isolation_level=None)
    from crashdesk.store.schema import MIGRATIONS

    for script in MIGRATIONS[:7]:
        conn.executescript(script)
    conn.execute("PRAGMA user_version = 7")
    processed = {"modules": [{"filename": "libfoo.so"}], "threads": []}
    conn.execute("INSERT INTO crashes (id, crash_id, source, submitted_at, received_at, state, signature, raw, "
                 "processed) VALUES (1, 'abcdef01-2345-6789-abcd-ef0123261120', 'import', "
                 "'2026-11-20T10:00:00.000000+00:00', '2026-11-20T10:00:00.000000+00:00', 'processed', "
                 "'old_sig | Frob', ?, ?)",
                 (json.dumps({"ProductName": "Old", "URL": "https://x.example/a"}),
                  zlib.compress(json.dumps(processed).encode(), 3)))
    conn.executemany("INSERT INTO annotations (crash, key, value) VALUES (1, ?, ?)",
                     [("ProductName", "Old"), ("URL", "https://x.example/a")])
    conn.executemany("INSERT INTO modules (id, filename, debug_file, debug_id, version) VALUES (?,?,?,?,?)",
                     [(1, "libfoo.so", "libfoo.so", "AB01", "1.0"), (2, "libbar.so", "libbar.so", "CD02", "2.0")])
    conn.executemany("INSERT INTO crash_modules (crash, module, base_addr, symbol_status, symbol_note) "
                     "VALUES (1, ?, ?, ?, ?)",
                     [(1, "0x1000", "loaded", None), (2, "0x2000", "missing", "not on any server")])
    conn.execute("INSERT INTO module_counts (module, crashes) VALUES (1, 1), (2, 1)")
    conn.execute("INSERT INTO frames (crash, thread, frame, module, function) VALUES (1, 0, 0, 'libfoo.so', "
                 "'Frobnicate')")
    conn.execute("INSERT INTO function_names (name) VALUES ('Frobnicate')")
    conn.execute("INSERT INTO crash_fts (rowid, signature, functions, annotations) VALUES (1, 'old_sig | Frob', "
                 "'Frobnicate', 'Old https://x.example/a')")
    conn.close()
