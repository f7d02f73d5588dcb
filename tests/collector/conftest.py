"""Fixtures: a real collector (waitress on 127.0.0.1, port 0) over a real store in tmp_path."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def make_collector(data_dir, monkeypatch):
    """``make_collector(limits=..., throttler=..., token=...)`` starts a collector; all are stopped after."""
    from crashdesk.collector import Collector, CollectorConfig, Limits

    monkeypatch.delenv("CRASHDESK_COLLECTOR_TOKEN", raising=False)
    started = []

    def make(*, limits: dict | None = None, **kw):
        cfg = CollectorConfig(port=0, limits=dataclasses.replace(Limits(), **(limits or {})), **kw)
        collector = Collector(data_dir, cfg)
        collector.start()
        started.append(collector)
        return collector

    yield make
    for collector in started:
        collector.stop()


@pytest.fixture
def collector(make_collector):
    return make_collector()


@pytest.fixture(scope="session")
def http():
    """One httpx client for the session (building one per request costs an SSL context each time)."""
    import httpx

    with httpx.Client(trust_env=False, timeout=30) as client:
        yield client
