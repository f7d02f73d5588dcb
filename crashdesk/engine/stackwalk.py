"""Process a minidump into the ``minidump-stackwalk --json`` schema (rust-minidump 0.25.0's keys).

:func:`process_minidump` reads the dump lazily, unwinds each thread with
:func:`crashdesk.engine.unwind.walk_thread`, asks the symbol provider once per module that a frame or the
scanner needs, and assembles the reference JSON. :func:`read_annotations` gives the Crashpad annotations
of a dump (crash metadata for imported files that come without an upload form).
"""

from __future__ import annotations

import os
from collections.abc import Callable

from crashdesk.engine.minidump import Minidump, MissingStreamError
from crashdesk.engine.minidump import extras as X
from crashdesk.engine.minidump.context import CpuContext
from crashdesk.engine.minidump.crash_reason import last_error_name
from crashdesk.engine.minidump.memory import MemoryRegion, RegionMemory
from crashdesk.engine.minidump.records import Thread
from crashdesk.engine.minidump.sysinfo import cpu_description, os_version
from crashdesk.engine.symbols_api import ModuleKey, NoSymbols, SymbolFile, SymbolLookup, SymbolProvider
from crashdesk.engine.unwind.api import ModuleInfo

MAX_FRAMES = None  # like minidump-stackwalk 0.25.0: no cap (a deep recursion keeps all its frames)
SUPPORTED_CPUS = ("amd64", "x86", "arm64", "arm")


def _hex(value: int, width: int) -> str:
    """``0x`` + lower-case hex zero-padded to the pointer width (wider values print in full, as the
    reference does, e.g. a corrupt 64-bit module base in a 32-bit dump)."""
    return f"0x{value:0{2 * width}x}"


def _no_sources(provider: object) -> bool:
    """True for a supplier chain configured with no folder, cache or server: like the reference without
    symbol options, no lookup happens and ``missing_symbols`` stays false."""
    return (
        getattr(provider, "symbol_paths", None) == []
        and getattr(provider, "servers", None) == []
        and getattr(provider, "cache", 0) is None
    )


class SymbolTracker:
    """Asks the provider once per module (keyed by debug file/id) and records the outcome per code-file
    basename, as the reference's ``loaded_symbols``/``missing_symbols``/``corrupt_symbols`` do."""

    def __init__(self, provider: SymbolProvider | None) -> None:
        self.enabled = provider is not None and not isinstance(provider, NoSymbols) and not _no_sources(provider)
        self.provider = provider
        self._by_key: dict[tuple[str, str, str, str], SymbolLookup] = {}
        self.status: dict[str, SymbolLookup] = {}

    def __call__(self, module: ModuleInfo) -> SymbolFile | None:
        if not self.enabled:
            return None
        key = (module.debug_file, module.debug_id, module.code_file, module.code_id)
        hit = self._by_key.get(key)
        if hit is None:
            assert self.provider is not None
            hit = self.provider.lookup(
                ModuleKey(
                    debug_file=module.debug_file,
                    debug_id=module.debug_id,
                    code_file=module.code_file,
                    code_id=module.code_id,
                )
            )
            if hit.symbols is not None and getattr(hit.symbols, "malformed_lines", 0):
                # The reference flags a .sym file with unparsable lines as corrupt and does not use it
                # (corpus: linux_inline): frames stay unsymbolicated, scanning behaves as without symbols.
                hit = SymbolLookup(symbols=None, status="corrupt", note=hit.note, symbol_url=hit.symbol_url)
            self._by_key[key] = hit
            previous = self.status.get(module.filename)
            if previous is None or (previous.symbols is None and hit.symbols is not None):
                self.status[module.filename] = hit
        return hit.symbols

    def module_fields(self, module: ModuleInfo) -> dict:
        hit = self.status.get(module.filename)
        if hit is None:
            return {
                "loaded_symbols": False,
                "missing_symbols": False,
                "corrupt_symbols": False,
                "symbol_url": None,
            }
        corrupt = hit.status == "corrupt"
        loaded = hit.symbols is not None or corrupt
        return {
            "loaded_symbols": loaded,
            "missing_symbols": not loaded,
            "corrupt_symbols": corrupt,
            "symbol_url": hit.symbol_url,
        }


def _stack_memory(dump: Minidump, thread: Thread, sp: int) -> RegionMemory | None:
    """The memory the unwinder may read for ``thread``, as the reference chooses it: the thread's own stack
    descriptor when it holds the stack pointer, else the captured region that does, else the descriptor."""
    own = None
    if thread.stack_size and thread.stack_rva and thread.stack_rva + thread.stack_size <= dump.buf.size:
        own = MemoryRegion(thread.stack_start, thread.stack_size, thread.stack_rva)
        if own.base <= sp < own.base + own.size:
            return RegionMemory(dump.data, own)
    region = dump.memory.region_at(sp)
    if region is not None:
        return RegionMemory(dump.data, region)
    if own is not None:
        return RegionMemory(dump.data, own)
    region = dump.memory.region_at(thread.stack_start)
    return RegionMemory(dump.data, region) if region is not None else None


