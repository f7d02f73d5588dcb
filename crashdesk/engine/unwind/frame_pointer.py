"""Frame-pointer unwinding pieces that are the same on every CPU: reading a frame record (the saved frame
pointer, then the return address one word above it), and for arm/arm64 the caller built from fp.

What each CPU does with the record (when it trusts frame pointers at all, which extra checks it applies,
pointer-authentication stripping) stays in its own module."""

from __future__ import annotations

from crashdesk.engine.unwind.context import FrameContext
from crashdesk.engine.unwind.env import UnwindEnv, Walked

# The reference marks the recovered frame pointer valid under its alias (r11, x29), so CFI does not
# forward it as callee-saved.
_FP_ALIAS = frozenset({"fp"})


def read_frame_record(env: UnwindEnv, fp: int) -> tuple[int, int, int] | None:
    """The frame record ``fp`` points at, as ``(caller_fp, return_address, caller_sp)``: the caller's frame
    pointer at ``fp``, the return address one word above, and the caller's stack pointer just past the
    record. None when the record would reach the top of the address space or a word cannot be read."""
    size = env.spec.pointer_size
    if fp >= env.spec.mask - 2 * size:
        return None
    caller_fp = env.read_word(fp)
    return_address = env.read_word(fp + size)
    if caller_fp is None or return_address is None:
        return None
    return caller_fp, return_address, fp + 2 * size


def arm_frame_record(env: UnwindEnv, callee: Walked) -> tuple[int, int, int] | None:
    """arm/arm64: ``(caller_fp, caller_pc, caller_sp)`` from the callee's fp, or None when fp or sp is not
    valid or the record cannot be read. A zero fp (no frame record) gives fp 0, pc 0 and the callee's sp."""
    last_fp = callee.ctx.get("fp")
    last_sp = callee.ctx.get("sp")
    if last_fp is None or last_sp is None:
        return None
    if last_fp == 0:
        return 0, 0, last_sp
    return read_frame_record(env, last_fp)


def arm_frame_pointer_caller(env: UnwindEnv, pc: int, fp: int, sp: int) -> FrameContext:
    """The arm/arm64 caller found through fp: pc, fp and sp valid, fp not forwarded by a later CFI step."""
    found = FrameContext.of(env.spec, {"pc": pc, "fp": fp, "sp": sp})
    found.not_forwarded = _FP_ALIAS
    return found
