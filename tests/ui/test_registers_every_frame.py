"""Registers for every crashing-thread frame where unwinding recovered them (issue 20), as the reference's text
report prints them per frame: a crash processed by the real processing service, shown in the Stack tab."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from crashdesk.services.processing import ProcessingService
from crashdesk.services.worker import WorkerConfig
from crashdesk.ui.detail import load_detail
from crashdesk.ui.views.crash_view import CrashView

DATA = Path(__file__).resolve().parents[1] / "data" / "crashes"


def _report_registers(dump: Path, symbols: Path) -> dict[int, dict[str, str]]:
    """Per frame of the crashing thread, the registers the text report prints."""
    text = subprocess.run([sys.executable, "-m", "crashdesk", "stackwalk", str(dump), "--symbols-path", str(symbols)],
                          capture_output=True, text=True, check=True).stdout
    block = text.split("(crashed)", 1)[1].split("\nThread ", 1)[0]
    out: dict[int, dict[str, str]] = {}
    current = None
    for line in block.splitlines():
        m = re.match(r"^\s?(\d+)\s{2}\S", line)
        if m:
            current = int(m.group(1))
            out[current] = {}
        elif current is not None:
            out[current].update(dict(re.findall(r"(\w+) = (0x[0-9a-f]+)", line)))
    return out


def test_stack_tab_shows_each_frames_recovered_registers(qtbot, store):
    folder = DATA / "01-null-deref"
    crash_id = store.add_crash(json.loads((folder / "annotations.json").read_text()),
                               {"upload_file_minidump": (folder / "dump.dmp").read_bytes()}, source="import")
    config = WorkerConfig(symbol_paths=(str(DATA / "symbols"),), memory_limit=None)
    assert ProcessingService(store, config, workers=1).run_until_empty().done == 1
    expected = _report_registers(folder / "dump.dmp", DATA / "symbols")
    assert any(regs for n, regs in expected.items() if n > 0), "the report shows no registers beyond frame 0"
    view = CrashView()
    qtbot.addWidget(view)
    view.show_crash(load_detail(store, crash_id))
    view.setCurrentWidget(view.stack)
    stack = view.stack
    checked = 0
    for row in range(stack.model.rowCount()):
        number = int(stack.model.index(row, 0).data())
        stack.frames.setCurrentIndex(stack.model.index(row, 0))
        shown = dict(re.findall(r"(\w+) = (0x[0-9a-f]+)", stack.registers.toPlainText()))
        if expected.get(number):
            assert shown == expected[number], number
            assert list(shown) == list(expected[number]), number  # the same (CPU) order
            checked += 1
    assert checked >= 2
