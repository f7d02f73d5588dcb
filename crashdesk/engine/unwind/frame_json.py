"""A frame as ``minidump-stackwalk --json`` prints it (keys in the reference's alphabetical order)."""

from __future__ import annotations

from crashdesk.engine.unwind.api import StackFrame
from crashdesk.engine.unwind.cpu import cpu_spec


def hex_word(value: int, digits: int) -> str:
    """``0x`` + lower-case hex zero-padded to ``digits`` (wrapped to that width)."""
    return f"0x{value & ((1 << (4 * digits)) - 1):0{digits}x}"


def frame_json(frame: StackFrame, index: int, cpu: str, *, include_registers: bool) -> dict:
    """The reference's JSON object for one frame. ``include_registers`` only for frame 0 of the crashing
    thread (the reference prints registers nowhere else)."""
    digits = cpu_spec(cpu).hex_digits
    offset = frame.offset if frame.offset is not None else frame.instruction
    module = frame.module
    has_function = frame.function is not None
    inlines = None
    if frame.inline_frames:
        inlines = [{"file": i.file, "function": i.function, "line": i.line} for i in frame.inline_frames]
    unloaded = None
    if module is None and frame.unloaded_modules:
        by_name: dict[str, set[int]] = {}
        for um in frame.unloaded_modules:
            by_name.setdefault(um.code_file, set()).add(offset - um.base)
        unloaded = [
            {"module": name, "offsets": [hex_word(o, digits) for o in sorted(offs)]}
            for name, offs in sorted(by_name.items())
        ]
    out: dict = {
        "file": frame.file,
        "frame": index,
        "function": frame.function,
        "function_offset": (
            hex_word(offset - frame.function_base, digits)
            if has_function and frame.function_base is not None
            else None
        ),
        "inlines": inlines,
        "line": frame.line,
        "missing_symbols": not has_function,
        "module": module.filename if module is not None else None,
        "module_offset": hex_word(offset - module.base, digits) if module is not None else None,
        "offset": hex_word(offset, digits),
    }
    if include_registers:
        out["registers"] = {name: hex_word(value, digits) for name, value in sorted(frame.registers.items())}
    out["trust"] = frame.trust
    out["unloaded_modules"] = unloaded
    return out
