"""The whole decision flow in the main window, with real parts only: a collector on 127.0.0.1 receives real
Crashpad uploads (tests/data/crashes), the processing service stackwalks them with the test symbols, they
appear in the crash list and the collector panel; the regeneration workbench re-signs them with an edited
profile; the old and new signatures are compared, the run applied and undone; two crashes are compared from
the list selection. Expected signatures come from the reference stackwalk output (expected.json)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

DATA = Path(__file__).resolve().parents[1] / "data" / "crashes"


def _top_functions(case: str) -> list[str]:
    expected = json.loads((DATA / case / "expected.json").read_text())
    frames = expected["threads"][expected["crash_info"]["crashing_thread"]]["frames"]
    return [f.get("function") for f in frames]


def _submit(url: str, case: str) -> str:
    annotations = json.loads((DATA / case / "annotations.json").read_text())
    files = {"upload_file_minidump": ("dump.dmp", (DATA / case / "dump.dmp").read_bytes(), "application/octet-stream")}
    r = httpx.post(url, data=annotations, files=files, timeout=30)
    assert r.status_code == 200 and r.text.startswith("CrashID=bp-"), r.text
    return r.text.strip().removeprefix("CrashID=bp-")


@pytest.mark.slow
def test_collect_list_regenerate_compare_apply_undo(qtbot, store, data_dir, make_window):
    from crashdesk.collector import Collector, CollectorConfig
    from crashdesk.config.paths import resolve_paths
    from crashdesk.ui.collector_link import CollectorState
    from crashdesk.ui.decision_views import TAB_TITLES
    from crashdesk.ui.processing_link import start_processing
    from crashdesk.ui.views.compare import CompareWindow

    window = make_window(store, wait_for_list=False)
    qtbot.waitUntil(lambda: window.showing_empty_state, timeout=10000)
    dv = window.decision
    config = CollectorConfig(host="127.0.0.1", port=0, threads=2, on_received=window.notify_crash_received)
    collector = Collector(data_dir, config)
    processing = None
    try:
        url = collector.start()
        window.set_collector(CollectorState(url, "started for the test", collector))
        assert dv.collector.url_edit.text() == url
        processing = start_processing(store, resolve_paths(data_dir), on_result=window.notify_crash_processed,
                                      symbol_paths=[str(DATA / "symbols")], workers=1)
        window.attach_processing(processing)

        # 1. a crash arrives over HTTP, is processed and shows in the list with the reference's signature
        thread_fns = _top_functions("05-thread")
        first = _submit(url, "05-thread")
        qtbot.waitUntil(lambda: window.model.rowCount() == 1 and window.model.row_data(0).get("state") == "processed",
                        timeout=90000)
        assert window.model.crash_id(0) == first
        assert store.get(first)["signature"] == thread_fns[0]
        qtbot.waitUntil(lambda: window.model.row_data(0).get("signature") == thread_fns[0], timeout=10000)
        dv.collector.refresh()
        qtbot.waitUntil(lambda: dv.collector.feed.rowCount() == 1, timeout=10000)
        assert dv.collector.feed.item(0, 1).text() == first

        # 2. the workbench: a new profile whose irrelevant list skips the crashing function
        dv.show_tab(TAB_TITLES.index("Regeneration"))
        bench = dv.workbench
        with qtbot.waitSignal(bench.profile_loaded, timeout=10000, check_params_cb=lambda n: n == "flow"):
            bench.create_profile("flow", "mozilla")
        editor = bench.editors["irrelevant_signature_re.txt"]
        editor.setPlainText(editor.toPlainText() + f"\n^{thread_fns[0]}$\n")
        bench.set_query("")
        with qtbot.waitSignal(bench.run_finished, timeout=60000) as ran:
            bench.run_button.click()
        rep = ran.args[0].report
        assert dict(rep.pairs) == {(thread_fns[0], thread_fns[1]): 1}

        # 3. compare old and new: the stored signature next to the regenerated one, with the notes
        with qtbot.waitSignal(dv.compare_opened, timeout=5000) as opened:
            bench.explain_button.click()
        cw: CompareWindow = opened.args[0]
        with qtbot.waitSignal(cw.view.loaded, timeout=20000):
            pass
        exp = cw.view.explanation
        assert exp.stored == thread_fns[0] and exp.regenerated.signature == thread_fns[1] and exp.profile == "flow"
        row0 = [cw.view.notes.item(0, c).text() for c in range(6)]
        assert row0[2] == thread_fns[0] and row0[4] == "skipped: irrelevant"
        assert row0[5].startswith(f"^{thread_fns[0]}$") and "irrelevant_signature_re.txt:" in row0[5]
        assert thread_fns[0] in cw.view.left_label.text() and thread_fns[1] in cw.view.right_label.text()
        cw.close()

        # 4. apply: the list shows the new signature; undo brings the old one back
        with qtbot.waitSignal(bench.applied, timeout=10000):
            bench.apply_button.click()
        dv.show_tab(0)
        qtbot.waitUntil(lambda: window.model.rowCount() == 1
                        and window.model.row_data(0).get("signature") == thread_fns[1], timeout=10000)
        dv.show_tab(1)  # the signatures view follows
        qtbot.waitUntil(lambda: dv.signatures.table_data is not None
                        and [r.signature for r in dv.signatures.table_data.rows] == [thread_fns[1]], timeout=10000)
        dv.show_tab(TAB_TITLES.index("Regeneration"))
        qtbot.waitUntil(lambda: bench.history_model.rowCount() == 1, timeout=5000)
        with qtbot.waitSignal(bench.undone, timeout=10000):
            bench.undo_button.click()
        assert store.get(first)["signature"] == thread_fns[0]

        # 5. a second crash; select both in the list -> Compare
        second = _submit(url, "01-null-deref")
        dv.show_tab(0)
        qtbot.waitUntil(lambda: window.model.rowCount() == 2 and all(
            window.model.row_data(r).get("state") == "processed" for r in range(2)), timeout=90000)
        window.table.selectAll()
        assert dv.compare_action.isEnabled()
        with qtbot.waitSignal(dv.compare_opened, timeout=5000) as opened:
            dv.compare_action.trigger()
        cw = opened.args[0]
        with qtbot.waitSignal(cw.view.loaded, timeout=20000):
            pass
        assert {cw.view.comparison.left_id, cw.view.comparison.right_id} == {first, second}
        left_fns = [cw.view.frames.item(r, 2).text() for r in range(cw.view.frames.rowCount())
                    if cw.view.frames.item(r, 0).text()]
        # the view shows the stored stack frame by frame; its symbolised top agrees with the reference's (the
        # test symbols cover the demo program, not libc, so deeper frames may differ from expected.json)
        from crashdesk.services.compare import crashing_frames

        stored = crashing_frames(store.get(cw.view.comparison.left_id))
        assert left_fns == [f.get("function") or "" for f in stored]
        expected_left = _top_functions("05-thread" if cw.view.comparison.left_id == first else "01-null-deref")
        assert left_fns[:2] == expected_left[:2]
    finally:
        if processing is not None:
            processing.cancel()
            processing.join(10)
        collector.stop()
