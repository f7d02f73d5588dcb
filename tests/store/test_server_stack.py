"""Server vs local: a synced crash's local re-walk against the server's processed stack, frame by frame;
``server_stack:differs|same`` against a brute-force comparison of the two documents; the v9 backfill sets it;
``crashdesk compare A --server --json``."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from crashdesk.store import CrashStore
from crashdesk.store.crashes import NewCrash
from tests.store import thread_oracle as O
from tests.store.test_thread_search import _corpus_docs

ROOT = Path(__file__).resolve().parents[2]


def _frames(doc):
    return doc["threads"][O.crashing_index(doc)]["frames"]


def _differ(local, server) -> bool:
    a, b = _frames(local), _frames(server)
    return len(a) != len(b) or any((x.get("function"), x.get("module"), x.get("trust")) !=
                                   (y.get("function"), y.get("module"), y.get("trust")) for x, y in zip(a, b, strict=False))


def _variants(doc):
    same = json.loads(json.dumps(doc))
    renamed = json.loads(json.dumps(doc))
    _frames(renamed)[1]["function"] = "server::knows::better"
    trust = json.loads(json.dumps(doc))
    _frames(trust)[-1]["trust"] = "scan" if _frames(trust)[-1].get("trust") != "scan" else "cfi"
    shorter = json.loads(json.dumps(doc))
    del _frames(shorter)[-1]
    offsets = json.loads(json.dumps(doc))  # only an offset differs: not a stack difference
    _frames(offsets)[0]["offset"] = "0x1"
    return [same, renamed, trust, shorter, offsets]


def _fill(folder: Path):
    store = CrashStore.open(folder)
    pairs = [(local, server) for local in _corpus_docs() for server in _variants(local)]
    # Socorro keeps the stackwalker output under json_dump; half the server documents come that way
    wrapped = [{"json_dump": server, "signature": "s", "uuid": "x"} if n % 2 else server
               for n, (_, server) in enumerate(pairs)]
    ids = store.add_many([NewCrash({"ProductName": "P"}, processed=local, server_processed=server,
                                   source="server:cs") for (local, _), server in zip(pairs, wrapped, strict=True)]
                         + [NewCrash({"ProductName": "P"}, processed=_corpus_docs()[0])])  # not synced
    return store, dict(zip(ids, pairs + [(None, None)], strict=True))


def _expected(by_id, want: bool) -> set[str]:
    return {c for c, (local, server) in by_id.items() if local is not None and _differ(local, server) == want}


def test_server_stack_terms_equal_brute_force(tmp_path):
    store, by_id = _fill(tmp_path)
    try:
        for want, query in ((True, "server_stack:differs"), (False, "server_stack:same")):
            hits = {h["crash_id"] for h in store.search(query, limit=1000).hits}
            assert hits == _expected(by_id, want)
        assert len(_expected(by_id, True)) == 12 and len(_expected(by_id, False)) == 8
        # combinable, and negated: the unsynced crash is "not differs"
        assert store.search("-server_stack:differs", limit=0).total == len(by_id) - 12
    finally:
        store.close()


def test_backfill_and_server_document_arriving_later(tmp_path):
    store, by_id = _fill(tmp_path)
    store.close()
    conn = sqlite3.connect(tmp_path / "crashdesk.sqlite")
    conn.executescript("DROP TRIGGER crash_stacks_ad; DROP TABLE thread_terms; DROP TABLE crash_stacks; "
                       "DROP TABLE thread_names; DROP TABLE frame_modules; DROP TABLE thread_top_counts; "
                       "PRAGMA user_version = 8;")
    conn.close()
    store = CrashStore.open(tmp_path)
    try:
        assert {h["crash_id"] for h in store.search("server_stack:differs", limit=1000).hits} == \
            _expected(by_id, True)
        # the unsynced crash gets a server document (a sync of a crash already here): the flag follows
        cid = next(c for c, (local, _) in by_id.items() if local is None)
        server = _variants(_corpus_docs()[0])[1]
        store.add_crash({"ProductName": "P"}, {}, crash_id=cid, source="server:cs", server_processed=server,
                        if_exists="update")
        assert cid in {h["crash_id"] for h in store.search("server_stack:differs", limit=1000).hits}
    finally:
        store.close()


def test_cli_compare_server(tmp_path):
    store, by_id = _fill(tmp_path)
    store.close()
    cid = next(c for c, (local, server) in by_id.items() if local is not None and _differ(local, server))
    proc = subprocess.run([sys.executable, "-m", "crashdesk", "--data-dir", str(tmp_path), "compare", cid,
                           "--server", "--json"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    local, server = by_id[cid]
    assert out["differs"] is True
    a, b = _frames(local), _frames(server)
    assert [r["index"] for r in out["frames"] if r["differs"]] == [
        k for k in range(max(len(a), len(b)))
        if k >= len(a) or k >= len(b) or (a[k].get("function"), a[k].get("module"), a[k].get("trust"))
        != (b[k].get("function"), b[k].get("module"), b[k].get("trust"))]
    unsynced = next(c for c, (local, _) in by_id.items() if local is None)
    bad = subprocess.run([sys.executable, "-m", "crashdesk", "--data-dir", str(tmp_path), "compare", unsynced,
                          "--server"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
