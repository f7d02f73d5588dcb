"""amd64 unwinding: CFI, then the rbp chain (not on Windows), then scanning."""

from __future__ import annotations

from crashdesk.engine.unwind.chain import (
    by_cfi,
    first_caller,
    is_non_canonical_amd64,
    read_frame_record,
    return_address_test,
    scan_for_return_address,
    scan_start_with_frame_pointer,
    scan_words,
    scanned_caller_with_frame_pointer,
)
from crashdesk.engine.unwind.context import FrameContext, UnwindEnv, Walked

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
    start = scan_start_with_frame_pointer(callee.ctx)
    if start is None:
        return None
    last_sp, last_bp = start
    plausible = return_address_test(env, is_non_canonical_amd64)
    words = scan_words(callee.frame.trust, EXTENDED_SCAN_AFTER)
    for i, address_of_ip, caller_ip in scan_for_return_address(env, last_sp, words, plausible):
        caller_sp = address_of_ip + _PTR
        caller_bp: int | None = None
        # The caller's rbp: the word below the return address if the callee's rbp pointed at it and the word
        # is plausible (above it, within _MAX_GAP, readable); x86 does not require the first. Else the
        # callee's rbp if it lies at or above the caller's rsp.
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
        return scanned_caller_with_frame_pointer(env, caller_ip, caller_sp, caller_bp)
    return None


def get_caller(env: UnwindEnv, callee: Walked, grand: Walked | None) -> tuple[FrameContext, str] | None:
    """The caller of ``callee`` and how it was found, or None when the walk should stop."""
    return first_caller(
        env, callee, grand, by_cfi, _by_frame_pointer, _by_scan, context_leaf_may_keep_sp=False
    )
