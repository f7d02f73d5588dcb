"""The capstone library's x86-64 decoder, called through :mod:`ctypes`.

The capstone wheel holds the C library (``capstone/lib/libcapstone.so``; ``.dylib``, ``capstone.dll``) and a
Python package around it. Importing that package costs ~20 ms (it loads every architecture's constant tables,
:mod:`inspect` and :mod:`ctypes.util`), more than the rest of a ``crashdesk stackwalk`` start-up, and the
decoder needs four of its C functions. They are declared here with the capstone 5 structures they fill
(``include/capstone/capstone.h`` and ``x86.h`` in the wheel); :func:`disassemble_one` copies what
:mod:`.x86_decode` reads into plain objects, named as the capstone package names them.
"""

from __future__ import annotations

import ctypes
import os
import sys
from ctypes import (
    POINTER,
    Structure,
    Union,
    c_bool,
    c_char,
    c_char_p,
    c_int,
    c_int8,
    c_int64,
    c_size_t,
    c_uint,
    c_uint8,
    c_uint16,
    c_uint64,
)
from importlib.util import find_spec

CS_ARCH_X86 = 3  # cs_arch
CS_MODE_64 = 1 << 3  # cs_mode
CS_OPT_DETAIL, CS_OPT_ON = 2, 3  # cs_opt_type, cs_opt_value
X86_OP_REG, X86_OP_IMM, X86_OP_MEM = 1, 2, 3  # x86_op_type
_API_MAJOR = 5  # the structures below are capstone 5's


class _OpMem(Structure):  # x86_op_mem
    _fields_ = (("segment", c_uint), ("base", c_uint), ("index", c_uint), ("scale", c_int), ("disp", c_int64))


class _OpValue(Union):
    _fields_ = (("reg", c_uint), ("imm", c_int64), ("mem", _OpMem))


class _Op(Structure):  # cs_x86_op
    _fields_ = (("type", c_uint), ("value", _OpValue), ("size", c_uint8), ("access", c_uint8),
                ("avx_bcast", c_uint), ("avx_zero_opmask", c_bool))  # fmt: skip


class _Encoding(Structure):  # cs_x86_encoding
    _fields_ = (("modrm_offset", c_uint8), ("disp_offset", c_uint8), ("disp_size", c_uint8),
                ("imm_offset", c_uint8), ("imm_size", c_uint8))  # fmt: skip


class _X86(Structure):  # cs_x86
    _fields_ = (("prefix", c_uint8 * 4), ("opcode", c_uint8 * 4), ("rex", c_uint8), ("addr_size", c_uint8),
                ("modrm", c_uint8), ("sib", c_uint8), ("disp", c_int64), ("sib_index", c_uint),
                ("sib_scale", c_int8), ("sib_base", c_uint), ("xop_cc", c_uint), ("sse_cc", c_uint),
                ("avx_cc", c_uint), ("avx_sae", c_bool), ("avx_rm", c_uint), ("flags", c_uint64),
                ("op_count", c_uint8), ("operands", _Op * 8), ("encoding", _Encoding))  # fmt: skip


class _Detail(Structure):  # cs_detail, with the x86 member of its architecture union
    _fields_ = (("regs_read", c_uint16 * 20), ("regs_read_count", c_uint8), ("regs_write", c_uint16 * 20),
                ("regs_write_count", c_uint8), ("groups", c_uint8 * 8), ("groups_count", c_uint8),
                ("writeback", c_bool), ("x86", _X86))  # fmt: skip


class _Insn(Structure):  # cs_insn
    _fields_ = (("id", c_uint), ("address", c_uint64), ("size", c_uint16), ("bytes", c_uint8 * 24),
                ("mnemonic", c_char * 32), ("op_str", c_char * 160), ("detail", POINTER(_Detail)))  # fmt: skip


class Operand:
    """One operand: ``kind`` ("reg", "imm", "mem"), ``size`` in bytes and, by kind, ``reg``, ``imm`` or ``mem``
    (``segment``, ``base``, ``index``: register ids, 0 for none; ``scale``, ``disp``)."""

    __slots__ = ("kind", "size", "reg", "imm", "mem")

    def __init__(self, op: _Op) -> None:
        self.kind = {X86_OP_REG: "reg", X86_OP_IMM: "imm", X86_OP_MEM: "mem"}.get(op.type, "")
        self.size = op.size
        self.reg = op.value.reg if op.type == X86_OP_REG else 0
        self.imm = op.value.imm if op.type == X86_OP_IMM else 0
        self.mem = _OpMem.from_buffer_copy(op.value.mem) if op.type == X86_OP_MEM else None


