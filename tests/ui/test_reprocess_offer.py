"""The crash view's "symbol sources were added, reprocess?" banner.

* Mozilla's symbol server counts only for a Mozilla product's crash, as processing asks it for nothing else
  (seen on a store of a non-Mozilla product: every crash offered a reprocess that could not change anything).
* Only sources added since the crash was processed count: with a folder taken out of Settings, every crash
  processed with it offered a reprocess that "may find symbols it lacked" and could only lose them.
* A crash whose every module had symbols with source lines is offered nothing.
"""

from __future__ import annotations

import pytest

from crashdesk.ui.detail import CrashDetail, describe_symbol_sources

MOZILLA = "https://symbols.mozilla.org/"
NONE = {"folders": [], "servers": [], "debuginfod": [], "mozilla_servers": []}
MISSING = [{"filename": "libdemo.so", "symbol_status": "missing"}, {"filename": "app", "symbol_status": "loaded",
                                                                     "source_lines": True}]


def _detail(product: str, recorded: dict, current: dict, modules: list | None = None) -> CrashDetail:
    data = {"annotations": {"ProductName": product}, "processed": {"status": "OK", "symbol_sources": recorded}}
    return CrashDetail(crash_id="x", data=data, modules=MISSING if modules is None else modules, processed_html="",
                       annotations_html="", server_html=None, current_symbol_sources=current)


@pytest.mark.parametrize("product, offered", [("Demo", False), ("Firefox", True), ("Thunderbird", True)])
def test_mozilla_servers_count_for_mozilla_products_only(product, offered):
    assert _detail(product, NONE, {**NONE, "mozilla_servers": [MOZILLA]}).may_gain_symbols is offered


def test_other_sources_count_for_every_product():
    for key in ("folders", "servers", "debuginfod"):
        detail = _detail("Demo", NONE, {**NONE, key: ["/builds/demo"]})
        assert detail.may_gain_symbols
        assert detail.added_symbol_sources == {key: ["/builds/demo"]}
    assert not _detail("Demo", NONE, dict(NONE)).may_gain_symbols


def test_a_removed_source_offers_nothing():
    recorded = {**NONE, "folders": ["/builds/a", "/builds/b"], "servers": ["https://symbols.example/"]}
    assert not _detail("Demo", recorded, {**NONE, "folders": ["/builds/a"]}).may_gain_symbols
    # reordered: the same sources
    assert not _detail("Demo", recorded, {**recorded, "folders": ["/builds/b", "/builds/a"]}).may_gain_symbols
    # one taken out, one added: the added one is offered, and only it is named
    detail = _detail("Demo", recorded, {**recorded, "folders": ["/builds/a", "/builds/c"]})
    assert detail.may_gain_symbols
    assert describe_symbol_sources(detail.added_symbol_sources) == "folders: /builds/c"


@pytest.mark.parametrize("modules, offered", [
    ([{"symbol_status": "loaded", "source_lines": True}, {"symbol_status": "not needed"}], False),
    ([{"symbol_status": "loaded", "source_lines": None}], False),  # a .sym file: lines not known to be absent
    ([{"symbol_status": "loaded", "source_lines": False}], True),  # a symbol table alone: a debug file adds lines
    ([{"symbol_status": "corrupt"}], True),
    ([{"symbol_status": "error"}], True),
    ([], False),
])
def test_only_a_crash_that_lacks_symbols_is_offered(modules, offered):
    assert _detail("Demo", NONE, {**NONE, "folders": ["/builds/demo"]}, modules).may_gain_symbols is offered


def test_a_crash_processed_before_sources_were_recorded_is_not_offered():
    detail = _detail("Demo", NONE, {**NONE, "folders": ["/builds/demo"]})
    detail.data["processed"].pop("symbol_sources")
    assert detail.added_symbol_sources == {} and not detail.may_gain_symbols
