"""The dump's memory protection map (Windows memory info list, else the Linux ``/proc/self/maps`` copy), looked
up by address as rust-minidump 0.25.0 builds it: ranges sorted by (start, end), a range that starts inside the
previously kept one dropped, Windows ranges ending at ``base + size - 1`` and Linux ranges ending at the maps
line's end address itself (0.25.0 counts that end as inside the range)."""

import bisect

from crashdesk.engine.record_class import TupleRecord

_READABLE = 0x02 | 0x04 | 0x20 | 0x40  # PAGE_READONLY, _READWRITE, _EXECUTE_READ, _EXECUTE_READWRITE
_WRITABLE = 0x04 | 0x08 | 0x40 | 0x80  # PAGE_READWRITE, _WRITECOPY, _EXECUTE_READWRITE, _EXECUTE_WRITECOPY
_EXECUTABLE = 0x10 | 0x20 | 0x40 | 0x80  # PAGE_EXECUTE and its read/write variants


class ProtectedRange(TupleRecord, fields="start end readable writable executable"):
    """``start`` to ``end`` (inclusive, ints) and whether it is ``readable``, ``writable``, ``executable``."""

    __slots__ = ()

    @property
    def accessible(self) -> bool:
        return self.readable or self.writable or self.executable


class MemoryInfoMap:
    """Address -> :class:`ProtectedRange`; :meth:`by_address` iterates the kept ranges in address order."""

    def __init__(self, ranges: list[ProtectedRange]) -> None:
        kept: list[ProtectedRange] = []
        for r in sorted(ranges, key=lambda r: (r.start, r.end)):
            if kept and r.start <= kept[-1].end:
                continue  # overlaps the previous kept range: the reference drops it
            kept.append(r)
        self.ranges = kept
        self._starts = [r.start for r in kept]

    def at(self, address: int) -> ProtectedRange | None:
        i = bisect.bisect_right(self._starts, address) - 1
        if i >= 0 and self.ranges[i].start <= address <= self.ranges[i].end:
            return self.ranges[i]
        return None

    def __len__(self) -> int:
        return len(self.ranges)


def from_windows(entries) -> MemoryInfoMap:
    """From ``MINIDUMP_MEMORY_INFO`` records (``base_address``, ``region_size``, ``protection``)."""
    ranges = []
    for e in entries:
        if e.region_size == 0 or e.base_address + e.region_size > 1 << 64:
            continue
        p = e.protection
        ranges.append(
            ProtectedRange(
                e.base_address,
                e.base_address + e.region_size - 1,
                bool(p & _READABLE),
                bool(p & _WRITABLE),
                bool(p & _EXECUTABLE),
            )
        )
    return MemoryInfoMap(ranges)


def from_linux_maps(lines: list[str]) -> MemoryInfoMap:
    ranges = []
    for line in lines:
        parts = line.split(None, 5)
        lo, _, hi = parts[0].partition("-")
        start, end = int(lo, 16), int(hi, 16)
        if start > end:
            continue
        perms = parts[1]
        ranges.append(ProtectedRange(start, end, perms[:1] == "r", perms[1:2] == "w", perms[2:3] == "x"))
    return MemoryInfoMap(ranges)
