"""The supplier chain against a real HTTP server on 127.0.0.1: downloads, gzip, redirects, faults, negative cache,
code-id lookup, progress and cancellation, cache layout and eviction."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from crashdesk.engine.symbols_api import ModuleKey
from crashdesk.symbols import HttpOptions, build_provider
from tests.symbols.conftest import CODEC, VIEWER, WINDOWS

EXPECTED = Path(__file__).resolve().parents[1] / "data" / "symbols" / "expected"

FAST = HttpOptions(connect_timeout=2.0, read_timeout=0.5, retries=2, backoff=0.01)


def reference_frame(case: str, module: str) -> tuple[int, str]:
    """(module offset, function) of the first frame of ``module`` in a reference output."""
    doc = json.loads((EXPECTED / f"{case}.json").read_text())
    for fr in doc["crashing_thread"]["frames"]:
        if fr.get("module") == module and fr.get("function"):
            return int(fr["module_offset"], 16), fr["function"]
    raise AssertionError(module)


def key(pair: tuple[str, str], **kw) -> ModuleKey:
    return ModuleKey(pair[0], pair[1], **kw)


def chain(tmp_path: Path, server, **kw):
    opts = kw.pop("options", FAST)
    return build_provider(kw.pop("paths", []), [server.url], tmp_path / "cache", options=opts, **kw)


def cache_file(tmp_path: Path, pair: tuple[str, str]) -> Path:
    name = pair[0][:-4] + ".sym" if pair[0].endswith(".pdb") else pair[0] + ".sym"
    return tmp_path / "cache" / "symbols" / pair[0] / pair[1] / name


def no_partial_files(tmp_path: Path) -> bool:
    return not [p for p in (tmp_path / "cache").rglob("*.part")]


@pytest.mark.parametrize("fault", ["", "gzip", "gzip-raw", "redirect", "500-once", "429-once", "503-then-gzip"])
def test_download_then_cache(tmp_path: Path, symbol_server, fault: str) -> None:
    symbol_server.faults[CODEC[0]] = fault
    offset, function = reference_frame("linux-crashpad-06-plugin-so", "libdemo_codec.so")
    with chain(tmp_path, symbol_server) as c:
        res = c.lookup(key(CODEC))
        assert res.status == "loaded", res.note
        assert res.symbol_url == f"{symbol_server.url}/libdemo_codec.so/{CODEC[1]}/libdemo_codec.so.sym"
        assert res.symbols.function_at(offset).name == function
    stored = cache_file(tmp_path, CODEC)
    assert stored.is_file()
    assert stored.read_bytes().startswith(b"MODULE Linux x86_64 " + CODEC[1].encode())
    assert stored.read_bytes().rstrip().endswith(b"INFO URL " + res.symbol_url.encode())
    assert no_partial_files(tmp_path)
    hits = sum(symbol_server.hits.values())
    with chain(tmp_path, symbol_server) as again:  # a later run: from the cache, no request
        res2 = again.lookup(key(CODEC))
        assert res2.status == "loaded" and res2.extra["source"] == "cache"
        assert res2.symbol_url == res.symbol_url
        assert res2.symbols.function_at(offset).name == function
    assert sum(symbol_server.hits.values()) == hits


def test_not_found_is_remembered_with_expiry(tmp_path: Path, symbol_server) -> None:
    missing = ModuleKey("nothere.pdb", "ABCDEF0123456789ABCDEF01234567891")
    url_path = f"/nothere.pdb/{missing.debug_id}/nothere.sym"
    with chain(tmp_path, symbol_server) as c:
        res = c.lookup(missing)
        assert (res.status, res.extra["reason"]) == ("missing", "not_found")
    assert symbol_server.hits[url_path] == 1  # a 404 is not retried
    with chain(tmp_path, symbol_server) as c:
        res = c.lookup(missing)
        assert res.extra["reason"] == "cached_miss"
    assert symbol_server.hits[url_path] == 1
    with chain(tmp_path, symbol_server, negative_ttl=0.0) as c:  # an expired record is not believed
        c.negative.forget()
        assert c.lookup(missing).extra["reason"] == "not_found"
    assert symbol_server.hits[url_path] == 2


def test_server_error_is_retried_and_not_remembered(tmp_path: Path, symbol_server) -> None:
    symbol_server.faults[CODEC[0]] = "500"
    with chain(tmp_path, symbol_server) as c:
        res = c.lookup(key(CODEC))
    assert res.status == "missing"
    assert res.extra["reason"] == "server_error"
    assert "server error 500" in res.note
    path = f"/libdemo_codec.so/{CODEC[1]}/libdemo_codec.so.sym"
    assert symbol_server.hits[path] == 1 + FAST.retries
    with chain(tmp_path, symbol_server) as c:
        assert c.lookup(key(CODEC)).extra["reason"] == "server_error"
    assert symbol_server.hits[path] == 2 * (1 + FAST.retries)


@pytest.mark.parametrize("fault,words", [
    ("slow", "timed out"),
    ("drop", "connection failed"),
    ("truncated", ""),
    ("gzip-truncated", "truncated"),
])
def test_network_faults_leave_nothing_behind(tmp_path: Path, symbol_server, fault: str, words: str) -> None:
    symbol_server.faults[CODEC[0]] = fault
    symbol_server.slow_seconds = 1.5
    opts = HttpOptions(connect_timeout=2.0, read_timeout=0.3, retries=1, backoff=0.01)
    with chain(tmp_path, symbol_server, options=opts) as c:
        res = c.lookup(key(CODEC))
    assert res.status == "missing" and res.symbols is None
    assert res.extra["reason"] == "server_error", res.note
    assert words in res.note
    assert not cache_file(tmp_path, CODEC).exists()
    assert no_partial_files(tmp_path)


@pytest.mark.parametrize("fault", ["wrong-module", "garbage"])
def test_wrong_content_is_corrupt(tmp_path: Path, symbol_server, fault: str) -> None:
    symbol_server.faults[CODEC[0]] = fault
    with chain(tmp_path, symbol_server) as c:
        res = c.lookup(key(CODEC))
    assert res.status == "corrupt" and res.symbols is None
    if fault == "wrong-module":
        assert "MODULE line mismatch" in res.note
    assert not cache_file(tmp_path, CODEC).exists()
    assert no_partial_files(tmp_path)


def test_size_cap(tmp_path: Path, symbol_server) -> None:
    opts = HttpOptions(read_timeout=2.0, retries=0, max_bytes=1000)
    with chain(tmp_path, symbol_server, options=opts) as c:
        res = c.lookup(key(VIEWER))  # 9,296 bytes
    assert res.status == "missing" and "larger than" in res.note
    assert not cache_file(tmp_path, VIEWER).exists()


def test_gzip_bomb_stops_at_the_cap(tmp_path: Path, symbol_server) -> None:
    symbol_server.faults[VIEWER[0]] = "bomb"
    opts = HttpOptions(read_timeout=5.0, retries=0, max_bytes=4 << 20)
    with chain(tmp_path, symbol_server, options=opts) as c:
        res = c.lookup(key(VIEWER))
    assert res.status == "missing" and "larger than" in res.note
    assert not cache_file(tmp_path, VIEWER).exists() and no_partial_files(tmp_path)


def test_code_id_lookup_follows_tecken_redirect(tmp_path: Path, symbol_server) -> None:
    symbol_server.code_ids[("crash.exe", "5AB380779000")] = f"/crash.pdb/{WINDOWS[1]}/crash.sym"
    offset, function = reference_frame("getsentry-symbolic-mini-windows", "crash.exe")
    module = ModuleKey("", "", code_file="crash.exe", code_id="5AB380779000")
    with chain(tmp_path, symbol_server) as c:
        res = c.lookup(module)
        assert res.status == "loaded", res.note
        assert res.symbols.debug_id == WINDOWS[1]
        assert res.symbols.function_at(offset).name == function
    assert cache_file(tmp_path, WINDOWS).is_file()


def test_sources_are_tried_in_order(tmp_path: Path, symbol_server, local_store: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with chain(tmp_path, symbol_server, paths=[empty, local_store]) as c:
        res = c.lookup(key(VIEWER))
    assert res.status == "loaded" and res.extra["source"] == f"folder {local_store}"
    assert sum(symbol_server.hits.values()) == 0
    # A local file with the wrong MODULE id is skipped (and reported), the server's copy is used.
    bad = local_store / VIEWER[0] / VIEWER[1] / "demo-viewer.sym"
    text = bad.read_bytes().replace(VIEWER[1].encode(), b"1" * 33, 1)
    bad.write_bytes(text)
    with chain(tmp_path / "other", symbol_server, paths=[local_store]) as c:
        res = c.lookup(key(VIEWER))
    assert res.status == "loaded" and res.extra["source"] == symbol_server.url
    assert res.extra["attempts"][0]["result"] == "corrupt"


@pytest.mark.parametrize("name", ["..", "a\x00b.pdb", "C:evil.pdb", "x" * 300, "CON", "a:b", "", "."])
def test_unsafe_names_are_never_used(tmp_path: Path, symbol_server, name: str) -> None:
    with chain(tmp_path, symbol_server) as c:
        res = c.lookup(ModuleKey(name, "ABCDEF0123456789ABCDEF01234567891"))
        bad_id = c.lookup(ModuleKey("ok.pdb", "../../etc"))
    assert res.symbols is None and res.extra["reason"] == "unsafe_name"
    assert bad_id.extra["reason"] == "unsafe_name"
    assert sum(symbol_server.hits.values()) == 0
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert all(p.is_relative_to(tmp_path / "cache") for p in written)


def test_leaf_of_a_full_path_is_used(tmp_path: Path, symbol_server) -> None:
    with chain(tmp_path, symbol_server) as c:
        res = c.lookup(ModuleKey("/opt/crashfactory-demo/bin/" + VIEWER[0], VIEWER[1]))
    assert res.status == "loaded"
    assert cache_file(tmp_path, VIEWER).is_file()


def test_fetch_many_parallel_with_progress(tmp_path: Path, symbol_server) -> None:
    symbol_server.faults[WINDOWS[0]] = "gzip"
    mods = [key(CODEC), key(VIEWER), key(WINDOWS), ModuleKey("gone.so", "00112233445566778899AABBCCDDEEFF0")]
    events = []
    lock = threading.Lock()

    def progress(ev) -> None:
        with lock:
            events.append(ev)

    with chain(tmp_path, symbol_server, max_parallel=3) as c:
        out = c.fetch_many(mods, progress=progress)
    assert [out[m].status for m in mods] == ["loaded", "loaded", "loaded", "missing"]
    done = [e for e in events if e.kind == "done"]
    assert sorted(e.files_done for e in done) == [1, 2, 3, 4]
    assert all(e.files_total == 4 for e in events)
    got = [e for e in events if e.kind == "bytes"]
    assert got and max(e.bytes_done for e in got) > 0


def test_cancellation(tmp_path: Path, symbol_server) -> None:
    cancel = threading.Event()
    cancel.set()
    with chain(tmp_path, symbol_server) as c:
        out = c.fetch_many([key(CODEC), key(VIEWER)], cancel=cancel)
        assert all(r.status == "missing" and r.extra["reason"] == "cancelled" for r in out.values())
        assert sum(symbol_server.hits.values()) == 0
        # Cancelled results are not remembered: a later lookup fetches.
        assert c.lookup(key(CODEC)).status == "loaded"


def test_cancel_during_download(tmp_path: Path, symbol_server) -> None:
    symbol_server.faults[VIEWER[0]] = "slow"
    symbol_server.slow_seconds = 0.5
    cancel = threading.Event()

    def progress(ev) -> None:
        if ev.kind == "start":
            cancel.set()

    opts = HttpOptions(read_timeout=5.0, retries=0)
    with chain(tmp_path, symbol_server, options=opts) as c:
        out = c.fetch_many([key(VIEWER)], progress=progress, cancel=cancel)
    assert out[key(VIEWER)].extra["reason"] == "cancelled"
    assert not cache_file(tmp_path, VIEWER).exists()
    assert no_partial_files(tmp_path)


def test_cache_eviction_is_least_recently_used(tmp_path: Path, symbol_server) -> None:
    import os
    import time

    with chain(tmp_path, symbol_server) as c:
        for m in (CODEC, VIEWER, WINDOWS):
            assert c.lookup(key(m)).status == "loaded"
    # Make the use order explicit: CODEC oldest, then WINDOWS, VIEWER most recent.
    now = time.time()
    for m, age in ((CODEC, 300), (WINDOWS, 200), (VIEWER, 100)):
        marker = cache_file(tmp_path, m).parent / ".last-used"
        os.utime(marker, (now - age, now - age))
        os.utime(cache_file(tmp_path, m), (now - 1000, now - 1000))
    with chain(tmp_path, symbol_server) as c:
        total = c.cache.total_bytes()
        viewer_bytes = cache_file(tmp_path, VIEWER).stat().st_size
        evicted = c.prune_cache(max_bytes=total - 1)
        assert [e.path for e in evicted] == [str(cache_file(tmp_path, CODEC))]
        c.prune_cache(max_bytes=viewer_bytes + 4096)
    assert not cache_file(tmp_path, WINDOWS).exists()
    assert cache_file(tmp_path, VIEWER).exists()
    assert not (tmp_path / "cache" / "symbols" / CODEC[0]).exists()


def test_without_a_cache_folder_nothing_is_left_behind(tmp_path: Path, symbol_server) -> None:
    import tempfile

    before = set(Path(tempfile.gettempdir()).glob("crashdesk-sym-*"))
    with build_provider([], [symbol_server.url], None, options=FAST) as c:
        res = c.lookup(key(CODEC))
        assert res.status == "loaded"
        temp = Path(res.extra["path"])
        assert temp.is_file()
    assert not temp.exists()
    assert set(Path(tempfile.gettempdir()).glob("crashdesk-sym-*")) == before


def test_fetch_missing_symbols_retries(tmp_path: Path, symbol_server) -> None:
    late = tmp_path / "late-store"
    symbol_server.root = late  # the server starts empty: symbols get uploaded after the first crash
    with chain(tmp_path, symbol_server) as c:
        assert c.lookup(key(CODEC)).extra["reason"] == "not_found"
        assert c.lookup(key(CODEC)).extra["reason"] == "not_found"  # this chain's memory
        import shutil

        from tests.symbols.conftest import STORE

        shutil.copytree(STORE, late)
        assert c.fetch_many([key(CODEC)])[key(CODEC)].status == "missing"  # remembered miss still believed
        assert c.fetch_many([key(CODEC)], retry_misses=True)[key(CODEC)].status == "loaded"
