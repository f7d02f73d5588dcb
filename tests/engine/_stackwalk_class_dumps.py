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


CASES = {"deep_recursion_3000": lambda: deep_recursion(3000)}
