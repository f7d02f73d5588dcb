"""The strategy chain every CPU unwinder follows: CFI, then the frame pointer, then stack scanning. The first
strategy that yields a caller wins (later ones are not tried even if that caller then fails the checks), and
the caller must pass the walk's sanity checks: a plausible instruction pointer and a stack pointer that moved
up. What differs per CPU is passed in: its three strategies and whether the context frame's leaf may leave
the stack pointer where it was.

Below the chain, the pieces of the frame-pointer and stack-scan strategies that are the same on every CPU:

* frame pointers: reading a frame record (the saved frame pointer, then the return address one word above
  it), and for arm/arm64 the caller built from fp. What each CPU does with the record (when it trusts frame
  pointers at all, which extra checks it applies, pointer-authentication stripping) stays in its own module;
* stack scanning: look through the words above the stack pointer for one that looks like a return address.
  Window sizes as the reference (0.25.0): 40 pointer-sized words, or 160 when the callee is the context
  frame. The scan stops at the first word that cannot be read."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from crashdesk.engine.unwind.cfi import caller_by_cfi
from crashdesk.engine.unwind.context import FrameContext, UnwindEnv, Walked

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


# -- frame pointers ------------------------------------------------------------------------------------------

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


# -- stack scanning ------------------------------------------------------------------------------------------

DEFAULT_SCAN_WORDS = 40
EXTENDED_SCAN_WORDS = DEFAULT_SCAN_WORDS * 4


def scan_words(callee_trust: str, extended_for: tuple[str, ...]) -> int:
    """How many words to scan given the callee frame's trust."""
    return EXTENDED_SCAN_WORDS if callee_trust in extended_for else DEFAULT_SCAN_WORDS


def scan_for_return_address(
    env: UnwindEnv, sp: int, words: int, plausible: Callable[[int], bool]
) -> Iterator[tuple[int, int, int]]:
    """Yield ``(index, address, value)`` for each stack word from ``sp`` upwards that ``plausible`` accepts
    (the caller usually takes the first); stops at the first unreadable word or after ``words`` words."""
    size = env.spec.pointer_size
    limit = env.spec.mask
    for i in range(words):
        address = sp + i * size
        if address > limit:
            return
        value = env.read_word(address)
        if value is None:
            return
        if plausible(value):
            yield i, address, value


def return_address_test(
    env: UnwindEnv, is_non_canonical: Callable[[int], bool] | None = None
) -> Callable[[int], bool]:
    """The test a scanned word must pass to be taken as a return address: it seems valid by the symbols
    (which rejects 0) and, for a CPU with an address-space hole, is not inside it."""
    seems_valid = env.cache.seems_valid_by_symbols
    if is_non_canonical is None:
        return seems_valid

    def plausible(value: int) -> bool:
        return value != 0 and not is_non_canonical(value) and seems_valid(value)

    return plausible


def scan_start_with_frame_pointer(ctx: FrameContext) -> tuple[int, int | None] | None:
    """x86/amd64: ``(sp, fp)`` of the callee for scanning, fp None when it is not valid; None when sp is not
    valid. Values are read raw (the context frame counts every register as valid)."""
    spec = ctx.spec
    if ctx.valid is None:
        return ctx.raw(spec.sp), ctx.raw(spec.fp)
    if spec.sp not in ctx.valid:
        return None
    return ctx.raw(spec.sp), (ctx.raw(spec.fp) if spec.fp in ctx.valid else None)


def scanned_caller_with_frame_pointer(env: UnwindEnv, ip: int, sp: int, fp: int | None) -> FrameContext:
    """x86/amd64: the caller found by scanning, ip and sp valid; fp valid when one was recovered, otherwise
    0 and not valid."""
    spec = env.spec
    regs = {spec.ip: ip, spec.sp: sp}
    if fp is not None:
        regs[spec.fp] = fp
    found = FrameContext.of(spec, regs)
    if fp is None:
        found.values[spec.fp] = 0
    return found


def is_non_canonical_amd64(ptr: int) -> bool:
    """Inside the amd64 address-space hole (47-bit user space, sign-extended kernel space)."""
    return 0x7FFFFFFFFFFF < ptr < 0xFFFF800000000000


def is_non_canonical_arm64(ptr: int) -> bool:
    """Outside the range the reference accepts for arm64 code addresses."""
    return not (0x1000 <= ptr <= 0x000FFFFFFFFFFFFF)
