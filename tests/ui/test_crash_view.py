"""The crash view's tabs against the reference processed crashes in tests/data."""

from __future__ import annotations

from pathlib import Path

from crashdesk.ui.detail import load_detail
from crashdesk.ui.models.stack import FrameCol, FrameRole
from crashdesk.ui.qt import QApplication, QSettings
from crashdesk.ui.sources import SourceMap
from crashdesk.ui.views.crash_view import CrashView

SRC = Path(__file__).resolve().parents[1] / "data" / "ui" / "src"


def _view(qtbot, store, case, sources: SourceMap | None = None) -> CrashView:
    view = CrashView(sources)
    qtbot.addWidget(view)
    view.show_crash(load_detail(store, case.crash_id))
    view.fill_all()
    return view


def _case(cases, name):
    return next(c for c in cases if c.name == name)


def test_stack_tab_puts_crashing_thread_first_with_its_frames_and_registers(qtbot, store, cases):
    case = _case(cases, "05-thread")
    view = _view(qtbot, store, case)
    proc = case.processed
    crashing = proc["crash_info"]["crashing_thread"]
    stack = view.stack
    assert stack.threads.count() == len(proc["threads"])
    assert stack.threads.currentData() == crashing
    assert proc["threads"][crashing]["thread_name"] in stack.threads.currentText()
    assert "crashed" in stack.threads.currentText()
    frames = proc["threads"][crashing]["frames"]
    model = stack.model
    assert model.rowCount() == len(frames)
    assert [model.index(r, FrameCol.FUNCTION).data() for r in range(model.rowCount())] == [
        f["function"] for f in frames]
    assert [model.index(r, FrameCol.TRUST).data() for r in range(model.rowCount())] == [
        f["trust"].replace("frame_pointer", "frame pointer") for f in frames]
    assert "CPU context" in model.index(0, FrameCol.TRUST).data(3)  # ToolTipRole explains the trust
    regs = proc["crashing_thread"]["frames"][0]["registers"]
    assert f"rip = {regs['rip']}" in stack.registers.toPlainText()
    # another thread: its own frames
    other = next(i for i in range(stack.threads.count()) if stack.threads.itemData(i) != crashing)
    stack.threads.setCurrentIndex(other)
    index = stack.threads.itemData(other)
    assert model.rowCount() == len(proc["threads"][index]["frames"])


def test_stack_tab_lists_inlined_frames_above_their_frame(qtbot, store, cases):
    """As Crash Stats and minidump-stackwalk's text report: innermost first, each inlined function its own row
    right above the physical frame holding it, marked "inlined", sharing its frame number (issue 20)."""
    case = _case(cases, "06-plugin-so")
    view = _view(qtbot, store, case)
    frames = case.processed["threads"][case.processed["crash_info"]["crashing_thread"]]["frames"]
    assert frames[0]["inlines"]  # the test data's inlined function
    expected = []
    for f in frames:
        expected += [(str(f["frame"]), i["function"], "inlined") for i in f.get("inlines") or []]
        expected.append((str(f["frame"]), f.get("function"), f["trust"].replace("frame_pointer", "frame pointer")))
    model = view.stack.model
    got = [(model.index(r, FrameCol.INDEX).data(), model.index(r, FrameCol.FUNCTION).data(),
            model.index(r, FrameCol.TRUST).data()) for r in range(model.rowCount())]
    assert [g for g, e in zip(got, expected, strict=True) if e[1] is not None] == [e for e in expected
                                                                                  if e[1] is not None]
    assert all(model.rowCount(model.index(r, 0)) == 0 for r in range(model.rowCount()))  # flat, no children
    assert got[0][1] == frames[0]["inlines"][0]["function"]  # row 0 is the function that crashed


def test_offsets_short_on_screen_full_on_hover_and_copy(qtbot, store, cases):
    from crashdesk.ui.models.stack import FullTextRole

    case = _case(cases, "01-null-deref")
    view = _view(qtbot, store, case)
    frame = case.processed["crashing_thread"]["frames"][0]
    cell = view.stack.model.index(0, FrameCol.MODULE_OFFSET)
    assert cell.data() == "0x" + frame["module_offset"][2:].lstrip("0")
    assert cell.data(3) == frame["module_offset"] and cell.data(FullTextRole) == frame["module_offset"]
    assert view.stack.model.index(0, FrameCol.FUNCTION_OFFSET).data() == \
        "0x" + frame["function_offset"][2:].lstrip("0")
    view.stack.frames.setCurrentIndex(view.stack.model.index(0, 0))
    view.stack.copy_frames()
    copied = QApplication.clipboard().text().split("\t")
    assert frame["module_offset"] in copied and frame["function_offset"] in copied


