"""Builders for dumps of the classes issue 21 found on wild dumps and the corpus lacks (deep recursion, ...).
Shared by ``tests/data/stackwalk_classes/generate.py`` (which records the reference's output for each) and the
tests, so a test rebuilds the very bytes the reference saw."""

from __future__ import annotations

import struct

from tests.engine._minidump_writer import Module, Thread, write_minidump


def deep_recursion(frames: int) -> bytes:
    """amd64 Linux: one thread whose frame-pointer chain is ``frames`` frames deep, each returning into app."""
    base = 0x7FFF00000000
    words: list[int] = []
    for i in range(frames):
        words += [base + 16 * (i + 1) if i < frames - 1 else 0, 0x400100 + (i % 7)]
    stack = b"".join(struct.pack("<Q", w) for w in words)
    app = Module("app", 0x400000, 0x10000, guid=b"\x11" * 16)
    thread = Thread(1, {"rip": 0x400050, "rsp": base, "rbp": base}, base, stack)
    return write_minidump("amd64", "Linux", [app], [thread])


def overlapping_modules() -> bytes:
    """amd64 Linux: ``libb.so`` starts inside ``liba.so`` (as overlapping mappings do on Android); the stack
    holds a return address only ``libb.so`` covers, then one inside ``liba.so``. The reference's address map
    drops ``libb.so``, so stack scanning skips the first address."""
    base = 0x7FFF00000000
    words = [0x412345, 0x7777, 0x400123, 0, 0]
    stack = b"".join(struct.pack("<Q", w) for w in words)
    liba = Module("liba.so", 0x400000, 0x10000, guid=b"\x22" * 16)
    libb = Module("libb.so", 0x408000, 0x10000, guid=b"\x33" * 16)
    libc = Module("libc.so", 0x500000, 0x1000, guid=b"\x44" * 16)
    libd = Module("libd.so", 0x500000, 0x2000, guid=b"\x55" * 16)  # same start, longer: also dropped
    thread = Thread(1, {"rip": 0x400050, "rsp": base, "rbp": 0}, base, stack)
    return write_minidump("amd64", "Linux", [liba, libb, libc, libd], [thread])


def unloaded_modules() -> bytes:
    """amd64 Windows: two unloaded modules with full paths and time stamps holding hex letters; the stack
    holds a return address inside one of them."""
    base = 0x7FFF00000000
    stack = b"".join(struct.pack("<Q", w) for w in (0x10001234, 0, 0, 0))
    app = Module("app.exe", 0x400000, 0x10000, guid=b"\x66" * 16)
    gone = [Module("gone.dll", 0x10000000, 0x20000), Module("other.dll", 0x20000000, 0x1000)]
    thread = Thread(1, {"rip": 0x400050, "rsp": base, "rbp": 0}, base, stack)
    data = bytearray(write_minidump("amd64", "Windows NT", [app], [thread], unloaded=gone))
    count, directory = struct.unpack_from("<II", data, 8)
    for k in range(count):
        kind, _size, rva = struct.unpack_from("<III", data, directory + 12 * k)
        if kind == 14:  # unloaded module list: patch each entry's TimeDateStamp
            for i in range(len(gone)):
                struct.pack_into("<I", data, rva + 12 + 24 * i + 16, 0x5ABCDEF0 + i)
    return bytes(data)


def extended_context(cpu: str, extra: int, flag_bits: int = 0) -> bytes:
    """One thread whose CPU context is ``extra`` bytes longer than the fixed structure (XSAVE/CET state
    after an x86/amd64 context, a longer ARM context), with ``flag_bits`` added to its context flags."""
    from tests.engine import _minidump_writer as W

    pc, sp = {"x86": ("eip", "esp"), "amd64": ("rip", "rsp"), "arm": ("pc", "sp"), "arm64": ("pc", "sp")}[cpu]
    width = 4 if cpu in ("x86", "arm") else 8
    base = 0x7FF00000
    stack = b"".join(struct.pack("<I" if width == 4 else "<Q", w) for w in (0x401234, 0, 0, 0))
    app = Module("app", 0x400000, 0x10000, guid=b"\x77" * 16)
    thread = Thread(1, {pc: 0x400050, sp: base}, base, stack)
    sizes = dict(W._CONTEXT_SIZE)
    W._CONTEXT_SIZE[cpu] = sizes[cpu] + extra
    try:
        data = bytearray(write_minidump(cpu, "Linux", [app], [thread]))
    finally:
        W._CONTEXT_SIZE.clear()
        W._CONTEXT_SIZE.update(sizes)
    count, directory = struct.unpack_from("<II", data, 8)
    for k in range(count):
        kind, _size, rva = struct.unpack_from("<III", data, directory + 12 * k)
        if kind == 3:  # thread list: patch the context flags of the one thread
            ctx_rva = struct.unpack_from("<I", data, rva + 4 + 44)[0]
            at = ctx_rva + (48 if cpu == "amd64" else 0)
            struct.pack_into("<I", data, at, struct.unpack_from("<I", data, at)[0] | flag_bits)
    return bytes(data)


