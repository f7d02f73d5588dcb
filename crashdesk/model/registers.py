"""CPU registers in the order the reference stackwalker's text report and debuggers show them (not
alphabetical), and hex values without their long zero padding."""

from __future__ import annotations

from collections.abc import Mapping

#: per CPU family, as minidump-stackwalk's human report lists them
AMD64 = ("rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp", *(f"r{i}" for i in range(8, 16)), "rip")
X86 = ("eip", "esp", "ebp", "ebx", "esi", "edi", "eax", "ecx", "edx", "eflags", "efl")
ARM64 = (*(f"x{i}" for i in range(29)), "fp", "lr", "sp", "pc")
ARM = (*(f"r{i}" for i in range(13)), "fp", "sp", "lr", "pc")


def _family(names: Mapping[str, object]) -> tuple[str, ...]:
    if "rip" in names or "rsp" in names:
        return AMD64
    if "eip" in names or "esp" in names:
        return X86
    if "x0" in names or "x29" in names:
        return ARM64
    return ARM


def ordered(registers: Mapping[str, object]) -> list[tuple[str, object]]:
    """``registers`` in their CPU's order; names that order does not know come after, alphabetically."""
    order = _family(registers)
    rank = {name: n for n, name in enumerate(order)}
    return sorted(registers.items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0]))


def short_hex(value: object) -> str:
    """``0x000000000000003a`` -> ``0x3a`` (``0x0`` for zero); anything that is not hex is returned as text."""
    text = "" if value is None else str(value)
    if text.lower().startswith("0x") and len(text) > 2 and all(c in "0123456789abcdefABCDEF" for c in text[2:]):
        return "0x" + (text[2:].lstrip("0") or "0")
    return text
