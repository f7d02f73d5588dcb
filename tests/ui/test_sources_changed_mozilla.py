"""The crash view's "symbol sources changed, reprocess?" banner: Mozilla's symbol server counts only for a
Mozilla product's crash, as processing asks it for nothing else (seen on a store of a non-Mozilla product:
every crash offered a reprocess that could not change anything)."""

from __future__ import annotations

import pytest

from crashdesk.ui.detail import CrashDetail

MOZILLA = "https://symbols.mozilla.org/"


def _detail(product: str, recorded: dict, current: dict) -> CrashDetail:
    data = {"annotations": {"ProductName": product}, "processed": {"status": "OK", "symbol_sources": recorded}}
    return CrashDetail(crash_id="x", data=data, modules=[], processed_html="", annotations_html="", server_html=None,
                       current_symbol_sources=current)


NONE = {"folders": [], "servers": [], "debuginfod": [], "mozilla_servers": []}


@pytest.mark.parametrize("product, changed", [("Demo", False), ("Firefox", True), ("Thunderbird", True)])
def test_mozilla_servers_count_for_mozilla_products_only(product, changed):
    assert _detail(product, NONE, {**NONE, "mozilla_servers": [MOZILLA]}).symbol_sources_changed is changed


def test_other_sources_count_for_every_product():
    for key in ("folders", "servers", "debuginfod"):
        assert _detail("Demo", NONE, {**NONE, key: ["/builds/demo"]}).symbol_sources_changed
    assert not _detail("Demo", NONE, dict(NONE)).symbol_sources_changed
