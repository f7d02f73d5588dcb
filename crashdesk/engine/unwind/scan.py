"""Stack scanning: look through the words above the stack pointer for one that looks like a return address.

Window sizes as the reference (0.25.0): 40 pointer-sized words, or 160 when the callee is the context frame.
The scan stops at the first word that cannot be read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from crashdesk.engine.unwind.context import FrameContext
from crashdesk.engine.unwind.env import UnwindEnv

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
