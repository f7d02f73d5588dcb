"""A crash without a product Version has no version: the raw crash's own format ``version`` (2 in every Socorro
raw crash, synced or collected) is not the product's (issue 20: facets and the Signatures view showed "2")."""

from __future__ import annotations

import json
from pathlib import Path

from crashdesk.model.summary import columns_from

RAW = Path(__file__).resolve().parents[1] / "data" / "crashes" / "socorro" / "raw_crash_firefox.json"


def test_raw_crash_format_version_is_not_the_product_version():
    raw = json.loads(RAW.read_text())
    assert raw.get("version") == 2 or "version" not in raw  # the Socorro raw crash field, as stored
    without = {k: v for k, v in raw.items() if k != "Version"} | {"version": 2}
    assert columns_from(without, None).version is None
    assert columns_from(raw, None).version == raw["Version"]
    assert columns_from({"ver": "1.5", "version": 2}, None).version == "1.5"  # Breakpad's own field name


def test_store_search_and_facets_show_no_fake_version(store):
    with_version = store.add_crash({"ProductName": "P", "Version": "3.0", "version": 2}, {}, source="import")
    without = store.add_crash({"ProductName": "P", "version": 2}, {}, source="import")
    facet = store.search("", facets=["version"], limit=0).facets["version"]
    assert facet == [{"term": "3.0", "count": 1}]
    assert [h["crash_id"] for h in store.search("version:__null__").hits] == [without]
    assert store.get(with_version)["version"] == "3.0"
