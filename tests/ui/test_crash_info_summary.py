"""The Summary tab shows the faulting instruction, its memory accesses, the adjusted address and a badge when the
reference lists a possible bit flip (issue 21). The processed crashes are the reference's own outputs
(minidump-stackwalk 0.25.0 expected JSON shipped in tests/data), stored with their real dumps."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from crashdesk.ui.detail import load_detail
from crashdesk.ui.views.crash_view import CrashView

DATA = Path(__file__).resolve().parents[1] / "data"


def _show(qtbot, store, folder: Path, dump_name: str) -> tuple[CrashView, dict]:
    processed = json.loads((folder / "expected-nosyms.json").read_text())
    dump = (folder / dump_name).read_bytes()
    crash_id = store.add_crash({"ProductName": "Demo", "Version": "1.0"}, {"upload_file_minidump": dump},
                               source="import")  # fmt: skip
    from crashdesk.ui.samples import signature_for

    annotations = {"ProductName": "Demo", "Version": "1.0"}
    store.save_processed(crash_id, processed, signature=signature_for(processed, annotations))
    view = CrashView(None)
    qtbot.addWidget(view)
    view.resize(900, 700)
    view.show_crash(load_detail(store, crash_id))
    view.fill_all()
    return view, processed["crash_info"]


def test_summary_shows_instruction_accesses_and_bit_flip_badge(qtbot, store, tmp_path):
    view, info = _show(qtbot, store, DATA / "minidumps" / "linux-amd64-mini", "linux-mini.dmp")
    values = view.summary.values
    assert values["Instruction"] == info["instruction"] == "mov dword [0x45], 0x5"
    access = info["memory_accesses"][0]
    assert values["Memory accesses"] == f"write {access['size']} bytes at {access['address']}"
    flip = info["possible_bit_flips"][0]
    assert values["Possible bit flip"].startswith(flip["address"])
    assert not view.summary.bit_flip_badge.isHidden()
    assert flip["address"] in view.summary.bit_flip_badge.text()
    assert "hardware" in view.summary.bit_flip_badge.text()
    view.show()
    qtbot.waitExposed(view)
    # docs/screenshots/summary-instruction-bit-flip.png was grabbed this way (CRASHDESK_SCREENSHOTS=docs/screenshots)
    out = Path(os.environ.get("CRASHDESK_SCREENSHOTS", tmp_path))
    assert view.summary.grab().save(str(out / "summary-instruction-bit-flip.png"))


@pytest.mark.parametrize("folder", ["write_av_non_canonical"])
def test_summary_without_bit_flip_has_no_badge_but_shows_adjusted_address(qtbot, store, folder):
    view, info = _show(qtbot, store, DATA / "unwind" / folder, f"{folder}.dmp")
    assert info["possible_bit_flips"] is None
    assert view.summary.bit_flip_badge.isHidden()
    assert view.summary.values["Adjusted address"] == f"null pointer + {info['adjusted_address']['offset']}"
    assert view.summary.values["Instruction"] == info["instruction"]
