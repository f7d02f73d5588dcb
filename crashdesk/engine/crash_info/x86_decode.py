"""Decoding one amd64 instruction with capstone, described the way ``minidump-stackwalk`` describes it.

The reference (rust-minidump 0.25.0) decodes with yaxpeax-x86 and prints yaxpeax's Intel text:
``mov dword [rax], 0x1``, ``vmovdqu ymmword [rcx + r9 * 1 - 0x60], ymm0``, ``jz $+0x14f4``. Capstone
decodes the same bytes; :func:`decode` rebuilds that text from capstone's operands (size names without
``ptr``, every index with its scale, hexadecimal immediates, relative branch targets as ``$+rel``) and keeps
the operands in a plain form for the access analysis.
"""

from __future__ import annotations

import re
from functools import lru_cache

from crashdesk.engine.record_class import Record

MAX_INSTRUCTION_LENGTH = 15

# yaxpeax's names for memory access widths (bytes -> name); "ptr" where the width is variable.
SIZE_NAMES = {1: "byte", 2: "word", 4: "dword", 6: "far", 8: "qword", 10: "mword", 16: "xmmword",
              32: "ymmword", 48: "m384b", 64: "zmmword"}  # fmt: skip

# Capstone spells condition codes e/ne/ae/be; yaxpeax spells jcc/cmovcc z/nz/nb/na and setcc z/nz/ae/be.
_CONDITION = {
    "j": {"e": "z", "ne": "nz", "ae": "nb", "be": "na"},
    "cmov": {"e": "z", "ne": "nz", "ae": "nb", "be": "na"},
    "set": {"e": "z", "ne": "nz"},
}
_RENAMED = {"movabs": "mov", "ljmp": "jmpf", "lcall": "callf", "xlatb": "xlat", "pushfq": "pushf",
            "popfq": "popf", "pause": "nop", "loope": "loopz", "loopne": "loopnz", "wrssd": "wrss",
            "wrssq": "wrss", "fucompi": "fucomip", "fcompi": "fcomip", "int1": "int", "int3": "int"}  # fmt: skip
# x87 instructions whose st(0) operand capstone leaves implicit and yaxpeax prints: stores put it last.
_X87_STORES = frozenset({"fst", "fstp", "fist", "fistp", "fisttp", "fbstp"})
_X87_POPS = frozenset({"faddp", "fmulp", "fsubp", "fsubrp", "fdivp", "fdivrp"})
_X87_WITH_ST0 = frozenset({
    "fld", "fild", "fbld", "fadd", "fmul", "fsub", "fsubr", "fdiv", "fdivr", "fiadd", "fimul", "fisub", "fisubr",
    "fidiv", "fidivr", "fcom", "fcomp", "ficom", "ficomp", "fucomi", "fcomi", "fucomip", "fcomip", "fxch",
    "fucom", "fucomp",
})  # fmt: skip
# Variable-size state saves: yaxpeax prints "ptr" and knows no access width.
_VARIABLE_SIZE = frozenset({
    "fnsave", "frstor", "fnstenv", "fldenv", "fxsave", "fxrstor", "fxsave64", "fxrstor64", "xsave", "xrstor",
    "xsaveopt", "xsavec", "xsaves", "xrstors", "xsave64", "xrstor64", "xsaveopt64", "xsavec64", "xsaves64",
    "xrstors64",
})  # fmt: skip
_VPCMP_PREDICATES = ("eq", "lt", "le", "false", "neq", "nlt", "nle", "true")
_LEGACY_PREFIXES = bytes((0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65, 0x66, 0x67, 0xF0, 0xF2, 0xF3))
_RENAMED_LATE = {"prefetcht0": "prefetch0", "prefetcht1": "prefetch1", "prefetcht2": "prefetch2"}
_CACHE_LINE_OPS = frozenset({"prefetch0", "prefetch1", "prefetch2", "prefetchnta", "prefetchw", "clflush",
                             "clflushopt", "clwb"})  # fmt: skip
_VECTOR_BYTES = {"x": 16, "y": 32, "z": 64}
_SSE_PREDICATES = ("eq", "lt", "le", "unord", "neq", "nlt", "nle", "ord")
_AVX_PREDICATES = _SSE_PREDICATES + (
    "eq_uq", "nge", "ngt", "false", "neq_oq", "ge", "gt", "true", "eq_os", "lt_oq", "le_oq", "unord_s", "neq_us",
    "nlt_uq", "nle_uq", "ord_s", "eq_us", "nge_uq", "ngt_uq", "false_os", "neq_os", "ge_oq", "gt_oq", "true_us",
)  # fmt: skip


