"""Crash-address heuristics over the analysed instruction, as rust-minidump 0.25.0 applies them: the adjusted
address (a null base pointer plus an offset; the real non-canonical address behind an amd64 general protection
fault), likely guard pages, possible bit flips with their confidence, and crash/instruction inconsistencies.

Confidence values are computed in single precision, as the reference does, and printed as the double nearest
that single (``0.6625000238418579``).
"""

from __future__ import annotations

import struct

from crashdesk.engine.crash_info.memory_info import MemoryInfoMap, ProtectedRange
from crashdesk.engine.record_class import Record, field

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~3 ms); type checkers read it as true
if TYPE_CHECKING:  # the decoder's types: imported only where an instruction is decoded (start-up time)
    from crashdesk.engine.crash_info.amd64_access import AddressInfo, Analysis

NON_CANONICAL_LOW, NON_CANONICAL_HIGH = 0x0000_8000_0000_0000, 0xFFFF_7FFF_FFFF_FFFF
NEARBY_REGISTER_DISTANCE = 1 << 12
LOW_ADDRESS_CUTOFF = NEARBY_REGISTER_DISTANCE * 2
GUARD_MEMORY_MAX_SIZE = 2 << 14
# Repeated-byte register values that are allocator poison (mozilla's Poison.h, jemalloc 0xa5/0xe5).
POISON_BYTES = frozenset(
    (
        0x2B,
        0x2D,
        0x2F,
        0x49,
        0x4B,
        0x4D,
        0x4F,
        0x6B,
        0x8B,
        0x9B,
        0x9F,
        0xA5,
        0xBB,
        0xCC,
        0xCD,
        0xCE,
        0xDB,
        0xE5,
    )
)
# The registers with values in an amd64 analysis: the 64-bit general registers and ``rip`` (also what a bit
# flip is compared with).
GPR64 = ("rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11", "r12", "r13",
         "r14", "r15", "rip")  # fmt: skip
_HIGH, _MEDIUM, _LOW = 0.90, 0.50, 0.25
_NEARBY = (_MEDIUM, _MEDIUM + 0.05, _MEDIUM + 0.1, _MEDIUM + 0.15)


def _f32(x: float) -> float:
    return struct.unpack("<f", struct.pack("<f", x))[0]


def is_non_canonical(address: int) -> bool:
    return NON_CANONICAL_LOW <= address <= NON_CANONICAL_HIGH


def memory_operation(crash_type: str) -> str | None:
    """read/write/execute for a Windows access violation; None (undetermined) for anything else."""
    return {
        "EXCEPTION_ACCESS_VIOLATION_READ": "read",
        "EXCEPTION_ACCESS_VIOLATION_WRITE": "write",
        "EXCEPTION_ACCESS_VIOLATION_EXEC": "execute",
    }.get(crash_type)


def _possibly_allowed(op: str | None, r: ProtectedRange) -> bool:
    if op is None:
        return True
    return {"read": r.readable, "write": r.writable, "execute": r.executable}[op]


def represents_gpf(os_name: str | None, crash_type: str, address: int) -> bool:
    """How each OS reports an amd64 general protection fault (a non-canonical access)."""
    if os_name == "Windows NT":
        return crash_type == "EXCEPTION_ACCESS_VIOLATION_READ" and address == 0xFFFF_FFFF_FFFF_FFFF
    if os_name == "Mac OS X":
        return crash_type == "EXC_BAD_ACCESS / EXC_I386_GPFLT" and address == 0
    if os_name == "Linux":
        return crash_type in ("SIGSEGV / SI_KERNEL", "SIGBUS / SI_KERNEL") and address == 0
    return False


