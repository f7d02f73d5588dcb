"""32-bit arm unwinding: CFI, then the fp chain (iOS only, where the ABI guarantees it), then scanning."""

from __future__ import annotations

from crashdesk.engine.unwind.chain import by_cfi, first_caller
from crashdesk.engine.unwind.context import FrameContext
from crashdesk.engine.unwind.env import UnwindEnv, Walked
from crashdesk.engine.unwind.scan import scan_for_return_address, scan_words

_PTR = 4
_U32 = (1 << 32) - 1


# The reference marks the recovered frame pointer valid under its alias, so CFI does not forward it.
_FP_ALIAS = frozenset({"fp"})


def _by_frame_pointer(env: UnwindEnv, callee: Walked) -> FrameContext | None:
    if not env.is_ios:
        return None  # elsewhere lr/fp may be used as general-purpose registers
    last_fp = callee.ctx.get("fp")
    last_sp = callee.ctx.get("sp")
    if last_fp is None or last_sp is None:
        return None
    if last_fp >= _U32 - 2 * _PTR:
        return None
    if last_fp == 0:
        caller_fp, caller_pc, caller_sp = 0, 0, last_sp
    else:
        caller_fp = env.read_word(last_fp)
        caller_pc = env.read_word(last_fp + _PTR)
        if caller_fp is None or caller_pc is None:
            return None
        caller_sp = last_fp + 2 * _PTR
    found = FrameContext.of(env.spec, {"pc": caller_pc, "fp": caller_fp, "sp": caller_sp})
    found.not_forwarded = _FP_ALIAS
    return found


def _by_scan(env: UnwindEnv, callee: Walked) -> FrameContext | None:
    last_sp = callee.ctx.get("sp")
    if last_sp is None:
        return None
    cache = env.cache
    words = scan_words(callee.frame.trust, ("context",))
    for _i, address_of_pc, caller_pc in scan_for_return_address(
        env, last_sp, words, cache.seems_valid_by_symbols
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