def _sse_compare_alias(opcode: str) -> tuple[str, int] | None:
    """capstone's ``cmpnlesd``/``vcmpltps`` -> yaxpeax's (``cmpsd``, 6) / (``vcmpps``, 1)."""
    for prefix, table in (("vcmp", _AVX_PREDICATES), ("cmp", _SSE_PREDICATES)):
        if not opcode.startswith(prefix):
            continue
        rest = opcode[len(prefix) :]
        for suffix in ("ps", "pd", "ss", "sd"):
            cc = rest[: -len(suffix)] if rest.endswith(suffix) else None
            if cc and cc in table:
                return prefix + suffix, table.index(cc)
    return None


_SCALAR_SIZE = {"comisd": 8, "ucomisd": 8, "comiss": 4, "ucomiss": 4, "cvtss2sd": 8}
_RELATIVE_BRANCHES = frozenset({
    "jmp", "jrcxz", "loop", "loopz", "loopnz", "jo", "jno", "jb", "jnb", "jz", "jnz", "jna", "ja", "js", "jns",
    "jp", "jnp", "jl", "jge", "jle", "jg", "call",
})  # fmt: skip
_STRING_OPS = {"movs", "cmps", "lods", "stos", "ins", "outs", "scas"}


class DecodeError(ValueError):
    """The bytes at the instruction pointer are not a whole instruction (truncated or invalid)."""


class MemoryOperand(Record, frozen=True):
    base: str | None
    index: str | None
    scale: int
    disp: int
    segment: str | None


class Operand(Record, frozen=True):
    kind: str  # "reg" | "imm" | "mem"
    reg: str | None = None
    imm: int | None = None
    mem: MemoryOperand | None = None


class Instruction(Record, frozen=True):
    """One decoded instruction: yaxpeax's opcode name, its text, its operands and memory access width."""

    opcode: str
    text: str
    operands: tuple[Operand, ...]
    mem_size: int | None  # bytes accessed by each memory operand (or the implied stack access); None: no
    # memory access; 0: an access of variable size (state saves)
    length: int

    @property
    def memory_operands(self) -> list[tuple[int, MemoryOperand]]:
        return [(i, op.mem) for i, op in enumerate(self.operands) if op.kind == "mem" and op.mem is not None]


@lru_cache(maxsize=1)
def _capstone():
    from crashdesk.engine.crash_info.capstone_lib import Decoder  # ctypes: on the first decoded instruction

    return Decoder()


def _opcode_name(mnemonic: str) -> str:
    words = mnemonic.split()
    name = words[-1] if words else mnemonic
    if words and words[0] in ("bnd", "notrack") and len(words) > 1:
        name = words[-1]
    name = _RENAMED.get(name, name)
    for prefix, table in _CONDITION.items():
        if name.startswith(prefix) and name[len(prefix) :] in table:
            return prefix + table[name[len(prefix) :]]
    return name


def _hex_signed(value: int) -> str:
    return f"-{-value:#x}" if value < 0 else f"{value:#x}"


def _mem_text(mem: MemoryOperand, wide_absolute: bool = False) -> str:
    parts = ""
    if mem.base is not None:
        parts = mem.base
    if mem.index is not None:
        parts += (" + " if parts else "") + f"{mem.index} * {mem.scale}"
    if not parts:
        # an absolute 32-bit displacement prints unsigned (its address is the sign-extended value)
        return f"[{mem.disp & (0xFFFFFFFFFFFFFFFF if wide_absolute else 0xFFFFFFFF):#x}]"
    if mem.disp:
        parts += f" - {-mem.disp:#x}" if mem.disp < 0 else f" + {mem.disp:#x}"
    return f"[{parts}]"


def _imm_text(value: int, encoded_size: int) -> str:
    """yaxpeax prints 8- and 32-bit immediates as signed numbers, 64-bit ones unsigned."""
    if encoded_size in (1, 4):
        bits = 8 * encoded_size
        value &= (1 << bits) - 1
        if value >> (bits - 1):
            value -= 1 << bits
        return _hex_signed(value)
    return f"{value & 0xFFFFFFFFFFFFFFFF:#x}"


def _is_string_op(name: str, operands: list) -> bool:
    return (
        name[:-1] in _STRING_OPS
        and name[-1] in "bwdq"
        and not any(op.kind == "reg" and op.size > 8 for op in operands)
    )


_GPR64 = {f"e{r}": f"r{r}" for r in ("ax", "cx", "dx", "bx", "sp", "bp", "si", "di")} | {
    f"r{i}d": f"r{i}" for i in range(8, 16)
}