def _module_json(m: ModuleInfo, width: int, symbols: SymbolTracker) -> dict:
    out = {
        "base_addr": _hex(m.base, width),
        "cert_subject": None,
        "code_id": m.code_id,
    }
    fields = symbols.module_fields(m)
    out["corrupt_symbols"] = fields["corrupt_symbols"]
    out["debug_file"] = m.debug_file
    out["debug_id"] = m.debug_id
    out["end_addr"] = _hex(m.base + m.size, width)
    out["filename"] = m.filename
    out["loaded_symbols"] = fields["loaded_symbols"]
    out["missing_symbols"] = fields["missing_symbols"]
    out["symbol_url"] = fields["symbol_url"]
    out["version"] = m.version
    return out


def assertion_text(dump: Minidump) -> str | None:
    a = dump.assertion
    if a is None:
        return None
    if a.expression or a.function or a.file:
        return f"{a.expression} in function {a.function}, in file {a.file}:{a.line}".strip()
    return {1: "Invalid parameter passed to library function", 2: "Pure virtual function called"}.get(
        a.type, f"Unknown assertion type {a.type:#x}"
    )


class _CallersDump:
    """A dump the caller opened and closes: ``with`` hands it over and leaves it open (what
    ``contextlib.nullcontext`` does, without importing :mod:`contextlib` on every stackwalk's path)."""

    def __init__(self, dump: Minidump) -> None:
        self.dump = dump

    def __enter__(self) -> Minidump:
        return self.dump

    def __exit__(self, *exc) -> None:
        return None


def _open(path_or_bytes):
    if isinstance(path_or_bytes, Minidump):  # opened by the caller, who closes it
        return _CallersDump(path_or_bytes)
    if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
        return Minidump.from_bytes(bytes(path_or_bytes))
    return Minidump.open(path_or_bytes)


def process_minidump(
    path_or_bytes: str | os.PathLike | bytes | Minidump,
    symbol_provider: SymbolProvider | None = None,
    *,
    crashing_thread_only: bool = False,
    max_frames: int | None = MAX_FRAMES,
    all_registers: bool = False,
    caller_registers: bool = False,
    report: bool = False,
    cert_info: dict[str, str] | None = None,
    microcode: str | None = None,
    uptime: bool = False,
) -> dict:
    """The processed crash of one minidump (a path, its bytes, or a :class:`Minidump` the caller opened and
    closes), in the reference JSON schema.

    Raises :class:`~crashdesk.engine.minidump.MinidumpError` (a ``CrashDeskError``) for files that are not
    minidumps or lack the thread list / system info, as ``minidump-stackwalk`` refuses them too.
    ``all_registers`` adds each frame's recovered registers to every frame (for the human-readable report;
    the reference JSON has them only on the crashing thread's first frame). ``caller_registers`` adds them to
    the crashing thread's caller frames too (``crashing_thread.frames[i].registers``, where unwinding recovered
    any): what the processing worker stores for the UI; ``--json`` leaves it off, as the reference.
    ``report`` implies ``all_registers`` and adds ``_report``, the facts the human-readable report prints
    beyond the JSON (:mod:`crashdesk.engine.human_report`); :func:`json_view` takes both off again.
    ``cert_info`` (module name -> certificate subject) and ``microcode`` (``"0x..."``) are what the
    reference's ``--evil-json`` supplies (:func:`crashdesk.engine.evil_json.load_evil_json`).
    ``uptime`` (implied by ``all_registers``) adds ``process_uptime``: seconds from the process's creation to
    the dump (MiscInfo against the header's time stamp), when the dump records both; the processing worker
    stores it, so a start-up crash is known for clients that send no uptime annotation.
    """
    with _open(path_or_bytes) as dump:
        out = _process(dump, symbol_provider, crashing_thread_only, max_frames, all_registers or report,
                       caller_registers, report, uptime)  # fmt: skip
    if cert_info:
        out["modules_contains_cert_info"] = True
        for m in out["modules"]:
            m["cert_subject"] = cert_info.get(m["filename"])
        for m in out["unloaded_modules"]:
            m["cert_subject"] = cert_info.get(m["filename"])
    digits = microcode[2:] if microcode is not None and microcode.startswith("0x") else ""
    if out["system_info"]["cpu_microcode_version"] is None and 0 < len(digits) <= 16 and all(
        c in "0123456789abcdefABCDEF" for c in digits
    ):  # a u64 in hex, as the reference parses it
        out["system_info"]["cpu_microcode_version"] = hex(int(digits, 16))
    return out


