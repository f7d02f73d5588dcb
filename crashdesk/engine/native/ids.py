"""Identifiers and file sniffing: debug ids in Breakpad form, and which files can be native objects."""

from __future__ import annotations

import re

# First bytes of the containers the native reader understands.
_MAGICS: tuple[tuple[bytes, str], ...] = (
    (b"\x7fELF", "elf"),
    (b"MZ", "pe"),
    (b"Microsoft C/C++ MSF 7.00\r\n\x1aDS", "pdb"),
    (b"\xcf\xfa\xed\xfe", "macho"), (b"\xce\xfa\xed\xfe", "macho"),
    (b"\xfe\xed\xfa\xcf", "macho"), (b"\xfe\xed\xfa\xce", "macho"),
    (b"\xca\xfe\xba\xbe", "macho"),  # fat (universal) Mach-O; Java class files share it, symbolic tells them apart
    (b"MODULE ", "breakpad"),
)
SNIFF_BYTES = 32

# compiled by re's own cache where it is first used (native files only), not by every stackwalk's start
_UUID = (r"^([0-9a-fA-F]{8})-?([0-9a-fA-F]{4})-?([0-9a-fA-F]{4})-?([0-9a-fA-F]{4})-?([0-9a-fA-F]{12})"
         r"(?:-([0-9a-fA-F]+))?$")


def sniff_kind(head: bytes) -> str | None:
    """The container kind from a file's first bytes, or None when it cannot be a native or Breakpad file."""
    for magic, kind in _MAGICS:
        if head.startswith(magic):
            return kind
    return None


def breakpad_debug_id(debug_id: str) -> str:
    """``d2554cdb-9261-36c4-b976-6a086583b9b5`` (symbolic's form, with ``-<age>`` for PDBs) ->
    ``D2554CDB926136C4B9766A086583B9B50`` (GUID + age in hex, as Breakpad and minidumps write it)."""
    m = re.match(_UUID, debug_id.strip())
    if m is None:
        return debug_id.replace("-", "").upper()
    age = int(m.group(6) or "0", 16)
    return ("".join(m.groups()[:5]) + f"{age:X}").upper()


def normalize_breakpad_id(debug_id: str) -> str:
    return debug_id.replace("-", "").upper()
