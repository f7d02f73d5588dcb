"""A crash's start-up share from the minidump itself: Crashpad and Breakpad clients other than Firefox send no
uptime annotation, but the dump records when the process was created (MiscInfo) and when it was written (the
header's time stamp). Processing stores that uptime; Top crashers, ``crashdesk show`` and the Summary tab read it
where the annotations say nothing, and the annotations win where they do (as Crash Stats reads them).

Real dumps through the real CLI and worker processes: a Windows x86 crash 23 s after start, the same bytes with
the header's time stamp an hour later, and a real Crashpad crash of a Linux program (the reference's report says
"Process uptime: 0 seconds"). The expected uptimes are read from the dump bytes here, not from CrashDesk's reader.
"""

from __future__ import annotations

import json
import sqlite3
import struct
from pathlib import Path

from crashdesk.cli import main
from crashdesk.model.summary import describe_uptime
from crashdesk.store import CrashStore
from crashdesk.ui.detail import summary_fields

DUMPS = Path(__file__).resolve().parents[1] / "data" / "minidumps"
FIZZBUZZ = DUMPS / "win-x86-fizzbuzz" / "fizzbuzz_no_heap.dmp"
CRASHPAD = DUMPS / "linux-crashpad-05-thread"
MISC_INFO = 15  # MINIDUMP_STREAM_TYPE MiscInfoStream
PROCESS_TIMES = 0x2  # MINIDUMP_MISC1_PROCESS_TIMES


def uptime_in(data: bytes) -> int:
    """Header TimeDateStamp - MiscInfo ProcessCreateTime, straight from the file format."""
    _sig, _ver, count, rva, _sum, stamp = struct.unpack_from("<6I", data, 0)
    for i in range(count):
        kind, _size, at = struct.unpack_from("<3I", data, rva + 12 * i)
        if kind == MISC_INFO:
            _size, flags, _pid, created = struct.unpack_from("<4I", data, at)
            assert flags & PROCESS_TIMES
            return stamp - created
    raise AssertionError("no MiscInfo stream")


def _run(capsys, *args) -> str:
    assert main(list(args)) == 0
    return capsys.readouterr().out


def test_start_up_share_and_uptime_come_from_the_dump(tmp_path, capsys):
    later = bytearray(FIZZBUZZ.read_bytes())
    (stamp,) = struct.unpack_from("<I", later, 20)
    struct.pack_into("<I", later, 20, stamp + 3600)  # written an hour later: not a start-up crash
    dumps = {"early": FIZZBUZZ, "late": tmp_path / "late.dmp", "crashpad": CRASHPAD / "dump.dmp"}
    dumps["late"].write_bytes(bytes(later))
    expected = {name: uptime_in(path.read_bytes()) for name, path in dumps.items()}
    assert expected["early"] == 23 and expected["late"] == 3623
    assert f"Process uptime: {expected['crashpad']} seconds" in (CRASHPAD / "expected.txt").read_text()

    data = tmp_path / "data"
    for path in dumps.values():
        _run(capsys, "import", "--data-dir", str(data), "--annotations",
             json.dumps({"ProductName": "Demo", "Version": "1.0"}), str(path))
    _run(capsys, "process", "--data-dir", str(data))

    conn = sqlite3.connect(data / "crashdesk.sqlite")
    stored = dict(conn.execute("SELECT crash_id, process_uptime FROM crashes").fetchall())
    conn.close()
    assert sorted(stored.values()) == sorted(expected.values())

    report = json.loads(_run(capsys, "topcrashers", "--data-dir", str(data), "--json", "--product", "Demo",
                             "--version", "*", "--days", "5000", "--end", "2027-01-01"))
    rows = {r["signature"]: r for r in report["signatures"]}
    assert len(rows) == 2
    windows = next(r for s, r in rows.items() if s.startswith("fizzbuzz.exe"))
    linux = next(r for s, r in rows.items() if not s.startswith("fizzbuzz.exe"))
    assert (windows["count"], windows["startup_known"], windows["startup_percent"]) == (2, 2, 50.0)
    assert (linux["count"], linux["startup_known"], linux["startup_percent"]) == (1, 1, 100.0)

    store = CrashStore.open(data)
    try:
        for crash_id, uptime in stored.items():
            crash = store.get(crash_id)
            text = describe_uptime(crash["annotations"], crash["processed"])
            assert text.startswith(f"{uptime:,} s") and text.endswith("(from the minidump)")
            assert ("Uptime", text) in summary_fields(crash)
            assert f"uptime:           {text}" in _run(capsys, "show", "--data-dir", str(data), crash_id)
    finally:
        store.close()


