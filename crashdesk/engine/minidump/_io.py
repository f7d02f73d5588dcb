"""Bounds-checked primitive reads over the dump's bytes (an ``mmap`` or a ``bytes`` object)."""

from __future__ import annotations

import struct
from functools import lru_cache

from crashdesk.engine.minidump.errors import TruncatedMinidumpError

MAX_STRING_BYTES = 1 << 16  # a MINIDUMP_STRING longer than this is treated as corrupt


@lru_cache(maxsize=256)
def _compiled(fmt: str) -> struct.Struct:
    return struct.Struct("<" + fmt)


class Buffer:
    """Little-endian structured reads that raise :class:`TruncatedMinidumpError` instead of IndexError."""

    __slots__ = ("data", "size")

    def __init__(self, data) -> None:
        self.data = data
        self.size = len(data)

    def unpack(self, fmt: str, offset: int, what: str = "structure") -> tuple:
        st = _compiled(fmt)
        if offset < 0 or offset + st.size > self.size:
            raise TruncatedMinidumpError(
                f"{what} at offset {offset:#x} ({st.size} bytes) lies past the end of the file ({self.size} bytes)"
            )
        return st.unpack_from(self.data, offset)

    def try_unpack(self, fmt: str, offset: int) -> tuple | None:
        st = _compiled(fmt)
        if offset < 0 or offset + st.size > self.size:
            return None
        return st.unpack_from(self.data, offset)

    def u32(self, offset: int, what: str = "value") -> int:
        return self.unpack("I", offset, what)[0]

    def bytes_at(self, offset: int, size: int, what: str = "data") -> bytes:
        if offset < 0 or size < 0 or offset + size > self.size:
            raise TruncatedMinidumpError(
                f"{what} at offset {offset:#x} ({size} bytes) lies past the end of the file ({self.size} bytes)"
            )
        return bytes(self.data[offset : offset + size])

    def clipped(self, offset: int, size: int) -> bytes:
        """Up to ``size`` bytes at ``offset``, cut at the end of the file (empty when out of range)."""
        if offset < 0 or offset >= self.size or size <= 0:
            return b""
        return bytes(self.data[offset : min(offset + size, self.size)])

    def string(self, rva: int) -> str | None:
        """A MINIDUMP_STRING (u32 byte length + UTF-16LE), or None when it is out of bounds, absurd or not
        valid UTF-16."""
        head = self.try_unpack("I", rva)
        if head is None:
            return None
        length = head[0]
        if length > MAX_STRING_BYTES or rva + 4 + length > self.size:
            return None
        raw = bytes(self.data[rva + 4 : rva + 4 + length])
        try:
            return raw.decode("utf-16-le")
        except UnicodeDecodeError:  # unpaired surrogates, odd length: unreadable, as for the reference
            return None

    def utf8_string(self, rva: int) -> str | None:
        """A Crashpad/Breakpad UTF-8 string (u32 length + bytes, NUL-terminated)."""
        head = self.try_unpack("I", rva)
        if head is None:
            return None
        length = head[0]
        if length > MAX_STRING_BYTES or rva + 4 + length > self.size:
            return None
        return bytes(self.data[rva + 4 : rva + 4 + length]).decode("utf-8", errors="replace")


def cstring(raw: bytes, encoding: str = "utf-8") -> str:
    """Text up to the first NUL."""
    end = raw.find(b"\0")
    if end >= 0:
        raw = raw[:end]
    return raw.decode(encoding, errors="replace")
