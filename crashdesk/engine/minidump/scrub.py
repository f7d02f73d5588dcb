"""Scrubbed minidumps: the same file, rewritten in place so that it still walks the same while what can hold
personal data is zeroed or removed.

The file keeps its size and every stream its place (nothing moves, so every RVA stays valid). What changes:

* **Stack memory outside the walked range is zeroed.** Below each thread's stack pointer a stack is dead
  (returned frames, where old passwords and page contents linger) and no unwinder reads it: CFI,
  frame-pointer and scanning unwinding all read at or above the stack pointer. Above the outermost frame's
  stack pointer plus :data:`SCAN_MARGIN_WORDS` words (more than the 40 words stack scanning inspects for a
  next frame) lie ``main``'s callers' data and, on Linux, the process's argv, environment and auxv strings:
  zeroed too. The walked range is found by walking the dump with the symbols the exporter has and without
  any (the union of both), so the scrubbed dump walks the same with or without them. When the dump cannot be
  walked, the whole stack from the stack pointer up is kept (and a note says so).
* **Every other memory region is zeroed** (heap, memory Crashpad captured around register values, the PEB and
  environment blocks of Windows dumps), except a region that holds the crashing instruction inside a loaded
  module's image (module code is not personal data and the faulting instruction's ``crash_info`` fields are
  decoded from it) and, wherever the instruction pointer is (a jump into data), the 16 bytes at it.
* **The Linux environment and command line streams** (``LinuxEnviron``, ``LinuxCmdLine``) are zeroed.
* **Crashpad annotations** (process and per-module simple annotations, annotation objects, list annotations):
  those the policy removes or masks are taken out of their dictionary (entries compacted, count lowered) and
  their key and value bytes zeroed, so they do not come back when the dump is imported on its own; kept values
  lose user names in paths and addresses (rewritten in place, never longer).
* **User and host names in paths** anywhere in the file (module names, CodeView records, Linux maps, DSO
  debug strings, handle names; UTF-8 and UTF-16) are overwritten with ``x`` of the same length:
  ``/home/alice/lib.so`` -> ``/home/xxxxx/lib.so``. Module base names are untouched, so symbol lookup and
  frames stay the same.

Everything else (header, thread list and contexts, module list, exception stream, system info, memory info,
unloaded modules, thread names, Linux maps/auxv/proc status/cpu info) is kept.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from typing import Any

from crashdesk.engine.minidump import constants as C
from crashdesk.engine.minidump.errors import MinidumpError
from crashdesk.engine.minidump.reader import Minidump
from crashdesk.model.redaction import KEEP, REMOVE, RedactionPolicy

SCAN_MARGIN_WORDS = 64
INSTRUCTION_BYTES = 16
ZEROED_STREAMS = {C.LINUX_ENVIRON: "LinuxEnviron", C.LINUX_CMD_LINE: "LinuxCmdLine"}
_U32 = struct.Struct("<I")
_HOME_ASCII = re.compile(rb"(?i)(?:[a-z]:)?[\\/]+(?:var[\\/]+)?(?:home|users|documents and settings)[\\/]+"
                         rb"([^\\/\x00\s\"':;,)\]]{1,64})(?=[\\/\x00\s\"':;,)\]])")
_UNC_ASCII = re.compile(rb"\\\\([A-Za-z0-9][A-Za-z0-9._-]{0,63})\\")


def _utf16(pattern: str) -> re.Pattern:
    return re.compile(pattern.encode("utf-16-le"), re.IGNORECASE)


_HOME_UTF16 = re.compile(
    rb"(?i)(?:[a-z]\x00:\x00)?(?:[\\/]\x00)+(?:v\x00a\x00r\x00[\\/]\x00)?"
    rb"(?:h\x00o\x00m\x00e\x00|u\x00s\x00e\x00r\x00s\x00)(?:[\\/]\x00)+"
    rb"((?:[^\\/\x00\s\"':;,][\x00-\xff]){1,64}?)(?=[\\/]\x00|\x00\x00)")
_UNC_UTF16 = re.compile(rb"\\\x00\\\x00((?:[A-Za-z0-9._-]\x00){1,63})\\\x00")


@dataclass
class ScrubReport:
    """What scrubbing did to one dump (the export preview shows it)."""

    annotations: dict[str, str] = field(default_factory=dict)     # name -> keep | scrub | mask | remove
    regions_kept: int = 0
    regions_zeroed: int = 0
    regions_partly: int = 0
    memory_bytes_kept: int = 0
    memory_bytes_zeroed: int = 0
    streams_zeroed: list[str] = field(default_factory=list)
    streams_kept: list[str] = field(default_factory=list)
    path_names_replaced: int = 0
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"annotations": dict(sorted(self.annotations.items())), "regions_kept": self.regions_kept,
                "regions_zeroed": self.regions_zeroed, "regions_partly_zeroed": self.regions_partly,
                "memory_bytes_kept": self.memory_bytes_kept, "memory_bytes_zeroed": self.memory_bytes_zeroed,
                "streams_zeroed": self.streams_zeroed, "streams_kept": self.streams_kept,
                "path_names_replaced": self.path_names_replaced,
                "notes": self.notes}


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in sorted(r for r in ranges if r[1] > r[0]):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def walked_tops(data: bytes, provider: Any, report: ScrubReport) -> dict[int, int] | None:
    """thread id -> the highest stack pointer any frame had, over a walk with ``provider`` and one without
    symbols; None when the dump cannot be walked."""
    from crashdesk.engine.stackwalk import process_minidump

    tops: dict[int, int] = {}
    for prov in ([provider, None] if provider is not None else [None]):
        try:
            doc = process_minidump(data, prov, all_registers=True)
        except (MinidumpError, ValueError, KeyError, IndexError, struct.error) as exc:
            report.notes.append(f"the dump could not be walked ({exc}): stacks kept from the stack pointer up")
            return None
        for thread in doc.get("threads") or []:
            tid = thread.get("thread_id")
            for frame in thread.get("frames") or []:
                regs = frame.get("registers") or {}
                sp = regs.get("rsp") or regs.get("esp") or regs.get("sp")
                if isinstance(tid, int) and isinstance(sp, str):
                    try:
                        tops[tid] = max(tops.get(tid, 0), int(sp, 16))
                    except ValueError:
                        continue
    return tops


def _kept_memory(dump: Minidump, tops: dict[int, int] | None = None) -> list[tuple[int, int]]:
    """Address ranges whose bytes stay: each stack from its thread's stack pointer to the outermost walked
    frame's stack pointer plus the scan margin (to its end when ``tops`` does not know the thread), and the
    region holding the crashing instruction when it lies inside a module image."""
    keep: list[tuple[int, int]] = []
    exc = dump.exception
    exc_ctx = dump.exception_context() if exc is not None else None
    for t in dump.threads or []:
        if not t.stack_size:
            continue
        end = t.stack_start + t.stack_size
        sps = []
        ctx = dump.thread_context(t)
        if ctx is not None:
            sps.append(ctx.sp)
        if exc is not None and exc_ctx is not None and exc.thread_id == t.thread_id:
            sps.append(exc_ctx.sp)
        sps = [sp for sp in sps if t.stack_start <= sp < end]
        start = min(sps) if sps else t.stack_start   # no usable stack pointer: keep the whole stack
        if tops is not None and sps and t.thread_id in tops:
            end = min(end, max(tops[t.thread_id], start) + SCAN_MARGIN_WORDS * dump.pointer_width)
        keep.append((start, end))
    if exc_ctx is not None:
        pc = exc_ctx.pc
        module = dump.modules.module_at(pc)
        region = dump.memory.region_at(pc)
        if module is not None and region is not None:
            keep.append((max(region.base, module.base), min(region.end, module.base + module.size)))
        # the faulting instruction's bytes, wherever they are (a jump into data): the longest instruction
        # is 15 bytes; crash_info decodes it from here
        keep.append((pc, pc + INSTRUCTION_BYTES))
    return _merge(keep)


def _zero_memory(dump: Minidump, out: bytearray, report: ScrubReport, tops: dict[int, int] | None) -> None:
    """Zero the captured memory outside :func:`_kept_memory`. Decided in file space: bytes that any region
    keeps stay, even when a (hostile) memory list maps the same file bytes at a second address."""
    keep = _kept_memory(dump, tops)
    seen: set[tuple[int, int, int]] = set()
    file_keep: list[tuple[int, int]] = []
    file_zero: list[tuple[int, int]] = []
    for region in dump.memory.regions:
        if region in seen:
            continue
        seen.add(region)
        kept = 0
        cursor = region.base
        delta = region.file_offset - region.base
        for start, end in keep:
            if end <= region.base or start >= region.end:
                continue
            lo, hi = max(start, region.base), min(end, region.end)
            if lo > cursor:
                file_zero.append((cursor + delta, lo + delta))
            file_keep.append((lo + delta, hi + delta))
            kept += hi - lo
            cursor = max(cursor, hi)
        if cursor < region.end:
            file_zero.append((cursor + delta, region.end + delta))
        report.memory_bytes_kept += kept
        report.memory_bytes_zeroed += region.size - kept
        if kept == region.size:
            report.regions_kept += 1
        elif kept == 0:
            report.regions_zeroed += 1
        else:
            report.regions_partly += 1
    kept_merged = _merge(file_keep)
    for start, end in _merge(file_zero):
        cursor = start
        for ks, ke in kept_merged:
            if ke <= cursor or ks >= end:
                continue
            _zero(out, cursor, ks - cursor)
            cursor = max(cursor, ke)
        if cursor < end:
            _zero(out, cursor, end - cursor)


def _zero(out: bytearray, offset: int, size: int) -> None:
    if size > 0:
        out[offset:offset + size] = bytes(size)


# -- Crashpad annotations ----------------------------------------------------------------------------------


def _read_u32(out: bytearray, off: int) -> int | None:
    return _U32.unpack_from(out, off)[0] if 0 <= off and off + 4 <= len(out) else None


def _utf8_at(out: bytearray, rva: int) -> str | None:
    length = _read_u32(out, rva)
    if length is None or rva + 4 + length > len(out):
        return None
    return bytes(out[rva + 4:rva + 4 + length]).decode("utf-8", errors="replace").rstrip("\0")


def _wipe_string(out: bytearray, rva: int) -> None:
    length = _read_u32(out, rva)
    if length is not None and rva + 4 + length <= len(out):
        _zero(out, rva, 4 + length)


def _rewrite_string(out: bytearray, rva: int, text: str) -> None:
    """Write ``text`` at a UTF-8 string's place, never longer than the bytes it had (cut at a character)."""
    length = _read_u32(out, rva)
    if length is None or rva + 4 + length > len(out):
        return
    data = text.encode("utf-8")
    while len(data) > length:
        text = text[:-1]
        data = text.encode("utf-8")
    _zero(out, rva + 4, length)
    out[rva + 4:rva + 4 + len(data)] = data
    _U32.pack_into(out, rva, len(data))


