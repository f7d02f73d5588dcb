"""A truncated dump is processed with what it holds and keeps the stackwalker's note on the crash (issue 20):
the note names each stream that runs past the end of the file, as the reader reports it."""

from __future__ import annotations

from crashdesk.engine.minidump.reader import Minidump
from crashdesk.services.processing import ProcessingService
from crashdesk.services.worker import WorkerConfig


def test_truncated_dump_keeps_the_note(store, test_data, tmp_path):
    whole = (test_data / "crashes" / "05-thread" / "dump.dmp").read_bytes()
    cut = whole[:3000]  # the stream directory survives, most streams do not
    path = tmp_path / "cut.dmp"
    path.write_bytes(cut)
    with Minidump.open(path) as dump:  # what the reader itself says about this file
        expected = list(dump.notes)
    assert expected and all("extends past the end of the file" in n for n in expected)
    crash_id = store.add_crash({"ProductName": "Cut"}, {"upload_file_minidump": cut}, source="import")
    whole_id = store.add_crash({"ProductName": "Whole"}, {"upload_file_minidump": whole}, source="import")
    progress = ProcessingService(store, WorkerConfig(memory_limit=None), workers=1).run_until_empty()
    assert progress.done == 2
    row = store.get(crash_id)
    assert row["state"] == "processed"
    assert [n for n in row["notes"] if n.startswith("minidump: ")] == [f"minidump: {n}" for n in expected]
    assert not [n for n in store.get(whole_id)["notes"] if n.startswith("minidump: ")]