def test_annotations_win_over_the_dump(tmp_path, capsys):
    """Crash Stats reads UptimeTS: a client that sends it (here 3,000 s) is not overruled by the dump's 23 s."""
    data = tmp_path / "data"
    _run(capsys, "import", "--data-dir", str(data), "--annotations",
         json.dumps({"ProductName": "Demo", "Version": "1.0", "UptimeTS": "3000"}), str(FIZZBUZZ))
    _run(capsys, "process", "--data-dir", str(data))
    report = json.loads(_run(capsys, "topcrashers", "--data-dir", str(data), "--json", "--product", "Demo",
                             "--version", "*", "--days", "5000", "--end", "2027-01-01"))
    (row,) = report["signatures"]
    assert (row["startup_known"], row["startup_percent"]) == (1, 0.0)
    store = CrashStore.open(data)
    try:
        (crash_id,) = [h["crash_id"] for h in store.search("").hits]
        crash = store.get(crash_id)
        assert crash["processed"]["process_uptime"] == uptime_in(FIZZBUZZ.read_bytes())
        assert describe_uptime(crash["annotations"], crash["processed"]) == "3,000 s = 50 min 0 s (UptimeTS annotation)"
    finally:
        store.close()


def test_crashes_processed_before_have_none_until_processed_again(tmp_path, capsys):
    """A store processed before the column existed (schema v14) has NULL there: the share stays unknown, not
    0%, until ``crashdesk process --reprocess`` walks the dumps again."""
    data = tmp_path / "data"
    _run(capsys, "import", "--data-dir", str(data), "--annotations",
         json.dumps({"ProductName": "Demo", "Version": "1.0"}), str(FIZZBUZZ))
    _run(capsys, "process", "--data-dir", str(data))
    conn = sqlite3.connect(data / "crashdesk.sqlite")
    conn.execute("UPDATE crashes SET process_uptime = NULL")
    conn.commit()
    conn.close()
    args = ("topcrashers", "--data-dir", str(data), "--json", "--product", "Demo", "--version", "*", "--days",
            "5000", "--end", "2027-01-01")
    assert json.loads(_run(capsys, *args))["signatures"][0]["startup_known"] == 0
    _run(capsys, "process", "--data-dir", str(data), "--reprocess", "--all")
    row = json.loads(_run(capsys, *args))["signatures"][0]
    assert (row["startup_known"], row["startup_percent"]) == (1, 100.0)


def test_a_hostile_uptime_in_a_processed_crash_is_not_stored(tmp_path):
    """A processed crash imported from elsewhere may say anything: only a non-negative integer is an uptime."""
    from crashdesk.model.summary import columns_from

    for bad in (-5, 1.5, "12", True, None, [3], 2**63, float("nan")):
        assert columns_from({}, {"process_uptime": bad}).process_uptime is None
    assert columns_from({}, {"process_uptime": 2**63 - 1}).process_uptime == 2**63 - 1
    store = CrashStore.open(tmp_path / "s")
    try:
        from crashdesk.store.crashes import NewCrash

        store.add_many([NewCrash({"ProductName": "X"}, source="import", processed={"process_uptime": bad})
                        for bad in (-5, "12", 2**70, True)])
        conn = sqlite3.connect(tmp_path / "s" / "crashdesk.sqlite")
        assert conn.execute("SELECT count(*) FROM crashes WHERE process_uptime IS NOT NULL").fetchone() == (0,)
        conn.close()
    finally:
        store.close()
