"""Threads and frames of a processed crash (``minidump-stackwalk --json`` schema) for the Stack tab.

One row per frame, as Crash Stats and minidump-stackwalk's text report list them: innermost first, so a
frame's inlined functions come as their own rows right above the physical frame that holds them, marked
"inlined" and sharing its frame number; row 0 is the function that crashed. Offsets are shown without their
zero padding (``0x3a``), the full form on hover and when copied. Trust is shown with a colour and explained in
the tooltip.
"""

from __future__ import annotations

import enum
from typing import Any

from crashdesk.model.registers import short_hex
from crashdesk.ui.qt import QBrush, QColor, QStandardItem, QStandardItemModel, Qt

FrameRole = Qt.ItemDataRole.UserRole + 1
FullTextRole = Qt.ItemDataRole.UserRole + 2  # a cell's whole text (offsets unpadded on screen), for copying


class FrameCol(enum.IntEnum):
    INDEX = 0
    MODULE = 1
    FUNCTION = 2
    SOURCE = 3
    MODULE_OFFSET = 4
    FUNCTION_OFFSET = 5
    TRUST = 6


FRAME_HEADERS = ("#", "Module", "Function", "File:Line", "Module offset", "Function offset", "Trust")

#: what each trust value means (rust-minidump's names) and the colour the UI gives it
TRUST = {
    "context": ("#1e7b34", "Read from the CPU context saved at the crash: exact."),
    "cfi": ("#1e7b34", "Recovered with call frame information from the symbols: reliable."),
    "prewalked": ("#1e7b34", "Supplied by the minidump writer's own stack walk."),
    "frame_pointer": ("#8a6d00", "Recovered by following the frame pointer: usually right, can be wrong "
                                "in code built without frame pointers."),
    "cfi_scan": ("#b35c00", "Found by scanning the stack, then checked with call frame information: "
                            "plausible."),
    "scan": ("#b3261e", "Found by scanning the stack for something that looks like a return address: "
                        "a guess, may be garbage."),
    "inline": ("#555555", "A function inlined into the frame above: its position comes from the symbols' "
                          "inline records."),
    "none": ("#777777", "No information on how this frame was found."),
}


def trust_label(trust: str | None) -> str:
    return {"frame_pointer": "frame pointer", "cfi_scan": "cfi + scan", None: ""}.get(trust, trust or "")


def trust_tooltip(trust: str | None) -> str:
    return TRUST.get(trust or "none", TRUST["none"])[1]


def trust_colour(trust: str | None) -> QColor:
    return QColor(TRUST.get(trust or "none", TRUST["none"])[0])


def short_file(path: str | None) -> str:
    if not path:
        return ""
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def source_text(file: str | None, line: Any) -> str:
    name = short_file(file)
    if not name:
        return ""
    return f"{name}:{line}" if isinstance(line, int) else name


def thread_label(index: int, thread: dict[str, Any], crashing: int | None) -> str:
    name = thread.get("thread_name") or ""
    tid = thread.get("thread_id")
    text = f"Thread {index}"
    if name:
        text += f" {name}"
    if tid is not None:
        text += f" (tid {tid})"
    frames = thread.get("frame_count", len(thread.get("frames") or []))
    text += f" - {frames} frames"
    if index == crashing:
        text += "  [crashed]"
    return text


def thread_order(processed: dict[str, Any] | None) -> list[tuple[int, dict[str, Any]]]:
    """Threads as (index, thread), the crashing thread first, then the others in dump order."""
    proc = processed or {}
    threads = [t if isinstance(t, dict) else {} for t in proc.get("threads") or []]
    crashing = (proc.get("crash_info") or {}).get("crashing_thread")
    order = list(enumerate(threads))
    if isinstance(crashing, int) and 0 <= crashing < len(threads):
        order.sort(key=lambda it: it[0] != crashing)
    return order


