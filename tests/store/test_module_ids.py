"""The module rows of a processed crash (issue 24: a store's first crashes bring dozens of modules each, looked up
and added a few statements at a time, not two per module): every module of the document gets the one row of its
identity, stored ones keep their id, new ones are added, and the crash links each once, in the document's
order."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from crashdesk.store import CrashStore
from crashdesk.store.crashes import MAIN_DUMP

CASE = Path(__file__).resolve().parents[1] / "data" / "crashes" / "01-null-deref"


def _document(names: range) -> dict:
    """The case's processed crash with its modules replaced by ``names``' (each its own identity, as a dump of
    many libraries has)."""
    doc = json.loads((CASE / "expected.json").read_text())
    template = doc["modules"][0]
    doc["modules"] = []
    for n in names:
        module = copy.deepcopy(template)
        module.update(filename=f"lib{n}.so", debug_file=f"lib{n}.so", debug_id=f"{n:032X}0",
                      code_id=f"{n:040x}", base_addr=f"0x{0x7f0000000000 + n * 0x100000:016x}")
        doc["modules"].append(module)
    return doc


def _add(store: CrashStore) -> str:
    annotations = json.loads((CASE / "annotations.json").read_text())
    return store.add_crash(annotations, {MAIN_DUMP: (CASE / "dump.dmp").read_bytes()}, source="import")


def _linked(store: CrashStore, crash_id: str) -> list[int]:
    row = store.db.conn.execute("SELECT l.modules FROM crash_module_links l JOIN crashes c ON c.id = l.crash "
                                "WHERE c.crash_id = ?", (crash_id,)).fetchone()
    return json.loads(row[0])


def _row_id(store: CrashStore, module: dict) -> int:
    (module_id,) = store.db.conn.execute(
        "SELECT id FROM modules WHERE filename = ? AND debug_file = ? AND debug_id = ? AND code_id = ? "
        "AND version = ?", (module["filename"], module["debug_file"], module["debug_id"], module["code_id"],
                            module.get("version") or "")).fetchone()
    return module_id


def test_stored_modules_keep_their_ids_and_new_ones_are_added_once(data_dir):
    first, second = _document(range(0, 100)), _document(range(40, 400))  # 60 stored, 300 new: several chunks
    store = CrashStore.open(data_dir)
    a = _add(store)
    store.save_processed(a, first)
    before = {_row_id(store, m): m["filename"] for m in first["modules"]}
    store.close()
    store = CrashStore.open(data_dir)  # a new process: nothing cached
    b = _add(store)
    store.save_processed(b, second)
    (rows,) = store.db.conn.execute("SELECT count(*) FROM modules").fetchone()
    assert rows == 400
    assert _linked(store, b) == [_row_id(store, m) for m in second["modules"]]
    assert len(set(_linked(store, b))) == 360
    assert {_row_id(store, m): m["filename"] for m in first["modules"]} == before
    assert _linked(store, a) == list(before)
    store.close()
