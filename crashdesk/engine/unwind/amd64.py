"""amd64 unwinding: CFI, then the rbp chain (not on Windows), then scanning."""

from __future__ import annotations

from crashdesk.engine.unwind.chain import by_cfi, first_caller
from crashdesk.engine.unwind.context import FrameContext
from crashdesk.engine.unwind.env import UnwindEnv, Walked
from crashdesk.engine.unwind.frame_pointer import read_frame_record
from crashdesk.engine.unwind.scan import is_non_canonical_amd64, scan_for_return_address, scan_words

_PTR = 8
_MAX_GAP = 128 * 1024

# Callee trusts for which the scan window is extended (0.25.0: only the context frame; later versions of the
# reference also extend it after CFI frames).
EXTENDED_SCAN_AFTER: tuple[str, ...] = ("context",)


def _by_frame_pointer(env: UnwindEnv, callee: Walked) -> FrameContext | None:
    if env.is_windows:
        return None  # Windows x64 frames need UNWIND_INFO; rbp need not point at the frame record
    ctx = callee.ctx
    last_bp = ctx.get("rbp")
    last_sp = ctx.get("rsp")
    if last_bp is None or last_sp is None:
        return None
    record = read_frame_record(env, last_bp)
    if record is None:
        return None
    caller_bp, caller_ip, caller_sp = record
    if caller_sp <= last_bp or caller_bp < caller_sp:
        return None
    if env.read_word(caller_bp) is None:
        return None
    if is_non_canonical_amd64(caller_ip):
        return None
    if caller_sp <= last_sp or env.read_word(caller_sp) is None:
        return None
    return FrameContext.of(env.spec, {"rip": caller_ip, "rsp": caller_sp, "rbp": caller_bp})


def _by_scan(env: UnwindEnv, callee: Walked) -> FrameContext | None:
    ctx = callee.ctx
    if ctx.valid is None:
        last_bp: int | None = ctx.raw("rbp")
    else:
        if "rsp" not in ctx.valid:
            return None
        last_bp = ctx.raw("rbp") if "rbp" in ctx.valid else None
    last_sp = ctx.raw("rsp")
    cache = env.cache

    def plausible(value: int) -> bool:
        if value == 0 or is_non_canonical_amd64(value):
            return False
        return cache.seems_valid_by_symbols(value)

    words = scan_words(callee.frame.trust, EXTENDED_SCAN_AFTER)
    for i, address_of_ip, caller_ip in scan_for_return_address(env, last_sp, words, plausible):
        caller_sp = address_of_ip + _PTR
        caller_bp: int | None = None
        if last_bp is not None and i > 0:
            address_of_bp = address_of_ip - _PTR
            bp = env.read_word(address_of_bp)
            if bp is None:
                return None
            if last_bp == address_of_bp and bp > address_of_ip and bp - address_of_bp <= _MAX_GAP:
                if env.read_word(bp) is not None:
                    caller_bp = bp
            elif last_bp >= caller_sp:
                caller_bp = last_bp
        regs = {"rip": caller_ip, "rsp": caller_sp}
        if caller_bp is not None:
            regs["rbp"] = caller_bp
        found = FrameContext.of(env.spec, regs)
        if caller_bp is None:
            found.values["rbp"] = 0
        return found
    return None


def get_caller(env: UnwindEnv, callee: Walked, grand: Walked | None) -> tuple[FrameContext, str] | None:
    """The caller of ``callee`` and how it was found, or None when the walk should stop."""
    return first_caller(
        env, callee, grand, by_cfi, _by_frame_pointer, _by_scan, context_leaf_may_keep_sp=False
    )