def _decide(policy: RedactionPolicy, name: str, value: str, report: ScrubReport) -> tuple[str, str]:
    taken, new, _why = policy.apply(name, value)
    previous = report.annotations.get(name)
    if previous is None or previous == KEEP:
        report.annotations[name] = taken
    return taken, new if isinstance(new, str) else ""


def _scrub_dictionary(out: bytearray, rva: int, size: int, policy: RedactionPolicy, report: ScrubReport) -> None:
    count = _read_u32(out, rva) if size >= 4 and rva else None
    if count is None or 4 + count * 8 > size or rva + 4 + count * 8 > len(out):
        return
    kept: list[tuple[int, int]] = []
    for i in range(count):
        krva, vrva = struct.unpack_from("<II", out, rva + 4 + 8 * i)
        key, value = _utf8_at(out, krva), _utf8_at(out, vrva)
        if key is None or value is None:
            kept.append((krva, vrva))
            continue
        taken, new = _decide(policy, key, value, report)
        if taken in (REMOVE, "mask"):
            _wipe_string(out, krva)
            _wipe_string(out, vrva)
            continue
        if new != value:
            _rewrite_string(out, vrva, new)
        kept.append((krva, vrva))
    _zero(out, rva + 4, count * 8)
    for i, (krva, vrva) in enumerate(kept):
        struct.pack_into("<II", out, rva + 4 + 8 * i, krva, vrva)
    _U32.pack_into(out, rva, len(kept))