_LOCKABLE = frozenset({"add", "adc", "and", "btc", "btr", "bts", "cmpxchg", "cmpxchg8b", "cmpxchg16b", "dec", "inc",
                       "neg", "not", "or", "sbb", "sub", "xor", "xadd", "xchg"})  # fmt: skip
_FMA4 = re.compile(r"^vf(n?m(add|sub)|maddsub|msubadd)(ss|sd|ps|pd)$")
_MASK_OPS = re.compile(r"^k(mov|and|andn|or|xor|xnor|not|ortest|test|shiftl|shiftr|unpck|add)[bwdq]*$")


def _refuse_like_yaxpeax(insn, words: list[str], name: str) -> None:
    """Encodings capstone decodes and yaxpeax-x86 does not, so the reference prints no instruction: a lock
    prefix on an instruction that cannot take it (#UD), AMD's FMA4 and XOP, and the VEX mask-register
    instructions."""
    if "lock" in words and (
        name not in _LOCKABLE or not insn.operands or insn.operands[0].kind != "mem"
    ):
        raise DecodeError(f"lock prefix on {name}")
    raw = bytes(insn.bytes).lstrip(_LEGACY_PREFIXES)
    if _FMA4.match(name) or _MASK_OPS.match(name) or (raw[:1] == b"\x8f" and name != "pop"):
        raise DecodeError(f"{name}: not decoded by the reference's disassembler")


