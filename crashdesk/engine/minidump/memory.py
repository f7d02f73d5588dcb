"""The dump's captured memory (memory list + memory64 list) as a :class:`MemoryReader`."""

import bisect
import struct

from crashdesk.engine.record_class import TupleRecord

_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
MAX_OVERLAP_PROBE = 16  # how many earlier regions a lookup inspects when regions overlap


class MemoryRegion(TupleRecord, fields="base size file_offset"):
    """``size`` bytes of process memory at ``base``, stored at ``file_offset`` in the dump."""

    __slots__ = ()

    @property
    def end(self) -> int:
        return self.base + self.size


class DumpMemory:
    """Implements ``crashdesk.engine.unwind.api.MemoryReader`` over the dump's memory regions.

    Regions are sorted by base; each read is a binary search plus a slice of the mapped file, so
    nothing is copied up front. Regions whose bytes lie past the end of the file are left out.
    """

    def __init__(self, data, regions: list[MemoryRegion]) -> None:
        self._data = data
        size = len(data)
        # A region whose bytes are not all in the file is unreadable (as for the reference): dropped.
        usable = [r for r in regions if r.size > 0 and r.file_offset + r.size <= size]
        usable.sort(key=lambda r: (r.base, -r.size))
        self.regions = usable
        self._bases = [r.base for r in usable]

    def __len__(self) -> int:
        return len(self.regions)

    def region_at(self, address: int) -> MemoryRegion | None:
        """The region containing ``address``, if any."""
        i = bisect.bisect_right(self._bases, address) - 1
        stop = max(-1, i - MAX_OVERLAP_PROBE)
        while i > stop:
            r = self.regions[i]
            if r.base <= address < r.end:
                return r
            i -= 1
        return None

    def read(self, address: int, size: int) -> bytes | None:
        if size < 0 or address < 0:
            return None
        i = bisect.bisect_right(self._bases, address) - 1
        stop = max(-1, i - MAX_OVERLAP_PROBE)
        while i > stop:
            r = self.regions[i]
            if r.base <= address and address + size <= r.end:
                start = r.file_offset + (address - r.base)
                return bytes(self._data[start : start + size])
            i -= 1
        return None

    def read_uint(self, address: int, size: int) -> int | None:
        raw = self.read(address, size)
        if raw is None:
            return None
        if size == 8:
            return _U64.unpack(raw)[0]
        if size == 4:
            return _U32.unpack(raw)[0]
        return int.from_bytes(raw, "little")


class RegionMemory:
    """A ``MemoryReader`` over exactly one region (a thread's stack): the unwinder's hot path, with no
    search and no intermediate copies for word reads."""

    __slots__ = ("base", "end", "_offset", "_data")

    def __init__(self, data, region: MemoryRegion) -> None:
        size = max(0, min(region.size, len(data) - region.file_offset))
        self.base = region.base
        self.end = region.base + size
        self._offset = region.file_offset - region.base
        self._data = data

    def __len__(self) -> int:
        return 1

    def region_at(self, address: int) -> MemoryRegion | None:
        if self.base <= address < self.end:
            return MemoryRegion(self.base, self.end - self.base, self._offset + self.base)
        return None

    def read(self, address: int, size: int) -> bytes | None:
        if size < 0 or address < self.base or address + size > self.end:
            return None
        start = self._offset + address
        return bytes(self._data[start : start + size])

    def read_uint(self, address: int, size: int) -> int | None:
        if address < self.base or address + size > self.end:
            return None
        if size == 8:
            return _U64.unpack_from(self._data, self._offset + address)[0]
        if size == 4:
            return _U32.unpack_from(self._data, self._offset + address)[0]
        start = self._offset + address
        return int.from_bytes(self._data[start : start + size], "little")
