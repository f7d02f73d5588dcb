"""Issue 19 items 8-10: hostile crash bundles against ``crashdesk import`` (real store, real files, real CLI).

Symbolic links out of a bundle folder, dumps that are no minidumps, zip members named ``../<id>`` or ``/<id>``,
zip bombs (inflated size and member count; peak memory of the importing process measured from
``/proc/self/status``), and deeply nested JSON. Every refusal is one line naming the file; nothing of a
refused bundle is stored."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from crashdesk.services.importing import ImportFailed, export_crashes, import_path

ROOT = Path(__file__).resolve().parents[2]
DUMP = ROOT / "tests" / "data" / "crashes" / "01-null-deref" / "dump.dmp"
CID = "3f2a9c1e-7b4d-4e8a-9c2f-5d1e0b261129"


def raw_crash(crash_id: str = CID, **extra) -> bytes:
    return json.dumps({"uuid": crash_id, "ProductName": "Attack", "Version": "1.0",
                       "submitted_timestamp": "2026-11-29T10:00:00+00:00", **extra}).encode()


def folder_bundle(root: Path, dump: Path | bytes, crash_id: str = CID, dump_name: str = "upload_file_minidump"
                  ) -> Path:
    (root / "raw_crash" / ("20" + crash_id[-6:])).mkdir(parents=True)
    (root / "raw_crash" / ("20" + crash_id[-6:]) / crash_id).write_bytes(raw_crash(crash_id))
    (root / dump_name).mkdir()
    target = root / dump_name / crash_id
    if isinstance(dump, Path):
        target.symlink_to(dump)
    else:
        target.write_bytes(dump)
    return root


def zip_bundle(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name), data, compress_type=zipfile.ZIP_DEFLATED)
    return path


def cli(*args: str, data_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "crashdesk", *args, "--data-dir", str(data_dir)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})


def assert_one_line_refusal(proc: subprocess.CompletedProcess, *words: str) -> None:
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    for w in words:
        assert w in lines[0], (w, lines[0])


# ---------------------------------------------------------------------------------------------- item 8


def test_symlink_out_of_a_bundle_folder_is_refused(store, tmp_path: Path) -> None:
    secret = tmp_path / "elsewhere" / "secret.dmp"
    secret.parent.mkdir()
    secret.write_bytes(DUMP.read_bytes())  # even a real minidump: the link itself is the attack
    bundle = folder_bundle(tmp_path / "bundle", secret)
    with pytest.raises(ImportFailed) as err:
        import_path(store, bundle)
    assert "symbolic link" in str(err.value) and f"upload_file_minidump/{CID}" in str(err.value)
    assert store.count() == 0
    proc = cli("import", str(bundle), data_dir=tmp_path / "home")
    assert_one_line_refusal(proc, "symbolic link", CID)


def test_symlink_to_a_folder_is_refused(store, tmp_path: Path) -> None:
    bundle = folder_bundle(tmp_path / "bundle", DUMP.read_bytes())
    (tmp_path / "outside").mkdir()
    (bundle / "processed_crash").symlink_to(tmp_path / "outside", target_is_directory=True)
    with pytest.raises(ImportFailed, match="symbolic link to a folder"):
        import_path(store, bundle)


def test_link_inside_the_bundle_is_followed(store, tmp_path: Path) -> None:
    bundle = folder_bundle(tmp_path / "bundle", DUMP.read_bytes())
    inside = bundle / "upload_file_minidump" / CID
    inside.rename(bundle / "copy.bin")
    inside.symlink_to(bundle / "copy.bin")
    # copy.bin is not part of the layout: the bundle is refused for that, not for the link
    with pytest.raises(ImportFailed, match="copy.bin: not a crash bundle file"):
        import_path(store, bundle)


@pytest.mark.parametrize("kind", ["folder", "zip"])
def test_dump_that_is_not_a_minidump_is_refused_and_never_exported(store, tmp_path: Path, kind: str) -> None:
    text = b"root:x:0:0:root:/root:/bin/bash\n"  # what a symlink to /etc/passwd used to smuggle in
    if kind == "folder":
        bundle = folder_bundle(tmp_path / "bundle", text)
    else:
        bundle = zip_bundle(tmp_path / "bundle.zip", {
            f"raw_crash/20{CID[-6:]}/{CID}": raw_crash(), f"upload_file_minidump/{CID}": text})
    with pytest.raises(ImportFailed) as err:
        import_path(store, bundle)
    assert "not a minidump (no MDMP signature)" in str(err.value) and CID in str(err.value)
    assert store.count() == 0
    proc = cli("import", str(bundle), data_dir=tmp_path / "home")
    assert_one_line_refusal(proc, "not a minidump", CID)


def test_real_minidump_and_gzipped_memory_report_are_accepted(store, tmp_path: Path) -> None:
    report = gzip.compress(b'{"version": 4, "reports": []}')
    bundle = zip_bundle(tmp_path / "ok.zip", {
        f"raw_crash/20{CID[-6:]}/{CID}": raw_crash(), f"upload_file_minidump/{CID}": DUMP.read_bytes(),
        f"memory_report/{CID}": report})
    (result,) = import_path(store, bundle)
    assert store.read_dump(CID) == DUMP.read_bytes()
    assert store.read_dump(CID, "memory_report") == report
    # and it leaves again whole
    assert export_crashes(store, [result.crash_id], tmp_path / "out.zip") == 1
    with zipfile.ZipFile(tmp_path / "out.zip") as zf:
        assert zf.read(f"upload_file_minidump/{CID}") == DUMP.read_bytes()
    assert not list(store.blobs.root.glob(".import-*"))  # the spool folder is gone


# ---------------------------------------------------------------------------------------------- item 10


@pytest.mark.parametrize("name", [
    f"../{CID}", f"/{CID}", f"upload_file_minidump/../{CID}", f"./upload_file_minidump/{CID}",
    f"upload_file_minidump//{CID}", f"C:/upload_file_minidump/{CID}", f"upload_file_minidump\\{CID}",
    f"upload_file_minidump/\n{CID}",
])
def test_climbing_or_absolute_member_names_are_refused(store, tmp_path: Path, name: str) -> None:
    bundle = zip_bundle(tmp_path / "evil.zip", {f"raw_crash/20{CID[-6:]}/{CID}": raw_crash(),
                                                name: DUMP.read_bytes()})
    with zipfile.ZipFile(bundle) as zf:
        assert name in zf.namelist()  # the zip really carries the hostile name
    with pytest.raises(ImportFailed) as err:
        import_path(store, bundle)
    assert f"{bundle}!{name.encode('unicode_escape').decode()}: refused" in str(err.value)
    assert store.count() == 0
    proc = cli("import", str(bundle), data_dir=tmp_path / "home")
    assert_one_line_refusal(proc, "refused", str(bundle))


@pytest.mark.parametrize("dump_name", ["..", "raw_crash", ".hidden", "a b"])
def test_bad_dump_names_are_refused(store, tmp_path: Path, dump_name: str) -> None:
    name = f"{dump_name}/{CID}"
    bundle = zip_bundle(tmp_path / "evil.zip", {f"raw_crash/20{CID[-6:]}/{CID}": raw_crash(),
                                                name: DUMP.read_bytes()})
    with pytest.raises(ImportFailed):
        import_path(store, bundle)
    assert store.count() == 0


DEEP = 100_000


@pytest.mark.parametrize("where", ["raw", "processed", "annotations", "json-file"])
def test_deeply_nested_json_is_refused_in_one_line(store, tmp_path: Path, where: str) -> None:
    deep = "[" * DEEP + "]" * DEEP
    if where == "raw":
        target = zip_bundle(tmp_path / "deep.zip", {
            f"raw_crash/20{CID[-6:]}/{CID}": raw_crash()[:-1] + b', "x": ' + deep.encode() + b"}"})
        args = ("import", str(target))
    elif where == "processed":
        target = zip_bundle(tmp_path / "deep.zip", {
            f"processed_crash/{CID}": b'{"signature": "s", "date_processed": "x", "json_dump": ' + deep.encode()
            + b"}"})
        args = ("import", str(target))
    elif where == "annotations":
        (tmp_path / "dump.dmp").write_bytes(DUMP.read_bytes())
        target = tmp_path / "deep.extra"
        target.write_text('{"ProductName": ' + deep + "}")
        args = ("import", str(tmp_path / "dump.dmp"), "--extra", str(target))
    else:
        target = tmp_path / "raw.json"
        target.write_text('{"uuid": "' + CID + '", "submitted_timestamp": "2026-11-29", "x": ' + deep + "}")
        args = ("import", str(target))
    proc = cli(*args, data_dir=tmp_path / "home")
    assert_one_line_refusal(proc, "nested more than 64 levels", target.name)


def test_ordinary_nesting_still_imports(store, tmp_path: Path) -> None:
    nested: object = "leaf"
    for _ in range(60):
        nested = {"k": nested}
    bundle = zip_bundle(tmp_path / "ok.zip", {f"raw_crash/20{CID[-6:]}/{CID}": raw_crash(x=nested)})
    (result,) = import_path(store, bundle)
    assert store.annotations(result.crash_id)["x"] == nested


# ---------------------------------------------------------------------------------------------- item 9

PEAK = """
import sys
from crashdesk.cli import main
code = main(sys.argv[1:])
for line in open("/proc/self/status"):
    if line.startswith("VmHWM:"):
        print("PEAK_KB", line.split()[1], file=sys.stderr)
