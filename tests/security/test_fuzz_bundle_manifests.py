"""Fuzz target: crash bundle zips with arbitrary member names, manifests (raw crash, processed crash, dump
names) and dump bytes (issue 19 items 8-10). An import either stores crashes or raises ``ImportFailed`` with a
one-line message; it never raises anything else, never stores part of a refused bundle, and never leaves its
spool folder behind."""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crashdesk.services.importing import ImportFailed, import_path
from crashdesk.store import CrashStore

CID = "3f2a9c1e-7b4d-4e8a-9c2f-5d1e0b261129"
DATE = "20" + CID[-6:]

names = st.one_of(
    st.sampled_from([f"raw_crash/{DATE}/{CID}", f"processed_crash/{CID}", f"dump_names/{CID}",
                     f"upload_file_minidump/{CID}", f"dump/{CID}", f"memory_report/{CID}",
                     f"v1/raw_crash/{DATE}/{CID}", f"wrap/raw_crash/{DATE}/{CID}", f"../{CID}", f"/{CID}",
                     f"upload_file_minidump/../{CID}", f"raw_crash/{CID}", "README", f"a b/{CID}",
                     f"upload_file_minidump\\{CID}", f"C:/x/{CID}", f"./raw_crash/{DATE}/{CID}"]),
    st.text(min_size=1, max_size=30).filter(lambda n: "\x00" not in n),
)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=False),
                    st.text(max_size=20))
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                              st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                           max_leaves=20)


@st.composite
def manifest(draw) -> bytes:
    kind = draw(st.sampled_from(["raw", "processed", "names", "any", "deep", "garbage"]))
    if kind == "raw":
        doc = {"uuid": draw(st.sampled_from([CID, "nope", 7])), "ProductName": draw(scalars),
               "submitted_timestamp": draw(st.one_of(st.text(max_size=30), st.just("2026-11-29T10:00:00Z"))),
               "metadata": draw(st.one_of(json_values, st.just({"dump_checksums": {"upload_file_minidump": "0"}})))}
        return json.dumps(doc).encode()
    if kind == "processed":
        doc = {"signature": draw(scalars), "date_processed": draw(scalars), "json_dump": draw(json_values),
               "crashdesk": draw(st.one_of(st.none(), json_values))}
        return json.dumps({k: v for k, v in doc.items() if v is not None}).encode()
    if kind == "names":
        return json.dumps(draw(st.lists(st.one_of(st.text(max_size=12), scalars), max_size=3))).encode()
    if kind == "deep":
        n = draw(st.integers(30, 5000))
        return ("[" * n + "]" * n).encode()
    if kind == "garbage":
        return draw(st.binary(max_size=64))
    return json.dumps(draw(json_values)).encode()


dump_bytes = st.one_of(st.binary(max_size=64), st.binary(max_size=64).map(lambda b: b"MDMP" + b),
                       st.binary(max_size=32).map(lambda b: b"\x1f\x8b" + b))


@pytest.mark.filterwarnings("ignore:Duplicate name")
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(members=st.lists(st.tuples(names, st.one_of(manifest(), dump_bytes)), min_size=1, max_size=6))
def test_any_bundle_imports_or_is_refused_in_one_line(members) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members:
            zf.writestr(zipfile.ZipInfo(name), data)
    with tempfile.TemporaryDirectory() as d:
        bundle = Path(d) / "b.zip"
        bundle.write_bytes(buf.getvalue())
        with CrashStore.open(Path(d) / "home") as store:
            try:
                results = import_path(store, bundle)
            except ImportFailed as exc:
                message = str(exc)
                assert message and "\n" not in message
                assert str(bundle) in message
                assert store.count() == 0
            else:
                assert results and store.count() == len({r.crash_id for r in results})
                for r in results:
                    for name, ref in store.dumps(r.crash_id).items():
                        head = store.blobs.read(ref.sha256)[:4]
                        assert head[:2] == b"\x1f\x8b" if name == "memory_report" else head == b"MDMP"
            assert not list(store.blobs.root.glob(".import-*"))
