"""x86 unwinding: STACK WIN / STACK CFI, then the ebp chain (unvalidated, as the reference), then scanning."""

from __future__ import annotations

from crashdesk.engine.unwind.chain import (
    by_cfi,
    first_caller,
    read_frame_record,
    return_address_test,
    scan_for_return_address,
    scan_start_with_frame_pointer,
    scan_words,
    scanned_caller_with_frame_pointer,
)
from crashdesk.engine.unwind.context import FrameContext, UnwindEnv, Walked

_PTR = 4
_MAX_GAP = 128 * 1024
_U32 = (1 << 32) - 1

# Callee trusts for which the scan window is extended.
EXTENDED_SCAN_AFTER: tuple[str, ...] = ("context",)


def _by_frame_pointer(env: UnwindEnv, callee: Walked) -> FrameContext | None:
    last_bp = callee.ctx.get("ebp")
    if last_bp is None:
        return None
    record = read_frame_record(env, last_bp)
    if record is None:
        return None
    caller_bp, caller_ip, caller_sp = record
    return FrameContext.of(env.spec, {"eip": caller_ip, "esp": caller_sp, "ebp": caller_bp})


def _by_scan(env: UnwindEnv, callee: Walked) -> FrameContext | None:
    start = scan_start_with_frame_pointer(callee.ctx)
    if start is None:
        return None
    last_sp, last_bp = start
    plausible = return_address_test(env)
    words = scan_words(callee.frame.trust, EXTENDED_SCAN_AFTER)
    for i, address_of_ip, caller_ip in scan_for_return_address(env, last_sp, words, plausible):
        caller_sp = address_of_ip + _PTR
        if caller_sp > _U32:
            return None
        caller_bp: int | None = None
        # The caller's ebp: the word below the return address if it is plausible (above it, within _MAX_GAP,
        # readable); amd64 also requires the callee's rbp to point at it. Else the callee's ebp if it lies at
        # or above the caller's esp and is readable.
        if i > 0:
            address_of_bp = address_of_ip - _PTR
            bp = env.read_word(address_of_bp)
            if bp is None:
                return None
            if bp > address_of_ip and bp - address_of_bp <= _MAX_GAP:
                if env.read_word(bp) is not None:
                    caller_bp = bp
            elif last_bp is not None and last_bp >= caller_sp:
                if env.read_word(last_bp) is not None:
                    caller_bp = last_bp
        return scanned_caller_with_frame_pointer(env, caller_ip, caller_sp, caller_bp)
    return None


def get_caller(env: UnwindEnv, callee: Walked, grand: Walked | None) -> tuple[FrameContext, str] | None:
    """The caller of ``callee`` and how it was found, or None when the walk should stop."""
    return first_caller(
        env, callee, grand, by_cfi, _by_frame_pointer, _by_scan, context_leaf_may_keep_sp=False
    )