def thread_frames(processed: dict[str, Any] | None, index: int | None) -> list[dict[str, Any]]:
    """The frames of thread ``index``. For the crashing thread they come from ``crashing_thread``, which is
    the only place the stackwalker's JSON keeps registers."""
    proc = processed or {}
    threads = proc.get("threads") or []
    if index is None or not 0 <= index < len(threads):
        return []
    frames = (threads[index] or {}).get("frames") or []
    crashing = proc.get("crashing_thread")
    if isinstance(crashing, dict) and crashing.get("threads_index") == index:
        detailed = crashing.get("frames") or []
        if len(detailed) == len(frames):
            return detailed
        # crashing_thread may be truncated; take the registers from it and the frames from `threads`
        regs = {f.get("frame"): f.get("registers") for f in detailed if isinstance(f, dict)}
        return [{**f, "registers": regs.get(f.get("frame"))} if regs.get(f.get("frame")) else f for f in frames]
    return frames


def function_name(frame: dict[str, Any]) -> str:
    fn = frame.get("function")
    if fn:
        return str(fn)
    offset = short_hex(frame.get("module_offset") or frame.get("offset") or "")
    return f"{frame.get('module') or '???'} + {offset}" if frame.get("module") else short_hex(frame.get("offset"))


class StackModel(QStandardItemModel):
    """The frames of one thread, inlined functions as rows of their own above their physical frame."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setHorizontalHeaderLabels(list(FRAME_HEADERS))

    def set_frames(self, frames: list[dict[str, Any]]) -> None:
        self.clear()
        self.setHorizontalHeaderLabels(list(FRAME_HEADERS))
        root = self.invisibleRootItem()
        for n, frame in enumerate(frames):
            if not isinstance(frame, dict):
                continue
            number = str(frame.get("frame", n))
            for inline in frame.get("inlines") or []:  # innermost first, as the stackwalker lists them
                if not isinstance(inline, dict):
                    continue
                merged = {"module": frame.get("module"), **inline, "_inline_of": frame}
                root.appendRow(self._row(number, merged, "inline"))
            root.appendRow(self._row(number, frame, frame.get("trust")))

    def _row(self, index: str, frame: dict[str, Any], trust: str | None) -> list[QStandardItem]:
        missing = bool(frame.get("missing_symbols"))
        inline = trust == "inline"
        full = {
            FrameCol.INDEX: index,
            FrameCol.MODULE: frame.get("module") or "",
            FrameCol.FUNCTION: function_name(frame),
            FrameCol.SOURCE: source_text(frame.get("file"), frame.get("line")),
            FrameCol.MODULE_OFFSET: "" if inline else frame.get("module_offset") or "",
            FrameCol.FUNCTION_OFFSET: "" if inline else frame.get("function_offset") or "",
            FrameCol.TRUST: "inlined" if inline else trust_label(trust),
        }
        items = []
        for col in FrameCol:
            text = str(full[col])
            shown = short_hex(text) if col in (FrameCol.MODULE_OFFSET, FrameCol.FUNCTION_OFFSET) else text
            item = QStandardItem(shown)
            item.setEditable(False)
            item.setData(frame, FrameRole)
            item.setData(text, FullTextRole)
            if col is FrameCol.TRUST:
                item.setForeground(QBrush(trust_colour(trust)))
                item.setToolTip(trust_tooltip(trust))
            elif col is FrameCol.SOURCE and frame.get("file"):
                item.setToolTip(f"{frame.get('file')}:{frame.get('line', '')}")
            elif col is FrameCol.FUNCTION:
                tip = str(frame.get("function") or "")
                if missing:
                    tip = f"no symbols for {frame.get('module')}: function unknown"
                    item.setForeground(QBrush(QColor("#777777")))
                elif inline:
                    tip = f"{tip}\ninlined into {function_name(frame.get('_inline_of') or {})}"
                item.setToolTip(tip)
            elif shown != text:
                item.setToolTip(text)
            elif col is FrameCol.MODULE and text:
                item.setToolTip(text)
            if inline:
                font = item.font()
                font.setItalic(True)
                item.setFont(font)
            items.append(item)
        return items