def _scrub_objects(out: bytearray, rva: int, size: int, policy: RedactionPolicy, report: ScrubReport) -> None:
    count = _read_u32(out, rva) if size >= 4 and rva else None
    if count is None or 4 + count * 12 > size or rva + 4 + count * 12 > len(out):
        return
    kept: list[bytes] = []
    for i in range(count):
        entry = bytes(out[rva + 4 + 12 * i:rva + 16 + 12 * i])
        nrva, typ, _res, vrva = struct.unpack("<IHHI", entry)
        name = _utf8_at(out, nrva)
        if name is None:
            kept.append(entry)
            continue
        length = _read_u32(out, vrva)
        value = ""
        if typ == 1 and length is not None and vrva + 4 + length <= len(out):
            value = bytes(out[vrva + 4:vrva + 4 + length]).split(b"\0", 1)[0].decode("utf-8", errors="replace")
        taken, new = _decide(policy, name, value, report)
        if taken in (REMOVE, "mask"):
            _wipe_string(out, nrva)
            _wipe_string(out, vrva)
            continue
        if typ == 1 and new != value:
            _rewrite_string(out, vrva, new)
        kept.append(entry)
    _zero(out, rva + 4, count * 12)
    for i, entry in enumerate(kept):
        out[rva + 4 + 12 * i:rva + 16 + 12 * i] = entry
    _U32.pack_into(out, rva, len(kept))


def _scrub_list(out: bytearray, rva: int, size: int, policy: RedactionPolicy) -> None:
    count = _read_u32(out, rva) if size >= 4 and rva else None
    if count is None or 4 + count * 4 > size or rva + 4 + count * 4 > len(out):
        return
    for i in range(count):
        srva = _read_u32(out, rva + 4 + 4 * i)
        text = _utf8_at(out, srva) if srva is not None else None
        if text is not None:
            new = policy.scrub_value(text)
            if new != text:
                _rewrite_string(out, srva, new if isinstance(new, str) else "")