sys.exit(code)
"""
MEMORY_BOUND_KB = 250 * 1024  # the importing process's peak RSS; the bombs below inflate to 1 GiB and more


def run_measured(*args: str, data_dir: Path) -> tuple[subprocess.CompletedProcess, int]:
    proc = subprocess.run([sys.executable, "-c", PEAK, *args, "--data-dir", str(data_dir)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600, env={**os.environ, "PYTHONPATH": str(ROOT)})
    peak = [int(line.split()[1]) for line in proc.stderr.splitlines() if line.startswith("PEAK_KB")]
    assert peak, proc.stderr
    proc.stderr = "\n".join(line for line in proc.stderr.splitlines() if not line.startswith("PEAK_KB"))
    print(f"\n{args[1] if len(args) > 1 else args}: exit {proc.returncode}, peak RSS {peak[0] // 1024} MiB")
    return proc, peak[0]


def write_inflating_zip(path: Path, members: int, each: int) -> None:
    """``members`` crashes whose dumps are MDMP + zeros, ``each`` bytes inflated, written piece by piece."""
    zeros = bytes(1 << 20)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for k in range(members):
            cid = CID[:-8] + f"{k:02d}261129"
            zf.writestr(f"raw_crash/20{cid[-6:]}/{cid}", raw_crash(cid))
            with zf.open(f"upload_file_minidump/{cid}", "w", force_zip64=True) as w:
                w.write(b"MDMP")
                for _ in range(each >> 20):
                    w.write(zeros)


def test_zip_bomb_is_refused_while_inflating_with_bounded_memory(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.zip"
    write_inflating_zip(bomb, members=4, each=256 << 20)  # 1 GiB inflated from about 1 MB
    proc, peak = run_measured("import", str(bomb), data_dir=tmp_path / "home")
    assert_one_line_refusal(proc, "refused", "a zip bomb?", str(bomb))
    assert peak < MEMORY_BOUND_KB
    home = tmp_path / "home"
    leftovers = [p for p in (home / "dumps").rglob("*") if p.is_file()] if (home / "dumps").exists() else []
    assert leftovers == []  # neither spooled dumps nor blobs


def test_member_count_bomb_is_refused_before_the_directory_loads(tmp_path: Path) -> None:
    bomb = tmp_path / "many.zip"
    with zipfile.ZipFile(bomb, "w") as zf:
        zf.writestr(f"raw_crash/20{CID[-6:]}/{CID}", raw_crash())
        for k in range(100_001):
            zf.writestr(f"raw_crash/x/{k}", b"")
    proc, peak = run_measured("import", str(bomb), data_dir=tmp_path / "home")
    assert_one_line_refusal(proc, "refused", "100002 members", str(bomb))
    assert peak < MEMORY_BOUND_KB


def test_a_stored_non_minidump_is_left_out_of_an_export(store, tmp_path: Path) -> None:
    # a store filled before imports checked signatures: the "dump" is a text file
    crash_id = store.add_crash({"ProductName": "Old"}, {"upload_file_minidump": b"not a dump"}, source="import")
    export_crashes(store, [crash_id], tmp_path / "out.zip")
    with zipfile.ZipFile(tmp_path / "out.zip") as zf:
        names = zf.namelist()
        raw = json.loads(zf.read(f"raw_crash/20{crash_id[-6:]}/{crash_id}"))
    assert f"upload_file_minidump/{crash_id}" not in names
    assert raw["metadata"]["dump_checksums"] == {}
    assert raw["metadata"]["collector_notes"] == ["dump upload_file_minidump left out: not a minidump (no MDMP "
                                                  "signature)"]


def test_a_stored_non_minidump_is_not_served_by_the_read_api(store) -> None:
    from crashdesk.collector.read_api import ReadApi

    bad = store.add_crash({"ProductName": "Old"}, {"upload_file_minidump": b"root:x:0:0"}, source="import")
    good = store.add_crash({"ProductName": "New"}, {"upload_file_minidump": DUMP.read_bytes()}, source="import")
    api = ReadApi(store)
    assert api.handle("RawCrash", f"crash_id={good}&format=raw", True).body == DUMP.read_bytes()
    refused = api.handle("RawCrash", f"crash_id={bad}&format=raw", True)
    assert refused.status == 404 and b"root:x" not in refused.body


def test_a_folder_of_traps_is_refused_by_name_before_anything_is_read(tmp_path: Path, store):
    """A folder that is no bundle: a FIFO in it (opening it would block forever) or a link to a device is refused
    by name before a byte is read; without them, the 'it holds N minidumps' hint counts the plain files at the top
    only (a subfolder is not looked into)."""
    folder = tmp_path / "traps"
    folder.mkdir()
    (folder / "real.dmp").write_bytes(DUMP.read_bytes())
    (folder / "notes.txt").write_text("not a dump\n")
    (folder / "sub").mkdir()
    (folder / "sub" / "nested.dmp").write_bytes(DUMP.read_bytes())
    with pytest.raises(ImportFailed, match="it holds 1 minidump: import them by name"):
        import_path(store, folder)
    (folder / "zero.dmp").symlink_to("/dev/zero")
    with pytest.raises(ImportFailed, match="zero.dmp: refused: a symbolic link to /dev/zero"):
        import_path(store, folder)
    (folder / "zero.dmp").unlink()
    os.mkfifo(folder / "fifo.dmp")
    with pytest.raises(ImportFailed, match="fifo.dmp: refused: not a regular file"):
        import_path(store, folder)
    assert store.count() == 0
