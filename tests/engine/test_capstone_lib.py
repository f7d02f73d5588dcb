"""The ctypes declarations of ``capstone_lib`` read capstone's structures as capstone's own Python package does:
the same bytes decoded through both give the same text, operands and encoding facts (the package is the
reference; a wrong field offset or width shows up as a different register, displacement or size)."""

from __future__ import annotations

import random

import capstone
from capstone import x86 as X

from crashdesk.engine.crash_info.capstone_lib import Decoder

KINDS = {X.X86_OP_REG: "reg", X.X86_OP_IMM: "imm", X.X86_OP_MEM: "mem"}
# prefixes and escapes that lead to the long encodings (REX, operand size, lock/rep, VEX, EVEX, XOP)
LEADS = (0x48, 0x4C, 0x41, 0x66, 0x67, 0xF0, 0xF2, 0xF3, 0x64, 0x65, 0xC4, 0xC5, 0x62, 0x8F, 0x0F, 0xD8, 0xDD)


def _reference(md, code: bytes, address: int):
    insn = next(md.disasm(code, address, 1), None)
    if insn is None:
        return None
    ops = []
    for op in insn.operands:
        kind = KINDS.get(op.type, "")
        mem = (op.mem.segment, op.mem.base, op.mem.index, op.mem.scale, op.mem.disp) if kind == "mem" else None
        ops.append((kind, op.size, op.reg if kind == "reg" else 0, op.imm if kind == "imm" else 0, mem))
    regs = [insn.reg_name(r) for r in range(1, 60)]
    return (insn.mnemonic, insn.op_str, bytes(insn.bytes), insn.size, ops, list(insn.prefix), insn.rex,
            insn.imm_size, insn.disp_size, regs)  # fmt: skip


def _ours(decoder: Decoder, code: bytes, address: int):
    insn = decoder.disassemble_one(code, address)
    if insn is None:
        return None
    ops = []
    for op in insn.operands:
        m = op.mem
        mem = (m.segment, m.base, m.index, m.scale, m.disp) if op.kind == "mem" else None
        ops.append((op.kind, op.size, op.reg, op.imm, mem))
    regs = [insn.reg_name(r) for r in range(1, 60)]
    return (insn.mnemonic, insn.op_str, insn.bytes, insn.size, ops, insn.prefix, insn.rex, insn.imm_size,
            insn.disp_size, regs)  # fmt: skip


def test_random_encodings_decode_as_capstones_own_binding():
    md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
    md.detail = True
    decoder = Decoder()
    rnd = random.Random(24)
    decoded = memory = 0
    for _ in range(4000):
        code = bytes([rnd.choice(LEADS)] * rnd.randrange(2)) + rnd.randbytes(rnd.randrange(1, 15))
        address = rnd.choice((0, 0x400000, 0x7FFF_1234_5000, 0xFFFF_FFFF_FFFF_F000))
        expected = _reference(md, code, address)
        assert _ours(decoder, code, address) == expected, code.hex()
        if expected is not None:
            decoded += 1
            memory += any(op[0] == "mem" for op in expected[4])
    assert decoded > 2000 and memory > 500  # the sample covered decodable and memory-operand encodings


def test_bytes_that_do_not_decode_give_none():
    decoder = Decoder()
    assert decoder.disassemble_one(b"", 0) is None
    assert decoder.disassemble_one(b"\x0f", 0) is None  # a lone escape byte
    assert decoder.disassemble_one(b"\x90", 0x1000).mnemonic == "nop"