def _scrub_crashpad(dump: Minidump, out: bytearray, policy: RedactionPolicy, report: ScrubReport) -> None:
    e = dump.stream(C.CRASHPAD_INFO)
    if e is None or e.size < 52 or e.rva + 52 > len(out):
        return
    ssize, srva, msize, mrva = struct.unpack_from("<IIII", out, e.rva + 36)
    _scrub_dictionary(out, srva, ssize, policy, report)
    count = _read_u32(out, mrva) if msize >= 4 and mrva else None
    if count is None or 4 + count * 12 > msize or mrva + 4 + count * 12 > len(out):
        return
    for i in range(count):
        _index, lsize, lrva = struct.unpack_from("<III", out, mrva + 4 + 12 * i)
        if lsize < 28 or lrva + 28 > len(out):
            continue
        _ver, la_size, la_rva, sa_size, sa_rva, ao_size, ao_rva = struct.unpack_from("<7I", out, lrva)
        _scrub_list(out, la_rva, la_size, policy)
        _scrub_dictionary(out, sa_rva, sa_size, policy, report)
        _scrub_objects(out, ao_rva, ao_size, policy, report)


# -- paths ---------------------------------------------------------------------------------------------------


def _mask_names(out: bytearray, report: ScrubReport) -> None:
    for pattern, width in ((_HOME_ASCII, 1), (_UNC_ASCII, 1), (_HOME_UTF16, 2), (_UNC_UTF16, 2)):
        for m in list(pattern.finditer(out)):
            start, end = m.span(1)
            if width == 1:
                out[start:end] = b"x" * (end - start)
            else:
                out[start:end] = "x".encode("utf-16-le") * ((end - start) // 2)
            report.path_names_replaced += 1


# -- entry point --------------------------------------------------------------------------------------------


def scrub_minidump(data: bytes, policy: RedactionPolicy, symbol_provider: Any = None) -> tuple[bytes, ScrubReport]:
    """The scrubbed copy of the minidump ``data`` and what was done (see the module docstring).
    ``symbol_provider`` is what the exporter walks its crashes with (the walked range is found with it and
    without symbols).

    Raises :class:`~crashdesk.engine.minidump.MinidumpError` when ``data`` is not a minidump."""
    report = ScrubReport()
    out = bytearray(data)
    with Minidump.from_bytes(bytes(data)) as dump:
        tops = walked_tops(bytes(data), symbol_provider, report)
        _zero_memory(dump, out, report, tops)
        for stream_type, name in ZEROED_STREAMS.items():
            e = dump.stream(stream_type)
            if e is not None and e.rva + e.size <= len(out):
                _zero(out, e.rva, e.size)
                report.streams_zeroed.append(name)
        try:
            _scrub_crashpad(dump, out, policy, report)
        except (struct.error, MinidumpError) as exc:   # a damaged stream: wipe it rather than leak it
            e = dump.stream(C.CRASHPAD_INFO)
            _zero(out, e.rva, e.size)
            report.notes.append(f"crashpad info unreadable ({exc}): zeroed")
            report.streams_zeroed.append("CrashpadInfo")
        report.streams_kept = [e.name for e in dump.streams if e.name not in report.streams_zeroed]
    if policy.scrub_paths:
        _mask_names(out, report)
    return bytes(out), report


def remove_annotations(data: bytes, names: tuple[str, ...] | list[str]) -> tuple[bytes, list[str]]:
    """``data`` with the Crashpad annotations called ``names`` (matched on the policy's canonical names, so
    ``EMAIL`` or ``E-mail`` count as ``Email``) taken out of every annotation dictionary and their bytes
    zeroed; nothing else changes (memory, paths and every other annotation stay as they are). Returns the new
    bytes and the names removed. Raises :class:`MinidumpError` when ``data`` is not a minidump."""
    policy = RedactionPolicy(rules={n: REMOVE for n in names}, use_protected_list=False, free_text=KEEP,
                             sensitive_names=KEEP, scrub_paths=False, scrub_emails=False, scrub_ips=False)
    report = ScrubReport()
    out = bytearray(data)
    with Minidump.from_bytes(bytes(data)) as dump:
        try:
            _scrub_crashpad(dump, out, policy, report)
        except struct.error as exc:
            raise MinidumpError(f"crashpad info unreadable: {exc}") from exc
    removed = sorted(n for n, taken in report.annotations.items() if taken == REMOVE)
    return (bytes(out) if removed else data), removed


__all__ = ["ScrubReport", "ZEROED_STREAMS", "remove_annotations", "scrub_minidump"]
