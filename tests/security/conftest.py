"""The security suite: attacks against the collector as a real process on 127.0.0.1 (see attack_tools)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

if not Path("/proc/self/status").exists():  # RSS is read from /proc
    collect_ignore_glob = ["test_collector_attacks.py"]


@pytest.fixture
def start_collector(tmp_path):
    """``start_collector(*cli_args)`` runs a collector process over tmp_path/home; all stopped after."""
    from attack_tools import Collector

    started = []

    def start(*extra: str) -> Collector:
        c = Collector(tmp_path / "home", *extra)
        started.append(c)
        return c

    yield start
    for c in started:
        c.stop()
