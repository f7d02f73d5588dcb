"""The all-threads view equals a brute-force merge of the matching crashes' threads (from the processed
documents, tests/store/thread_oracle.py), and ``crashdesk threads --json`` prints it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from crashdesk.services.all_threads import all_threads
from tests.store import thread_oracle as O
from tests.store.test_thread_search import _corpus_docs, _store


def brute_force(docs_by_id: dict, role: str, name: str | None) -> dict:
    tree: dict = {}
    crashes = 0
    threads = 0
    for cid, doc in docs_by_id.items():
        counted = False
        crashing, main = O.crashing_index(doc), O.main_index(doc)
        for n, t in enumerate(doc["threads"]):
            if role == "crashing" and n != crashing or role == "main" and n != main:
                continue
            tname = t.get("thread_name") or None
            if name is not None and (tname is None or name.lower() not in tname.lower()):
                continue
            functions = O.display_rows(t)
            if not functions:
                continue
            threads += 1
            counted = True
            level = tree
            for f in reversed(functions):
                node = level.setdefault(f, {"threads": 0, "crashes": set(), "children": {}})
                node["threads"] += 1
                node["crashes"].add(cid)
                level = node["children"]
        crashes += counted

    def out(level):
        nodes = [{"function": f, "threads": v["threads"], "crashes": len(v["crashes"]),
                  "crash_ids": sorted(v["crashes"]), "children": out(v["children"])} for f, v in level.items()]
        return sorted(nodes, key=lambda n: (-n["threads"], -n["crashes"], n["function"]))
    return {"crashes": crashes, "threads": threads, "roots": out(tree)}


@pytest.mark.parametrize("role, name", [("any", None), ("main", None), ("crashing", None), ("any", "worker"),
                                        ("any", "thread")])
def test_tree_equals_brute_force_merge(tmp_path, role, name):
    docs = _corpus_docs()
    store, by_id = _store(tmp_path, docs + docs[:2])  # two crashes twice: counts above one
    try:
        got = all_threads(store, "", role=role, thread_name=name).to_json(ids=True)
        assert got == brute_force(by_id, role, name)
        assert got["threads"] > 0
        # a query narrows the crashes merged
        some = [c for c, d in by_id.items() if d["product"] == "05-thread"]
        got = all_threads(store, "product:05-thread", role=role, thread_name=name).to_json(ids=True)
        assert got == brute_force({c: by_id[c] for c in some}, role, name)
    finally:
        store.close()


def test_cli_threads_json(tmp_path):
    docs = _corpus_docs()
    store, by_id = _store(tmp_path, docs)
    store.close()
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run([sys.executable, "-m", "crashdesk", "--data-dir", str(tmp_path), "threads",
                           "thread.name:~sleep", "--json", "--crash-ids"], capture_output=True, text=True, cwd=root,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == brute_force(
        {c: d for c, d in by_id.items() if any("sleep" in (t.get("thread_name") or "") for t in d["threads"])},
        "any", None)
    bad = subprocess.run([sys.executable, "-m", "crashdesk", "--data-dir", str(tmp_path), "threads",
                          "stack:\"A >\""], capture_output=True, text=True, cwd=root, timeout=120)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr and "column" in bad.stderr


def test_unsymbolicated_real_crash_merges_by_module_and_offset(tmp_path):
    """A real Crashpad dump (tests/data/crashes/05-thread) imported twice and processed by the real CLI with no
    symbol source: every frame lacks a function. The tree names each frame by module and offset (from the
    processed documents, as display_rows spells it), the two copies merge node for node, and no frame with a
    module reads ``??`` (before, every thread was one chain of ``??``)."""
    root = Path(__file__).resolve().parents[2]
    dump = root / "tests" / "data" / "crashes" / "05-thread" / "dump.dmp"

    def cli(*args):
        proc = subprocess.run([sys.executable, "-m", "crashdesk", "--data-dir", str(tmp_path), *args],
                              capture_output=True, text=True, cwd=root, timeout=300, env={**__import__("os").environ,
                                                                                        "DEBUGINFOD_URLS": ""})
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    from crashdesk.store import CrashStore

    cli("config", "--mozilla-symbols", "off")
    with CrashStore.open(tmp_path) as store:  # the same dump twice (an import of it again is a duplicate)
        for _ in range(2):
            store.add_crash({"ProductName": "Demo"}, {"upload_file_minidump": dump.read_bytes()}, source="collector")
    cli("process")
    got = json.loads(cli("threads", "--json", "--crash-ids"))
    with CrashStore.open(tmp_path) as store:
        by_id = {h["crash_id"]: store.processed(h["crash_id"]) for h in store.search("", limit=10).hits}
    frames = [f for d in by_id.values() for t in d["threads"] for f in t["frames"]]
    assert len(by_id) == 2 and frames and not any(f.get("function") for f in frames)
    assert got == brute_force(by_id, "any", None)
    names = []

    def walk(nodes):
        for n in nodes:
            assert n["crashes"] == 2 and n["threads"] % 2 == 0  # the two copies merge node for node
            names.append(n["function"])
            walk(n["children"])
    walk(got["roots"])
    assert "??" not in names and all("@0x" in n for n in names)
    assert any(n.startswith("libc.so.6@0x") for n in names)
