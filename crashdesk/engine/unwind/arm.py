"""32-bit arm unwinding: CFI, then the fp chain (iOS only, where the ABI guarantees it), then scanning."""

from __future__ import annotations

from crashdesk.engine.unwind.chain import (
    arm_frame_pointer_caller,
    arm_frame_record,
    by_cfi,
    first_caller,
    return_address_test,
    scan_for_return_address,
    scan_words,
)
from crashdesk.engine.unwind.context import FrameContext, UnwindEnv, Walked

_PTR = 4
_U32 = (1 << 32) - 1

# Callee trusts for which the scan window is extended (0.25.0: only the context frame).
EXTENDED_SCAN_AFTER: tuple[str, ...] = ("context",)


def _by_frame_pointer(env: UnwindEnv, callee: Walked) -> FrameContext | None:
    if not env.is_ios:
        return None  # elsewhere lr/fp may be used as general-purpose registers
    record = arm_frame_record(env, callee)
    if record is None:
        return None
    caller_fp, caller_pc, caller_sp = record
    return arm_frame_pointer_caller(env, caller_pc, caller_fp, caller_sp)


def _by_scan(env: UnwindEnv, callee: Walked) -> FrameContext | None:
    last_sp = callee.ctx.get("sp")
    if last_sp is None:
        return None
    words = scan_words(callee.frame.trust, EXTENDED_SCAN_AFTER)
    for _i, address_of_pc, caller_pc in scan_for_return_address(
        env, last_sp, words, return_address_test(env)
    ):
        caller_sp = address_of_pc + _PTR
        if caller_sp > _U32:
            return None
        return FrameContext.of(env.spec, {"pc": caller_pc, "sp": caller_sp})
    return None


def get_caller(env: UnwindEnv, callee: Walked, grand: Walked | None) -> tuple[FrameContext, str] | None:
    """The caller of ``callee`` and how it was found, or None when the walk should stop. A leaf called from
    the context frame may not have touched the stack, so its caller may keep the same sp."""
    return first_caller(
        env, callee, grand, by_cfi, _by_frame_pointer, _by_scan, context_leaf_may_keep_sp=True
    )
