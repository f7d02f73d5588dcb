"""Fixtures for sync tests: crashes from tests/data/sync, a real Socorro-like server on 127.0.0.1, a keyring
backend chosen explicitly (keyrings.alt's plaintext file in a temporary folder, never the user's keyring)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from socorro_fake import FakeSocorro, make_crashes  # noqa: E402

from crashdesk.sync import RetryPolicy, SyncOptions  # noqa: E402

TOKEN = "0123456789abcdef0123456789abcdef"  # view_pii + view_rawdump
TOKEN_NO_DUMPS = "fedcba9876543210fedcba9876543210"  # view_pii only
ALL_TOKENS = {
    TOKEN: {"view_pii", "view_rawdump"},
    TOKEN_NO_DUMPS: {"view_pii"},
    "00000000000000000000000000000000": "expired",
}
FAST_RETRY = RetryPolicy(attempts=6, base=0.02, cap=0.2, rate_limited_base=0.05, rate_limited_cap=0.3)


@pytest.fixture(scope="session")
def crashes():
    return make_crashes(120, seed=7)


@pytest.fixture
def fake(crashes):
    server = FakeSocorro(list(crashes), tokens=dict(ALL_TOKENS))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def fast_options() -> SyncOptions:
    return SyncOptions(retry=FAST_RETRY)


def cli_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "CRASHDESK_API_TOKEN"}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2]) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra or {})
    return env


@pytest.fixture(scope="session")
def many_crashes():
    return make_crashes(300, seed=11)
