"""The ``crash_info`` fields that come from the faulting instruction and the memory map: ``instruction``,
``memory_accesses``, ``instruction_pointer_update``, ``adjusted_address``, ``possible_bit_flips`` and
``crash_inconsistencies``, as ``minidump-stackwalk`` 0.25.0 prints them.

Like the reference, only amd64 instructions are decoded (with capstone, see :mod:`.x86_decode`); bit flips are
looked for on amd64 only (the reference skips 32-bit CPUs and arm64; this engine reads no other 64-bit CPU).
The decoder is given at most 15 bytes, and only bytes the dump holds.
"""

from __future__ import annotations

from crashdesk.engine.crash_info import heuristics as H
from crashdesk.engine.crash_info.memory_info import MemoryInfoMap, from_linux_maps, from_windows

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~3 ms); type checkers read it as true
if TYPE_CHECKING:
    from crashdesk.engine.crash_info.amd64_access import Analysis
    from crashdesk.engine.minidump import Minidump
    from crashdesk.engine.minidump.context import CpuContext
    from crashdesk.engine.minidump.crash_reason import CrashReason

__all__ = ["instruction_fields", "memory_info_map"]


def _hex64(value: int) -> str:
    return f"0x{value:016x}"


def memory_info_map(dump: Minidump, maps: list[str] | None) -> MemoryInfoMap:
    """The Windows memory info list when the dump has that stream, else the Linux maps lines (``maps``, as
    ``extras.linux_maps`` read them), else empty."""
    from crashdesk.engine.minidump import constants as C

    if dump.stream(C.MEMORY_INFO_LIST) is not None:
        return from_windows(dump.memory_info)
    return from_linux_maps(maps) if maps else MemoryInfoMap([])


def _stack_reader(dump: Minidump, thread_id: int):
    """Reads u64s from the crashing thread's own stack memory (its descriptor, else the captured region at
    the stack's start), as the reference reads a return address."""
    from crashdesk.engine.minidump.memory import MemoryRegion, RegionMemory

    thread = next((t for t in dump.threads or [] if t.thread_id == thread_id), None)
    if thread is None:
        return lambda _address: None
    memory = None
    if thread.stack_rva and thread.stack_size and thread.stack_rva + thread.stack_size <= dump.buf.size:
        memory = RegionMemory(
            dump.data, MemoryRegion(thread.stack_start, thread.stack_size, thread.stack_rva)
        )
    else:
        region = dump.memory.region_at(thread.stack_start)
        if region is not None:
            memory = RegionMemory(dump.data, region)
    if memory is None:
        return lambda _address: None
    return lambda address: memory.read_uint(address, 8)


def _analyse(dump: Minidump, context: CpuContext, thread_id: int) -> Analysis | None:
    if context.cpu != "amd64":
        return None
    pc = context.pc
    region = dump.memory.region_at(pc)
    if region is None:
        return None
    # the decoder only for a dump that holds the faulting code (many Linux dumps do not): start-up time
    from crashdesk.engine.crash_info.amd64_access import analyze
    from crashdesk.engine.crash_info.x86_decode import MAX_INSTRUCTION_LENGTH, DecodeError, decode

    code = dump.memory.read(pc, min(MAX_INSTRUCTION_LENGTH, region.end - pc))
    if not code:
        return None
    try:
        insn = decode(code, pc)
    except DecodeError:
        return None
    return analyze(
        insn, context.registers, lambda a: dump.memory.read_uint(a, 8), _stack_reader(dump, thread_id)
    )


def _access_json(access) -> dict:
    out: dict = {"address": _hex64(access.info.address), "size": access.size}
    if access.info.is_likely_guard_page:
        out["is_likely_guard_page"] = True
    if access.access_type is not None:
        out["access_type"] = access.access_type
    return out


def instruction_fields(
    dump: Minidump, reason: CrashReason, context: CpuContext | None, thread_id: int, maps: list[str] | None
) -> dict:
    """The instruction-derived ``crash_info`` keys for a dump with an exception stream (``maps``: the Linux
    maps lines, or None)."""
    si = dump.system_info
    os_name = si.os if si else None
    cpu = dump.cpu
    info = memory_info_map(dump, maps)
    analysis = _analyse(dump, context, thread_id) if context is not None else None

    adjusted = None
    if analysis is not None:
        addresses = None
        if analysis.accesses is not None:
            addresses = [a.info for a in analysis.accesses]
            if analysis.ip_update is not None:
                addresses.append(analysis.ip_update)
        adjusted = H.adjusted_address(cpu, os_name, reason.type, reason.address, addresses)

    flips: list[H.BitFlip] = []
    if cpu == "amd64":
        if adjusted is None:
            target: tuple[int, range, bool] | None = (reason.address, range(0, 48), False)
        elif adjusted[0] == "non-canonical":
            target = (adjusted[1], range(48, 64), True)
        else:
            target = None
        if target is not None:
            address, bits, non_canonical = target
            op = H.memory_operation(reason.type)
            regs = context.registers if context is not None else None
            flips = H.try_bit_flips(address, None, bits, non_canonical, regs, info, op)
            if context is not None and analysis is not None:
                for name in analysis.registers:
                    value = context.registers.get(name) if name in H.GPR64 else None
                    if value is not None:
                        flips += H.try_bit_flips(value, name, bits, non_canonical, regs, info, op)

    if analysis is not None:
        H.mark_guard_pages(analysis, info)
    pc = context.pc if context is not None else 0
    inconsistencies = H.crash_inconsistencies(analysis, os_name, reason.type, reason.address, pc, info)

    out: dict = {
        "adjusted_address": None,
        "crash_inconsistencies": inconsistencies,
        "instruction": None,
        "instruction_pointer_update": None,
        "memory_accesses": None,
        "possible_bit_flips": [f.to_json() for f in flips] or None,
    }
    if adjusted is not None:
        kind, value = adjusted
        out["adjusted_address"] = (
            {"kind": "non-canonical", "address": _hex64(value)}
            if kind == "non-canonical"
            else {"kind": "null-pointer", "offset": _hex64(value)}
        )
    if analysis is not None:
        out["instruction"] = analysis.instruction.text
        if analysis.accesses is not None:
            out["memory_accesses"] = [_access_json(a) for a in analysis.accesses]
        if analysis.ip_update is not None:
            update: dict = {"address": _hex64(analysis.ip_update.address)}
            if analysis.ip_update.is_likely_guard_page:
                update["is_likely_guard_page"] = True
            out["instruction_pointer_update"] = update
        # Not a JSON key: the human-readable report says "No instruction pointer update by instruction"
        # when the update is known to be none (the JSON prints null for both "none" and "unknown").
        out["_ip_no_update"] = analysis.ip_update is None and analysis.ip_update_known
    return out