def decode(code: bytes, address: int) -> Instruction:
    """Decode the first instruction of ``code`` (the bytes at ``address``); raise :class:`DecodeError`."""
    insn = _capstone().disassemble_one(bytes(code[:MAX_INSTRUCTION_LENGTH]), address)
    if insn is None:
        raise DecodeError("the bytes at the instruction pointer do not decode")
    words = insn.mnemonic.split()
    raw_name = words[-1] if words else insn.mnemonic
    _refuse_like_yaxpeax(insn, words, raw_name)
    cs_operands = list(insn.operands)
    string_op = _is_string_op(raw_name, cs_operands)
    opcode = raw_name[:-1] if string_op else _opcode_name(insn.mnemonic)
    raw = bytes(insn.bytes)
    body = raw.lstrip(_LEGACY_PREFIXES)
    evex = body[:1] == b"\x62"
    vex = body[:1] in (b"\xc4", b"\xc5") or evex  # VEX/EVEX immediates print unsigned
    opcode = _RENAMED_LATE.get(opcode, opcode)
    cmp_alias = _sse_compare_alias(opcode)
    if cmp_alias is not None:
        opcode, cmp_alias = cmp_alias
    if evex and len(raw) > 4 and raw[4] in (0x1E, 0x1F, 0x3E, 0x3F) and opcode.startswith("vpcmp"):
        # capstone names the predicate (vpcmpeqd); yaxpeax prints vpcmpd ..., imm
        for i, cc in enumerate(_VPCMP_PREDICATES):
            rest = opcode[len("vpcmp") :]
            if rest.startswith(cc) and rest[len(cc) :] in ("b", "w", "d", "q", "ub", "uw", "ud", "uq"):
                opcode, cmp_alias = "vpcmp" + rest[len(cc) :], i
                break
    # yaxpeax reads 66 0f 6e (the load) as movq with a 64-bit register and a qword access
    widen_movd = opcode == "movd" and insn.prefix[2] == 0x66 and body[:2] == b"\x0f\x6e"
    if widen_movd:
        opcode = "movq"
    imm_size = getattr(insn, "imm_size", 0) or 0
    wide_disp = getattr(insn, "disp_size", 4) == 8
    operands: list[Operand] = []
    texts: list[str] = []
    mem_size: int | None = None
    for op in cs_operands:
        if op.kind == "reg":
            name = insn.reg_name(op.reg)
            if (widen_movd or opcode == "bswap") and name in _GPR64:
                name = _GPR64[name]
            if string_op and opcode in ("ins", "outs") and name == "dx" and raw_name[-1] == "b":
                name = "dl"
            if name.startswith("k") and texts and f"{{{name}}}" in insn.op_str:
                texts[-1] += f"{{{name}}}" + ("{z}" if "{z}" in insn.op_str else "")  # EVEX write mask
                continue
            operands.append(Operand("reg", reg=name))
            texts.append(name)
        elif op.kind == "imm":
            operands.append(Operand("imm", imm=op.imm))
            if (opcode in _RELATIVE_BRANCHES or opcode == "xbegin") and len(cs_operands) == 1:
                rel = op.imm - (address + insn.size)
                texts.append(f"${'+' if rel >= 0 else ''}{_hex_signed(rel)}")
            elif opcode in ("in", "out", "enter", "int"):
                texts.append(f"{op.imm & (0xFF if opcode != 'enter' or texts else 0xFFFF):#x}")
            elif vex:
                texts.append(f"{op.imm & 0xFF:#x}")
            else:
                texts.append(_imm_text(op.imm, imm_size or op.size))
        elif op.kind == "mem":
            m = op.mem
            mem = MemoryOperand(
                base=insn.reg_name(m.base) if m.base else None,
                index=insn.reg_name(m.index) if m.index else None,
                scale=m.scale,
                disp=m.disp,
                segment=insn.reg_name(m.segment) if m.segment else None,
            )
            operands.append(Operand("mem", mem=mem))
            size = op.size
            if opcode in _VARIABLE_SIZE:
                size = 0  # variable: printed "ptr", accessed size unknown
            elif opcode in _SCALAR_SIZE:
                size = _SCALAR_SIZE[opcode]
            elif widen_movd:
                size = 8
            elif opcode in _CACHE_LINE_OPS:
                size = 64
            elif opcode.startswith("vpbroadcast") and operands[0].kind == "reg":
                size = _VECTOR_BYTES.get((operands[0].reg or "")[:1], size)  # yaxpeax: the destination's width
            elif opcode.startswith(("vfmadd", "vfmsub", "vfnmadd", "vfnmsub")) and opcode.endswith(("sd", "ss")):
                size = 16
            if mem_size is None:
                mem_size = size
            seg = f"{mem.segment}:" if mem.segment in ("fs", "gs") else ""
            if string_op and opcode == "cmps":
                seg = "ds:" if not texts else "es:"  # yaxpeax: [rdi] first, as ds:, then [rsi], as es:
            elif string_op and opcode not in ("ins", "outs", "lods"):
                seg = "es:" if mem.base in ("rdi", "edi") else "ds:"
            texts.append(f"{SIZE_NAMES.get(size, 'ptr')} {seg}{_mem_text(mem, wide_disp)}")
    if cmp_alias is not None:
        texts.append(f"{cmp_alias:#x}")
    if opcode.startswith("vpbroadcast") and len(operands) == 2 and (operands[1].reg or "")[1:3] == "mm":
        texts[1] = (operands[0].reg or "x")[:1] + texts[1][1:]  # yaxpeax prints the source at the dest's width
    if opcode == "xchg" and body.lstrip(bytes(range(0x40, 0x50)))[:1] in bytes(range(0x91, 0x98)):
        texts.reverse()  # xchg with the accumulator (90+r): yaxpeax names the accumulator first
        operands.reverse()
    if string_op and opcode == "cmps" and len(operands) == 2 and (operands[0].mem and operands[0].mem.base or "")[1:] == "si":
        texts = [texts[1].replace("es:", "ds:"), texts[0].replace("ds:", "es:")]
        operands.reverse()
    if string_op and opcode in ("scas", "lods", "stos") and len(texts) == 2 and operands[0].kind == "reg":
        # capstone: "scas al, byte [rdi]"; yaxpeax: memory first for scas/stos, register first for lods
        if opcode == "scas":
            texts.reverse()
            operands.reverse()
    if opcode in _X87_STORES and len(texts) == 1:
        texts.append("st(0)")
    elif opcode in _X87_POPS and len(texts) == 1:
        texts.append("st(0)")
    elif opcode in _X87_WITH_ST0 and len(texts) == 1:
        texts.insert(0, "st(0)")
    if opcode == "int" and not texts:
        texts.append("0x3" if raw_name == "int3" else "0x1")
    prefix = ""
    if "lock" in words:
        legacy = raw[: len(raw) - len(body)]
        if 0xF2 in legacy:
            prefix += "xacquire "
        elif 0xF3 in legacy:
            prefix += "xrelease "
        prefix += "lock "
    if string_op and words[0] in ("rep", "repe", "repz", "repne", "repnz"):
        prefix += "rep " if words[0] in ("rep", "repe", "repz") else "repnz "
    text = prefix + opcode + (" " + ", ".join(texts) if texts else "")
    if mem_size is None and opcode in ("push", "pop", "call", "ret", "retf", "callf"):
        # the implied stack access: yaxpeax gives none to "push imm" and 10 bytes (mword) to retf
        if opcode == "push" and operands and operands[0].kind == "imm":
            mem_size = None
        elif opcode == "retf":
            mem_size = 10
        else:
            mem_size = 2 if insn.prefix[2] == 0x66 and not insn.rex & 0x8 else 8
    return Instruction(opcode, text, tuple(operands), mem_size, insn.size)
