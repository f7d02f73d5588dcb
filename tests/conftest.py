"""Fixtures shared by the whole suite: real stores in tmp_path, the test-data folder, the shared corpus."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

DATA = Path(__file__).parent / "data"
SHARED = Path(os.environ.get("CRASHDESK_SHARED", Path(__file__).resolve().parents[1].parent / "shared"))


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
