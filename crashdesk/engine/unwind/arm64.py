"""arm64 unwinding: CFI, then the fp/lr frame records, then scanning; pointer-authentication bits are
stripped from recovered code and frame pointers."""

from __future__ import annotations

from crashdesk.engine.unwind.chain import (
    arm_frame_pointer_caller,
    arm_frame_record,
    by_cfi,
    first_caller,
    is_non_canonical_arm64,
    return_address_test,
    scan_for_return_address,
    scan_words,
)
from crashdesk.engine.unwind.context import FrameContext, UnwindEnv, Walked

_PTR = 8
_U64 = (1 << 64) - 1
# Apple's default split leaves 47 bits of real address; the mask keeps those.
_PTR_AUTH_MASK = (1 << 47) - 1

# Callee trusts for which the scan window is extended (0.25.0: only the context frame).
EXTENDED_SCAN_AFTER: tuple[str, ...] = ("context",)


def ptr_auth_mask(env: UnwindEnv) -> int:
    """The mask that keeps a real address: all ones up to the next power of two above the larger of the
    47-bit user-space limit and the end of the highest module."""
    highest = max(_PTR_AUTH_MASK, env.cache.highest_module_end())
    if highest >= 1 << 64:
        return _U64
    return (1 << (highest - 1).bit_length()) - 1 if highest > 1 else 0


def ptr_auth_strip(env: UnwindEnv, ptr: int) -> int:
    """Clear pointer-authentication bits from a code or frame pointer."""
    return ptr & ptr_auth_mask(env)


def _by_cfi(env: UnwindEnv, callee: Walked, grand: Walked | None) -> FrameContext | None:
    """The shared CFI step, with pointer-authentication bits stripped from the recovered pc, lr and fp."""
    found = by_cfi(env, callee, grand)
    if found is None:
        return None
    found.values["pc"] = ptr_auth_strip(env, found.values.get("pc", 0))
    for reg in ("lr", "fp"):
        if found.get(reg) is not None:
            found.values[reg] = ptr_auth_strip(env, found.values[reg])
    return found


def _by_frame_pointer(env: UnwindEnv, callee: Walked) -> FrameContext | None:
    record = arm_frame_record(env, callee)
    if record is None:
        return None
    caller_fp, caller_pc, caller_sp = record
    caller_fp = ptr_auth_strip(env, caller_fp)
    caller_pc = ptr_auth_strip(env, caller_pc)
    if is_non_canonical_arm64(caller_pc):
        return None
    return arm_frame_pointer_caller(env, caller_pc, caller_fp, caller_sp)


def _by_scan(env: UnwindEnv, callee: Walked) -> FrameContext | None:
    last_sp = callee.ctx.get("sp")
    if last_sp is None:
        return None
    plausible = return_address_test(env, is_non_canonical_arm64)
    words = scan_words(callee.frame.trust, EXTENDED_SCAN_AFTER)
    for _i, address_of_pc, caller_pc in scan_for_return_address(env, last_sp, words, plausible):
        return FrameContext.of(env.spec, {"pc": caller_pc, "sp": address_of_pc + _PTR})
    return None


def get_caller(env: UnwindEnv, callee: Walked, grand: Walked | None) -> tuple[FrameContext, str] | None:
    """The caller of ``callee`` and how it was found, or None when the walk should stop. A leaf called from
    the context frame may not have touched the stack, so its caller may keep the same sp (0.25.0 allows
    that only there; later versions also accept it for CFI frames whose pc changed)."""
    return first_caller(
        env, callee, grand, _by_cfi, _by_frame_pointer, _by_scan, context_leaf_may_keep_sp=True
    )