def adjusted_address(
    cpu: str, os_name: str | None, crash_type: str, crash_address: int, addresses: list[AddressInfo] | None
) -> tuple[str, int] | None:
    """("null-pointer", offset) or ("non-canonical", address), or None."""
    if addresses is None:
        return None
    for a in addresses:
        if a.is_likely_null_pointer_dereference:
            return ("null-pointer", a.address)
    if cpu != "amd64" or not represents_gpf(os_name, crash_type, crash_address):
        return None
    for a in addresses:
        if is_non_canonical(a.address):
            return ("non-canonical", a.address)
    return None


class BitFlip(Record):
    address: int
    source_register: str | None
    was_non_canonical: bool
    is_null: bool = False
    was_low: bool = False
    nearby_registers: int = 0
    poison_registers: bool = False
    confidence: float = 0.0

    def to_json(self) -> dict:
        return {
            "address": f"0x{self.address:016x}",
            "confidence": self.confidence,
            "details": {
                "is_null": self.is_null,
                "nearby_registers": self.nearby_registers,
                "poison_registers": self.poison_registers,
                "was_low": self.was_low,
                "was_non_canonical": self.was_non_canonical,
            },
            "source_register": self.source_register,
        }


def _confidence(f: BitFlip) -> float:
    values = [_LOW]
    if f.was_non_canonical:
        values.append(_HIGH)
    if f.is_null:
        values.append(_f32(_f32(_MEDIUM) * _f32(_MEDIUM)) if f.was_low else _MEDIUM)
    if f.nearby_registers > 0:
        values.append(_NEARBY[min(f.nearby_registers, len(_NEARBY)) - 1])
    product = _f32(1.0)
    for v in values:
        product = _f32(product * _f32(_f32(1.0) - _f32(v)))
    result = _f32(_f32(1.0) - product)
    if f.poison_registers:
        result = _f32(result * _f32(_MEDIUM))
    return result


def _heuristics(flip: BitFlip, original: int, registers: dict[str, int] | None) -> None:
    flip.is_null = flip.address == 0
    flip.was_low = flip.is_null and original <= LOW_ADDRESS_CUTOFF
    if registers is not None:
        nearby = flip.address > LOW_ADDRESS_CUTOFF
        for name in GPR64:
            value = registers.get(name)
            if value is None:
                continue
            if nearby and abs(flip.address - value) <= NEARBY_REGISTER_DISTANCE:
                flip.nearby_registers += 1
            if not flip.poison_registers and value == (value & 0xFF) * 0x0101010101010101:
                if value & 0xFF in POISON_BYTES:
                    flip.poison_registers = True
    flip.confidence = _confidence(flip)


def try_bit_flips(
    address: int,
    source_register: str | None,
    bits: range,
    non_canonical: bool,
    registers: dict[str, int] | None,
    info: MemoryInfoMap,
    operation: str | None,
) -> list[BitFlip]:
    here = info.at(address)
    if here is not None and _possibly_allowed(operation, here):
        return []
    out = []
    for bit in bits:
        candidate = address ^ (1 << bit)
        if candidate == 0:
            out.append(BitFlip(candidate, source_register, non_canonical))
            _heuristics(out[-1], address, registers)
        r = info.at(candidate)
        if r is not None and _possibly_allowed(operation, r):
            out.append(BitFlip(candidate, source_register, non_canonical))
            _heuristics(out[-1], address, registers)
    return out


def mark_guard_pages(analysis: Analysis, info: MemoryInfoMap) -> None:
    """Flag accesses into small inaccessible ranges next to accessible memory (likely guard pages)."""
    for access in analysis.accesses or []:
        r = info.at(access.info.address)
        if r is None or r.accessible or r.end - r.start >= GUARD_MEMORY_MAX_SIZE:
            continue
        for other in info.ranges:
            if other.end + 1 == r.start and other.accessible:
                access.info.is_likely_guard_page = True
                break
            if r.end + 1 == other.start:
                access.info.is_likely_guard_page = other.accessible
                break


class Inconsistencies(Record):
    items: list[str] = field(default_factory=list)