class Instruction:
    """One decoded instruction: capstone's text, bytes, operands and the x86 encoding facts the decoder uses."""

    __slots__ = ("size", "bytes", "mnemonic", "op_str", "operands", "prefix", "rex", "imm_size", "disp_size",
                 "_names")  # fmt: skip

    def __init__(self, insn: _Insn, names) -> None:
        x86 = insn.detail.contents.x86
        self.size = insn.size
        self.bytes = bytes(insn.bytes[: insn.size])
        self.mnemonic = insn.mnemonic.decode("ascii")
        self.op_str = insn.op_str.decode("ascii")
        self.operands = [Operand(x86.operands[i]) for i in range(x86.op_count)]
        self.prefix = list(x86.prefix)
        self.rex = x86.rex
        self.imm_size = x86.encoding.imm_size
        self.disp_size = x86.encoding.disp_size
        self._names = names

    def reg_name(self, reg: int) -> str | None:
        return self._names(reg)


class Decoder:
    """A capstone handle in x86-64 mode with operand details on."""

    def __init__(self) -> None:
        lib = _library()
        major, minor = c_int(), c_int()
        lib.cs_version(ctypes.byref(major), ctypes.byref(minor))
        if major.value != _API_MAJOR:
            raise OSError(f"capstone {major.value}.{minor.value}: the x86 decoder needs capstone 5")
        self._lib = lib
        self._handle = c_size_t()
        if lib.cs_open(CS_ARCH_X86, CS_MODE_64, ctypes.byref(self._handle)) != 0:
            raise OSError("capstone: cs_open failed")
        if lib.cs_option(self._handle, CS_OPT_DETAIL, CS_OPT_ON) != 0:
            raise OSError("capstone: cannot turn operand details on")
        self._reg_names: dict[int, str | None] = {}

    def reg_name(self, reg: int) -> str | None:
        if reg not in self._reg_names:
            name = self._lib.cs_reg_name(self._handle, reg)
            self._reg_names[reg] = name.decode("ascii") if name else None
        return self._reg_names[reg]

    def disassemble_one(self, code: bytes, address: int) -> Instruction | None:
        """The first instruction of ``code`` (at ``address``), or None when the bytes do not decode."""
        insn = POINTER(_Insn)()
        count = self._lib.cs_disasm(self._handle, code, len(code), address, 1, ctypes.byref(insn))
        if count == 0:
            return None
        try:
            return Instruction(insn[0], self.reg_name)
        finally:
            self._lib.cs_free(insn, count)


def _library() -> ctypes.CDLL:
    """The C library of the installed capstone wheel (or, without one, the system's)."""
    name = {"darwin": "libcapstone.dylib", "win32": "capstone.dll"}.get(sys.platform, "libcapstone.so")
    spec = find_spec("capstone")  # finds the package without importing it
    path = None
    if spec is not None and spec.submodule_search_locations:
        candidate = os.path.join(next(iter(spec.submodule_search_locations)), "lib", name)
        path = candidate if os.path.isfile(candidate) else None
    if path is None:
        from ctypes.util import find_library  # only for a capstone installed without its wheel's library

        path = find_library("capstone")
        if path is None:
            raise OSError("the capstone library is not installed (pip install capstone)")
    lib = ctypes.CDLL(path)
    lib.cs_version.argtypes = (POINTER(c_int), POINTER(c_int))
    lib.cs_version.restype = c_uint
    lib.cs_open.argtypes = (c_int, c_int, POINTER(c_size_t))
    lib.cs_open.restype = c_int
    lib.cs_option.argtypes = (c_size_t, c_int, c_size_t)
    lib.cs_option.restype = c_int
    lib.cs_disasm.argtypes = (c_size_t, c_char_p, c_size_t, c_uint64, c_size_t, POINTER(POINTER(_Insn)))
    lib.cs_disasm.restype = c_size_t
    lib.cs_free.argtypes = (POINTER(_Insn), c_size_t)
    lib.cs_free.restype = None
    lib.cs_reg_name.argtypes = (c_size_t, c_uint)
    lib.cs_reg_name.restype = c_char_p
    return lib
