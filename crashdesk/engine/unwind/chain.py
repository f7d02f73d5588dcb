"""The strategy chain every CPU unwinder follows: CFI, then the frame pointer, then stack scanning. The first
strategy that yields a caller wins (later ones are not tried even if that caller then fails the checks), and
the caller must pass the walk's sanity checks: a plausible instruction pointer and a stack pointer that moved
up. What differs per CPU is passed in: its three strategies and whether the context frame's leaf may leave
the stack pointer where it was."""

from __future__ import annotations

from collections.abc import Callable

from crashdesk.engine.unwind.cfi import caller_by_cfi
from crashdesk.engine.unwind.context import FrameContext
from crashdesk.engine.unwind.env import UnwindEnv, Walked

CfiStrategy = Callable[[UnwindEnv, Walked, Walked | None], FrameContext | None]
Strategy = Callable[[UnwindEnv, Walked], FrameContext | None]

# A caller whose instruction pointer is below this ends the walk (the null page).
MIN_CALLER_IP = 4096


def by_cfi(env: UnwindEnv, callee: Walked, grand: Walked | None) -> FrameContext | None:
    """The caller from the callee module's CFI (STACK WIN / STACK CFI), tried only when the callee's stack
    pointer is valid."""
    if callee.ctx.get(env.spec.sp) is None:
        return None
    return caller_by_cfi(env, callee, grand)


def first_caller(
    env: UnwindEnv,
    callee: Walked,
    grand: Walked | None,
    cfi: CfiStrategy,
    frame_pointer: Strategy,
    scan: Strategy,
    context_leaf_may_keep_sp: bool,
) -> tuple[FrameContext, str] | None:
    """The caller of ``callee`` and its trust (``cfi``, ``frame_pointer`` or ``scan``), or None when the walk
    should stop.

    ``context_leaf_may_keep_sp``: accept a caller whose stack pointer equals the callee's when the callee is
    the context frame (a leaf that never touched the stack); otherwise the stack pointer must grow.
    """
    trust = "cfi"
    found = cfi(env, callee, grand)
    if found is None:
        trust = "frame_pointer"
        found = frame_pointer(env, callee)
    if found is None:
        trust = "scan"
        found = scan(env, callee)
    if found is None:
        return None
    if found.ip < MIN_CALLER_IP:
        return None
    last_sp = callee.ctx.raw(env.spec.sp)
    if found.sp <= last_sp:
        if not (context_leaf_may_keep_sp and callee.frame.trust == "context" and found.sp == last_sp):
            return None
    return found, trust