def json_view(result: dict) -> dict:
    """A processed crash made with ``report``/``all_registers`` as the reference's JSON holds it: no
    registers beyond the crashing thread's first frame, no source-line offsets, no report facts, no
    process uptime and no CrashDesk notes (in place; returns ``result``)."""
    for key in ("_report", "process_uptime", "notes"):
        result.pop(key, None)
    for thread in result.get("threads") or []:
        for frame in thread["frames"]:
            frame.pop("registers", None)
            frame.pop("source_line_offset", None)
    crashing = result.get("crashing_thread")
    if crashing is not None:
        for i, frame in enumerate(crashing["frames"]):
            frame.pop("source_line_offset", None)
            if i:
                frame.pop("registers", None)
    return result


def _walker() -> tuple[Callable, Callable, type]:
    from crashdesk.engine.unwind import SymbolCache, frame_json, walk_thread

    return walk_thread, frame_json, SymbolCache


def _process(
    dump: Minidump,
    provider: SymbolProvider | None,
    crashing_only: bool,
    max_frames: int | None,
    all_registers: bool,
    caller_registers: bool = False,
    report: bool = False,
    uptime: bool = False,
) -> dict:
    threads = dump.threads
    if threads is None:
        raise MissingStreamError("MissingThreadList: the thread list stream was not found")
    si = dump.system_info
    if si is None:
        raise MissingStreamError("MissingSystemInfo: the system info stream was not found")
    width = dump.pointer_width
    symbols = SymbolTracker(provider)
    modules = dump.modules
    walk_thread, frame_json, symbol_cache_cls = _walker()
    cache = symbol_cache_cls(modules, symbols)

    crash_index = dump.requesting_thread_index()
    reason = dump.crash_reason()
    exc_context = dump.exception_context()
    names = dump.thread_names
    dump_thread = dump.dump_thread_id()

    threads_json = []
    crashing_json = None
    skipped: list[int] = []
    for index, thread in enumerate(threads):
        is_crashing = index == crash_index
        ctx: CpuContext | None = exc_context if (is_crashing and exc_context is not None) else None
        if ctx is None:
            ctx = dump.thread_context(thread)
        frames_json: list[dict] = []
        crash_frames: list[dict] = []
        # The reference never walks the thread that wrote the dump (Breakpad info's dump thread).
        want = (not crashing_only or is_crashing) and thread.thread_id != dump_thread
        if thread.thread_id == dump_thread:
            skipped.append(index)
        if want and ctx is not None and ctx.cpu in SUPPORTED_CPUS:
            memory = _stack_memory(dump, thread, ctx.sp)
            frames = walk_thread(
                ctx.cpu, ctx.registers, memory, modules, symbols, max_frames=max_frames, os=si.os, cache=cache
            )
            for i, frame in enumerate(frames):
                frames_json.append(frame_json(frame, i, ctx.cpu, include_registers=all_registers))
                if all_registers:
                    line_base = frame.source_line_base
                    if line_base is None and frame.find_source_line_base is not None:
                        line_base = frame.find_source_line_base()
                    pc = frame.offset if frame.offset is not None else frame.instruction
                    if line_base is not None and pc >= line_base:  # a bad range never prints as "+ -0x..."
                        frames_json[-1]["source_line_offset"] = pc - line_base
                if is_crashing:
                    with_registers = all_registers or i == 0 or (caller_registers and bool(frame.registers))
                    crash_frames.append(frame_json(frame, i, ctx.cpu, include_registers=with_registers))
                    if "source_line_offset" in frames_json[-1]:
                        crash_frames[-1]["source_line_offset"] = frames_json[-1]["source_line_offset"]
        last_error = None
        if thread.teb:
            code = dump.memory.read_uint(thread.teb + (0x68 if width == 8 else 0x34), 4)
            if code is not None:
                last_error = last_error_name(code)
        entry = {
            "frame_count": len(frames_json),
            "frames": frames_json,
            "last_error_value": last_error,
            "thread_id": thread.thread_id,
            "thread_name": names.get(thread.thread_id),
        }
        threads_json.append(entry)
        if is_crashing and frames_json:
            crashing_json = dict(entry)
            crashing_json["frames"] = crash_frames
            crashing_json["threads_index"] = index

    maps = X.linux_maps(dump)
    crash_info: dict = {
        "address": None,
        "adjusted_address": None,
        # 0.25.0 prints null here even when an assertion info stream exists (corpus: invalid-parameter);
        # the text is available from assertion_text().
        "assertion": None,
        "crash_inconsistencies": None,
        "crashing_thread": None,
        "instruction": None,
        "instruction_pointer_update": None,
        "memory_accesses": None,
        "possible_bit_flips": None,
        "type": None,
    }
    ip_no_update = False
    if reason is not None:
        from crashdesk.engine.crash_info import instruction_fields  # a dump with an exception only

        crash_info["address"] = _hex(reason.address, width)
        crash_info["type"] = reason.type
        crash_info["crashing_thread"] = crash_index
        exception = dump.exception
        crash_info.update(
            instruction_fields(
                dump, reason, exc_context, exception.thread_id if exception is not None else -1, maps
            )
        )
        ip_no_update = bool(crash_info.pop("_ip_no_update", False))
    elif crash_index is not None:
        crash_info["crashing_thread"] = crash_index

    pid = dump.misc_info.process_id if dump.misc_info else None
    if pid is None:
        pid = X.linux_pid(dump)
    microcode = X.microcode_version(dump)
    mac_records = X.mac_crash_info(dump)
    handles = dump.handles

    out: dict = {
        "crash_info": crash_info,
    }
    if crashing_json is not None:
        out["crashing_thread"] = crashing_json
    out["handles"] = (
        [{"handle": h.handle, "object_name": h.object_name, "type_name": h.type_name} for h in handles]
        if handles is not None
        else None
    )
    out["linux_memory_map_count"] = len(maps) if maps is not None else None
    out["lsb_release"] = X.lsb_release(dump)
    out["mac_boot_args"] = X.mac_boot_args(dump)
    out["mac_crash_info"] = (
        {
            "num_records": len(mac_records),
            "records": [
                {
                    # The reference prints zero values and empty strings as null.
                    "abort_cause": _hex(r.abort_cause, width) if r.abort_cause else None,
                    "backtrace": r.backtrace,
                    "dialog_mode": _hex(r.dialog_mode, width) if r.dialog_mode else None,
                    "message": r.message,
                    "message2": r.message2,
                    "module": r.module,
                    "signature_string": r.signature_string,
                    "thread": _hex(r.thread, width) if r.thread else None,
                }
                for r in mac_records
            ],
        }
        if mac_records
        else None
    )
    out["main_module"] = 0
    out["modules"] = [_module_json(m, width, symbols) for m in modules]
    out["modules_contains_cert_info"] = False
    out["pid"] = pid
    out["proc_limits"] = X.proc_limits(dump)
    out["soft_errors"] = X.soft_errors(dump)
    out["status"] = "OK"
    out["system_info"] = {
        "cpu_arch": si.cpu_arch,
        "cpu_count": si.number_of_processors,
        "cpu_info": cpu_description(si),
        "cpu_microcode_version": hex(microcode) if microcode is not None else None,
        "os": si.os,
        "os_ver": os_version(si),
    }
    out["thread_count"] = len(threads_json)
    out["threads"] = threads_json
    out["unloaded_modules"] = [
        {
            "base_addr": _hex(m.base, width),
            "cert_subject": None,
            "code_id": m.code_id,
            "end_addr": _hex(m.base + m.size, width),
            "filename": m.code_file,  # the full name, as the reference prints it
        }
        for m in dump.unloaded_modules
    ]
    misc = dump.misc_info
    if (all_registers or uptime) and misc is not None and misc.process_create_time is not None:
        # Not in 0.25.0's JSON (newer versions print it); the human-readable report shows it.
        out["process_uptime"] = max(0, dump.time_date_stamp - misc.process_create_time)
    if dump.notes:
        out["notes"] = list(dump.notes)
    if report:
        from crashdesk.engine.human_report import report_facts

        out["_report"] = report_facts(dump, skipped, ip_no_update)
    return out


def read_annotations(path_or_bytes: str | os.PathLike | bytes) -> dict[str, str]:
    """The dump's Crashpad annotations as ``{key: value}`` (empty when it has no Crashpad info stream).

    Process-level simple annotations first, then per-module ones for keys not yet set; ``guid`` is the
    Crashpad client id (what the handler sends as the ``guid`` form field) when the dump has one.
    """
    with _open(path_or_bytes) as dump:
        values = X.annotations(dump)
        info = X.crashpad_info(dump)
        if info is not None and info.client_id != "00000000-0000-0000-0000-000000000000":
            values.setdefault("guid", info.client_id)
        return values


def dump_summary(path: str | os.PathLike) -> dict:
    """A cheap look at a dump without unwinding: OS, CPU, crash reason, thread/module counts."""
    with Minidump.open(path) as dump:
        si = dump.system_info
        reason = dump.crash_reason()
        return {
            "os": si.os if si else None,
            "cpu_arch": dump.cpu,
            "crash_reason": reason.type if reason else None,
            "crash_address": _hex(reason.address, dump.pointer_width) if reason else None,
            "thread_count": len(dump.threads or []),
            "module_count": len(dump.modules),
            "streams": [e.name for e in dump.streams],
        }
