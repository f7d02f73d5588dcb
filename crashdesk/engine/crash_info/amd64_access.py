"""What the faulting amd64 instruction does: the memory it accesses, where it sends the instruction pointer,
which registers form its addresses, and the properties the consistency checks need.

The rules follow rust-minidump 0.25.0's instruction analysis (read to learn them): a fixed set of opcodes has
known read/write directions (others' accesses are "underivable"), call/push write just below the stack
pointer, pop/ret read at it, and an address whose base register holds zero is a likely null-pointer
dereference. Only the 64-bit general registers and ``rip`` have values; an address formed from any other
register leaves the access list undetermined.
"""

from __future__ import annotations

from crashdesk.engine.crash_info.heuristics import GPR64
from crashdesk.engine.crash_info.x86_decode import Instruction, MemoryOperand
from crashdesk.engine.record_class import Record, field

MASK64 = (1 << 64) - 1
CONDITIONAL_JUMPS = frozenset(
    ("jo", "jno", "jb", "jnb", "jz", "jnz", "ja", "jna", "js", "jns", "jp", "jnp", "jl", "jge", "jg", "jle")
)
# Opcode -> access type of explicit memory operands by position (None: the operand is not an access).
_READ, _WRITE, _READ_WRITE, _UNDERIVABLE = "read", "write", "readwrite", None
_DERIVABLE: dict[str, tuple] = {
    "add": (_READ_WRITE, _READ),
    "sub": (_READ_WRITE, _READ),
    "call": (_READ,),
    "jmp": (_READ,),
    "jmpf": (_READ,),
    "push": (_READ,),
    "cmp": (_READ, _READ),
    "ucomiss": (_READ, _READ),
    "dec": (_READ_WRITE,),
    "inc": (_READ_WRITE,),
    "pop": (_WRITE,),
    "mov": (_WRITE, _READ),
    "movaps": (_WRITE, _READ),
    "movups": (_WRITE, _READ),
    "lea": ("skip", "skip"),
    "ret": (),
    "retf": (),
    **{j: () for j in CONDITIONAL_JUMPS},
}
_PRIVILEGED = frozenset({
    "cli", "clts", "hlt", "in", "ins", "int", "into", "invd", "invept", "invlpg", "invvpid", "iret", "iretd",
    "iretq", "lgdt", "lidt", "lldt", "lmsw", "ltr", "monitor", "mov", "mwait", "out", "outs", "rdmsr", "rdpmc",
    "rdtsc", "rdtscp", "retf", "sti", "swapgs", "sysexit", "sysret", "vmcall", "vmclear", "vmlaunch", "vmptrld",
    "vmptrst", "vmread", "vmresume", "vmwrite", "vmxoff", "vmxon", "wbinvd", "wrmsr", "xsetbv",
})  # fmt: skip


class RegisterInvalid(ValueError):
    """An address uses a register the context has no value for."""


class AddressInfo(Record):
    address: int
    is_likely_null_pointer_dereference: bool = False
    is_likely_guard_page: bool = False


class MemoryAccess(Record):
    info: AddressInfo
    size: int | None
    access_type: str | None  # "read" | "write" | "readwrite" | None (underivable)


class Properties(Record):
    is_access_derivable: bool
    is_division: bool
    is_privileged: bool
    is_only_gpf_when_non_canonical: bool


class Analysis(Record):
    instruction: Instruction
    properties: Properties
    accesses: list[MemoryAccess] | None  # None: could not be determined
    ip_update: AddressInfo | None  # where the instruction sends rip (None: no update or unknown)
    ip_update_known: bool  # True when it is known whether rip is updated
    registers: list[str] = field(default_factory=list)  # sorted names used to form addresses


def _reg(regs: dict[str, int], name: str) -> int:
    if name not in GPR64 or name not in regs:
        raise RegisterInvalid(name)
    return regs[name]


def address_of(mem: MemoryOperand, regs: dict[str, int]) -> AddressInfo:
    info = AddressInfo(0)
    if mem.base is not None:
        base = _reg(regs, mem.base)
        info.address = base
        info.is_likely_null_pointer_dereference = base == 0
    if mem.index is not None:
        info.address = (info.address + _reg(regs, mem.index) * mem.scale) & MASK64
    info.address = (info.address + mem.disp) & MASK64
    return info


def _accesses(insn: Instruction, regs: dict[str, int]) -> list[MemoryAccess]:
    out: list[MemoryAccess] = []
    if insn.mem_size is None:
        return out
    size = insn.mem_size or None  # 0: variable size, printed as null
    directions = _DERIVABLE.get(insn.opcode)
    for index, mem in insn.memory_operands:
        if directions is None:
            out.append(MemoryAccess(address_of(mem, regs), size, _UNDERIVABLE))
            continue
        kind = directions[index] if index < len(directions) else _UNDERIVABLE
        if kind == "skip":
            continue
        out.append(MemoryAccess(address_of(mem, regs), size, kind))
    if directions is not None and "rsp" in regs:
        rsp = regs["rsp"]
        if insn.opcode in ("call", "push"):
            address = (rsp - 8) & MASK64
            out.append(MemoryAccess(AddressInfo(address, address == 0), size, _WRITE))
        elif insn.opcode in ("pop", "retf", "ret"):
            out.append(MemoryAccess(AddressInfo(rsp, rsp == 0), size, _READ))
    return out


def _ip_update(
    insn: Instruction, regs: dict[str, int], read_u64, read_stack_u64
) -> tuple[AddressInfo | None, bool]:
    op = insn.opcode
    if op in ("call", "callf", "jmp", "jmpf", "jmpe"):
        first = insn.operands[0] if insn.operands else None
        if first is not None and first.kind == "reg":
            value = _reg(regs, first.reg or "")
            return AddressInfo(value, value == 0), True
        if first is not None and first.kind == "mem" and first.mem is not None:
            target = address_of(first.mem, regs)
            value = read_u64(target.address)
            if value is not None:
                return AddressInfo(value, value == 0), True
        return None, False
    if op in ("ret", "retf", "iret", "iretd", "iretq"):
        rsp = regs.get("rsp")
        value = read_stack_u64(rsp) if rsp is not None else None
        if value is not None:
            return AddressInfo(value, value == 0), True
        return None, False
    if op in CONDITIONAL_JUMPS:
        return None, False
    return None, True


def analyze(insn: Instruction, regs: dict[str, int], read_u64, read_stack_u64) -> Analysis:
    """Analyse ``insn`` with the crashing context's registers; ``read_u64(address)`` reads the dump's memory,
    ``read_stack_u64(address)`` the crashing thread's stack (each None when the bytes are not captured)."""
    derivable = insn.opcode in _DERIVABLE
    properties = Properties(
        is_access_derivable=derivable,
        is_division=insn.opcode in ("div", "idiv"),
        is_privileged=insn.opcode in _PRIVILEGED,
        is_only_gpf_when_non_canonical=derivable and insn.opcode != "movaps",
    )
    try:
        accesses: list[MemoryAccess] | None = _accesses(insn, regs)
    except RegisterInvalid:
        accesses = None
    try:
        update, known = _ip_update(insn, regs, read_u64, read_stack_u64)
    except RegisterInvalid:
        update, known = None, False
    registers = sorted(
        {name for _, mem in insn.memory_operands for name in (mem.base, mem.index) if name is not None}
    )
    return Analysis(insn, properties, accesses, update, known, registers)