def test_registers_in_cpu_order(qtbot, store, cases):
    case = _case(cases, "01-null-deref")
    view = _view(qtbot, store, case)
    regs = case.processed["crashing_thread"]["frames"][0]["registers"]
    shown = [line.split("=")[0].strip() for line in view.stack.registers.toPlainText().splitlines()]
    # the reference's text report order for amd64 (rust-minidump's register order)
    reference = ["rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp", *(f"r{i}" for i in range(8, 16)), "rip"]
    assert shown[:len(reference)] == [r for r in reference if r in regs]
    assert set(shown) == set(regs)


def test_source_pane_shows_the_mapped_file_at_the_line(qtbot, store, cases):
    case = _case(cases, "01-null-deref")
    sources = SourceMap([("/build/crashfactory-demo", str(SRC))])
    view = _view(qtbot, store, case, sources)
    frame = view.stack.model.index(0, 0).data(FrameRole)
    line_text = (SRC / Path(frame["file"]).name).read_text().splitlines()[frame["line"] - 1].strip()
    html = view.stack.source.toHtml()
    assert "demo_viewer.c" in html
    assert line_text in view.stack.source.toPlainText()
    assert "#ffffcc" in html.lower()  # the frame's line is highlighted
    unmapped = _view(qtbot, store, case, SourceMap())
    assert "not found on this machine" in unmapped.stack.source.toPlainText()


def test_modules_tab_lists_modules_with_symbol_status(qtbot, store, cases):
    case = _case(cases, "06-plugin-so")
    view = _view(qtbot, store, case)
    modules = case.processed["modules"]
    model = view.modules.model
    assert model.rowCount() == len(modules)
    by_name = {model.index(r, 0).data(): r for r in range(model.rowCount())}
    for m in modules:
        row = by_name[m["filename"]]
        assert model.index(row, 2).data() == m["base_addr"]
        assert model.index(row, 3).data() == m["end_addr"]
        assert model.index(row, 5).data() == m["debug_id"]
        status = model.index(row, 7).data()
        assert status == ("loaded" if m["loaded_symbols"] else "missing" if m["missing_symbols"] else "not needed")
    view.modules.filter.setText("codec")
    assert view.modules.proxy.rowCount() == sum("codec" in m["filename"] for m in modules)


def test_annotations_tab_filters_and_shows_raw_json(qtbot, store, cases):
    case = _case(cases, "01-null-deref")
    view = _view(qtbot, store, case)
    ann = case.annotations
    assert view.annotations.model.rowCount() == len(ann)
    view.annotations.filter.setText(ann["ReleaseChannel"])
    visible = {view.annotations.proxy.index(r, 0).data() for r in range(view.annotations.proxy.rowCount())}
    assert visible == {k for k, v in ann.items() if ann["ReleaseChannel"].lower() in (k + v).lower()}
    assert ann["guid"] in view.annotations.raw.toPlainText()


def test_summary_raw_and_processed_tabs(qtbot, store, cases):
    case = _case(cases, "01-null-deref")
    view = _view(qtbot, store, case)
    data = store.get(case.crash_id)
    assert view.summary.signature.text() == data["signature"]
    assert view.summary.values["Crash reason"] == case.processed["crash_info"]["type"]
    assert view.summary.values["Crash address"] == case.processed["crash_info"]["address"]
    assert view.summary.values["Product"] == case.annotations["ProductName"]
    view.summary.copy_button.click()
    assert QApplication.clipboard().text() == data["signature"]
    dump = data["dumps"][0]
    assert view.raw.dumps_model.item(0, 2).text() == dump["sha256"]
    assert view.raw.dumps_model.item(0, 1).text() == f"{case.dump.stat().st_size:,} B"
    streams = view.raw.streams.toPlainText()
    assert "ThreadListStream" in streams and "ModuleListStream" in streams
    assert case.processed["modules"][0]["debug_id"] in view.processed.toPlainText()


