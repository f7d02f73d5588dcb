"""The thread walk: the context frame, then callers one by one until a CPU unwinder gives up, the walk stops
making progress (each CPU's stack-pointer rule) or the frame limit is reached. Every frame is symbolicated
as soon as it is found (its parameter size feeds the next STACK WIN step)."""

from __future__ import annotations

from collections.abc import Callable

from crashdesk.engine.symbols_api import SymbolFile
from crashdesk.engine.unwind.api import MemoryReader, ModuleInfo, ModuleMap, StackFrame
from crashdesk.engine.unwind.context import FrameContext, UnwindEnv, Walked
from crashdesk.engine.unwind.cpu import canonical_registers, cpu_spec
from crashdesk.engine.unwind.symbolize import SymbolCache


def _caller_getter(cpu: str):
    """The CPU's unwinder (``get_caller``); only the one a dump needs is imported (start-up time)."""
    if cpu == "amd64":
        from crashdesk.engine.unwind import amd64 as unwinder
    elif cpu == "x86":
        from crashdesk.engine.unwind import x86 as unwinder
    elif cpu == "arm64":
        from crashdesk.engine.unwind import arm64 as unwinder
    else:
        from crashdesk.engine.unwind import arm as unwinder
    return unwinder.get_caller


def walk_thread(
    cpu: str,
    registers: dict[str, int],
    memory: MemoryReader | None,
    modules: ModuleMap,
    symbols_for: Callable[[ModuleInfo], SymbolFile | None],
    *,
    max_frames: int | None = None,
    os: str = "",
    cache: SymbolCache | None = None,
) -> list[StackFrame]:
    """Unwind one thread and return its symbolicated frames, innermost first.

    ``cpu``: the reference's cpu name (``amd64``, ``x86``, ``arm64``, ``arm``). ``registers``: the thread's
    context as minidump-stackwalk names the registers. ``memory``: the thread's *stack* memory (the
    reference reads only that region while unwinding); None walks just the context frame. ``os``: the
    reference's OS name (``Windows NT``, ``Linux``, ``iOS``...): amd64 skips frame pointers on Windows and
    arm uses them only on iOS. ``cache``: share one :class:`SymbolCache` between the threads of a dump.

    Raises :class:`~crashdesk.engine.unwind.cpu.UnsupportedCpu` for other CPUs; never raises on bad memory.
    """
    spec = cpu_spec(cpu)
    if cache is None:
        cache = SymbolCache(modules, symbols_for)
    regs = canonical_registers(spec, registers)
    ctx0 = FrameContext(spec, regs, None)
    pc = ctx0.ip
    frame0 = StackFrame(instruction=pc, trust="context", registers=ctx0.valid_registers(), offset=pc)
    cache.symbolicate(frame0, pc)
    walked = [Walked(frame0, ctx0, pc)]
    if memory is None or (max_frames is not None and max_frames <= 1):
        return [frame0]

    env = UnwindEnv(spec=spec, memory=memory, cache=cache, os=(os or "").lower())
    get_caller = _caller_getter(spec.name)
    # No frame cap by default, as the reference: every caller's stack pointer must be above its callee's, so a
    # walk ends within the captured stack (at most its size in words); the worker limits bound time and memory.
    while max_frames is None or len(walked) < max_frames:
        callee = walked[-1]
        grand = walked[-2] if len(walked) > 1 else None
        found = get_caller(env, callee, grand)
        if found is None:
            break
        ctx, trust = found
        ip = ctx.ip
        lookup = ip - spec.call_adjust
        frame = StackFrame(instruction=ip, trust=trust, registers=ctx.valid_registers(), offset=lookup)
        cache.symbolicate(frame, lookup)
        walked.append(Walked(frame, ctx, lookup))
    return [w.frame for w in walked]