def _contains(analysis: Analysis, address: int, kind: str) -> bool:
    for a in analysis.accesses or []:
        if a.size is None or a.access_type != kind:
            continue
        lo = a.info.address
        hi = lo + a.size
        if hi > 0xFFFF_FFFF_FFFF_FFFF:
            if lo <= address or address < (hi & 0xFFFF_FFFF_FFFF_FFFF):
                return True
        elif lo <= address < hi:
            return True
    return False


def _crashing_access_missing(analysis: Analysis, crash_type: str, address: int, pc: int) -> bool:
    if analysis.accesses is None:
        return False
    derivable = analysis.properties.is_access_derivable
    if crash_type == "EXCEPTION_ACCESS_VIOLATION_READ":
        return (
            derivable
            and not _contains(analysis, address, "read")
            and not _contains(analysis, address, "readwrite")
        )
    if crash_type == "EXCEPTION_ACCESS_VIOLATION_WRITE":
        return (
            derivable
            and not _contains(analysis, address, "write")
            and not _contains(analysis, address, "readwrite")
        )
    if crash_type == "EXCEPTION_ACCESS_VIOLATION_EXEC":
        return pc != address
    if crash_type == "EXCEPTION_STACK_OVERFLOW":
        return derivable and not analysis.accesses
    return False


def _access_allowed(crash_type: str, address: int, info: MemoryInfoMap) -> bool:
    op = memory_operation(crash_type)
    r = info.at(address)
    if r is None or op is None:
        return False
    return {"read": r.readable, "write": r.writable, "execute": r.executable}[op]


def _non_canonical_not_accessed(analysis: Analysis) -> bool:
    if not analysis.properties.is_access_derivable or analysis.accesses is None:
        return False
    if any(is_non_canonical(a.info.address) for a in analysis.accesses):
        return False
    if not analysis.ip_update_known:
        return False
    return analysis.ip_update is None or not is_non_canonical(analysis.ip_update.address)


_DIVIDE = ("EXC_ARITHMETIC / EXC_PPC_ZERO_DIVIDE", "EXC_ARITHMETIC / EXC_I386_DIV", "SIGFPE / FPE_INTDIV",
           "EXCEPTION_INT_DIVIDE_BY_ZERO")  # fmt: skip


def crash_inconsistencies(
    analysis: Analysis | None,
    os_name: str | None,
    crash_type: str,
    address: int,
    pc: int,
    info: MemoryInfoMap,
) -> list[str]:
    out: list[str] = []
    if crash_type in _DIVIDE:
        if analysis is not None and not analysis.properties.is_division:
            out.append("int_div_by_zero_not_possible")
    elif crash_type == "EXCEPTION_PRIV_INSTRUCTION":
        if analysis is not None and not analysis.properties.is_privileged:
            out.append("priv_instruction_crash_without_priv_instruction")
    elif crash_type == "EXCEPTION_ACCESS_VIOLATION_READ":
        missing = analysis is not None and _crashing_access_missing(analysis, crash_type, address, pc)
        if represents_gpf(os_name, crash_type, address) and missing:
            if analysis is not None and analysis.properties.is_only_gpf_when_non_canonical:
                if _non_canonical_not_accessed(analysis):
                    out.append("non_canonical_address_falsely_reported")
        else:
            if missing:
                out.append("crashing_access_not_found_in_memory_accesses")
            if _access_allowed(crash_type, address, info):
                out.append("access_violation_when_access_allowed")
    elif crash_type in (
        "EXCEPTION_STACK_OVERFLOW",
        "EXCEPTION_ACCESS_VIOLATION_WRITE",
        "EXCEPTION_ACCESS_VIOLATION_EXEC",
    ):
        if analysis is not None and _crashing_access_missing(analysis, crash_type, address, pc):
            out.append("crashing_access_not_found_in_memory_accesses")
        if _access_allowed(crash_type, address, info):
            out.append("access_violation_when_access_allowed")
    return out