def test_unprocessed_crash_shows_what_is_missing(qtbot, store, cases):
    crash_id = store.add_crash({"ProductName": "X"}, {"upload_file_minidump": cases[0].folder.joinpath(
        "dump.dmp").read_bytes()} if cases[0].dump else {}, source="import")
    view = CrashView()
    qtbot.addWidget(view)
    view.show_crash(load_detail(store, crash_id))
    view.fill_all()
    assert view.summary.signature.text() == "(not processed yet)"
    assert view.stack.model.rowCount() == 0
    assert "not been processed" in view.stack.source.toPlainText()


def test_source_map_round_trips_through_settings(tmp_path):
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    SourceMap([("/build/x", "/home/me/x")]).save(settings)
    assert SourceMap.from_settings(settings).mappings == [("/build/x", "/home/me/x")]


def test_synced_crash_shows_its_server_processed_crash_and_link(qtbot, store, cases):
    case = _case(cases, "05-thread")
    server_doc = {"signature": "server-side signature", "json_dump": case.processed, "uuid": "x"}
    crash_id = store.add_crash(case.annotations, {}, source="server:test", server_signature="server-side signature",
                               server_processed=server_doc, source_url="https://crash.example/report/index/x")
    view = CrashView()
    qtbot.addWidget(view)
    view.show_crash(load_detail(store, crash_id))
    view.fill_all()
    assert view.summary.signature.text() == "server-side signature"
    assert "crash.example" in view.summary.link.text()
    assert "server-side signature" in view.processed.toPlainText()
    assert "The server's processed crash" in view.processed.toPlainText()


def test_synced_crash_shows_its_stack_against_the_servers(qtbot, store, cases):
    """The Processed JSON tab of a synced crash starts with the crashing thread here against the server's,
    frame by frame, the differing frame marked."""
    import copy

    case = _case(cases, "05-thread")
    server_json = copy.deepcopy(case.processed)
    crashing = server_json["crash_info"]["crashing_thread"]
    server_json["threads"][crashing]["frames"][1]["function"] = "server_side_function"
    crash_id = store.add_crash(case.annotations, {}, source="server:test", processed=case.processed,
                               server_processed={"json_dump": server_json, "signature": "s"})
    assert crash_id in {h["crash_id"] for h in store.search("server_stack:differs").hits}
    view = CrashView()
    qtbot.addWidget(view)
    view.show_crash(load_detail(store, crash_id))
    view.fill_all()
    text = view.processed.toPlainText()
    frames = len(case.processed["threads"][crashing]["frames"])
    assert f"(1 of {frames} frames differ)" in text
    assert "server_side_function" in text


def test_a_long_function_name_leaves_file_line_and_trust_in_view(qtbot, store, cases):
    """A C++ name with its templates and parameters (the real one of the linux-demo program, from its .sym) is
    capped to half the view and elided, its tooltip whole; File:Line and Trust stay visible."""
    sym = Path(__file__).resolve().parents[1] / "data" / "native" / "linux-demo" / "demo-scripting.sym"
    long_name = next(line.split(" ", 4)[4] for line in sym.read_text().splitlines()
                     if line.startswith("FUNC ") and "ScriptEngine::run" in line)
    assert len(long_name) > 150
    case = _case(cases, "05-thread")
    detail = load_detail(store, case.crash_id)
    crashing = detail.processed["crash_info"]["crashing_thread"]
    detail.processed["threads"][crashing]["frames"][1]["function"] = long_name
    if isinstance(detail.processed.get("crashing_thread"), dict):  # the view shows this copy when there is one
        detail.processed["crashing_thread"]["frames"][1]["function"] = long_name
    view = CrashView()
    qtbot.addWidget(view)
    view.resize(1000, 600)
    view.show()
    view.show_crash(detail)
    view.fill_all()
    view.setCurrentIndex(view.indexOf(view.stack))
    tree, header = view.stack.frames, view.stack.frames.header()
    assert header.sectionSize(FrameCol.FUNCTION) <= max(240, tree.viewport().width() // 2)
    assert header.sectionViewportPosition(FrameCol.TRUST) + 20 < tree.viewport().width()
    assert view.stack.model.index(1, FrameCol.FUNCTION).data(3) == long_name  # ToolTipRole: the whole name