def _with_extra_directory_entries(data: bytes, extra: list[tuple[int, bytes | None, int | None, int]]) -> bytes:
    """``data`` with more directory entries appended after the existing ones: (type, body, rva, size) where body
    is appended to the file (rva None) or rva points at existing bytes / past the end (body None)."""
    out = bytearray(data)
    count, directory = struct.unpack_from("<II", out, 8)
    entries = [struct.unpack_from("<III", out, directory + 12 * k) for k in range(count)]
    for kind, body, rva, size in extra:
        if body is not None:
            while len(out) % 8:
                out.append(0)
            rva, size = len(out), len(body)
            out += body
        entries.append((kind, size, rva))
    new_dir = len(out)
    for e in entries:
        out += struct.pack("<III", *e)
    struct.pack_into("<II", out, 8, len(entries), new_dir)
    return bytes(out)


def duplicate_streams(variant: str) -> bytes:
    """amd64 Linux with two module list entries: the second one is another module list ("second-valid"), points
    past the end of the file ("second-outside"), or points into the thread list's bytes ("second-overlaps")."""
    base = 0x7FFF00000000
    stack = b"".join(struct.pack("<Q", w) for w in (0x501234, 0x401234, 0, 0))
    app = Module("app", 0x400000, 0x10000, guid=b"\x88" * 16)
    thread = Thread(1, {"rip": 0x400050, "rsp": base, "rbp": 0}, base, stack)
    first = write_minidump("amd64", "Linux", [app], [thread])
    other = Module("other", 0x500000, 0x10000, guid=b"\x99" * 16)
    second = write_minidump("amd64", "Linux", [other], [thread])
    count, directory = struct.unpack_from("<II", second, 8)
    if variant == "second-valid":
        # append the other dump's bytes whole, then an entry at its module list (its name/CV rvas are relative
        # to that dump, so shift them by the offset where it lands)
        base_off = (len(first) + 7) & ~7
        blob = bytearray(second)
        module_entry = None
        for i in range(count):
            kind, size, rva = struct.unpack_from("<III", second, directory + 12 * i)
            if kind == 4:
                module_entry = (size, rva)
        size, rva = module_entry
        # shift the name rva (offset 20 in the entry) and the CodeView rva (offset 24 + 52 + 4)
        struct.pack_into("<I", blob, rva + 4 + 20, struct.unpack_from("<I", blob, rva + 4 + 20)[0] + base_off)
        cv_at = rva + 4 + 24 + 52 + 4
        struct.pack_into("<I", blob, cv_at, struct.unpack_from("<I", blob, cv_at)[0] + base_off)
        padded = first + b"\0" * (base_off - len(first)) + bytes(blob)
        return _with_extra_directory_entries(padded, [(4, None, base_off + rva, size)])
    if variant == "second-outside":
        return _with_extra_directory_entries(first, [(4, None, len(first) + 4096, 112)])
    # second-overlaps: a module list entry pointing at the thread list's bytes (a count of 1 and garbage)
    count, directory = struct.unpack_from("<II", first, 8)
    thread_rva = next(
        struct.unpack_from("<III", first, directory + 12 * i)[2]
        for i in range(count)
        if struct.unpack_from("<III", first, directory + 12 * i)[0] == 3
    )
    return _with_extra_directory_entries(first, [(4, None, thread_rva, 112)])


CASES = {
    "duplicate_module_list": lambda: duplicate_streams("second-valid"),
    "duplicate_module_list_outside_file": lambda: duplicate_streams("second-outside"),
    "duplicate_module_list_overlapping": lambda: duplicate_streams("second-overlaps"),
    "x86_xstate_context": lambda: extended_context("x86", 576, 0x40),
    "amd64_xstate_cet_context": lambda: extended_context("amd64", 1024, 0x40),
    "arm_long_context": lambda: extended_context("arm", 64),
    "arm64_long_context": lambda: extended_context("arm64", 128),
    "x86_short_context": lambda: extended_context("x86", -200),
"unloaded_modules": unloaded_modules, "deep_recursion_3000": lambda: deep_recursion(3000), "overlapping_modules": overlapping_modules}
