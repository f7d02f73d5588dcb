"""Holding a request body while waitress receives it: in memory up to a small bound, then in a temporary file.

waitress's own body buffer writes each received piece into a ``BytesIO``, which grows by reallocating
(copying everything so far) on most appends, and the application then copies the body out again.
:class:`SpillBuffer` keeps the received pieces as they are (a 1 MB dump costs no copy) while the body is at
most :attr:`BodyGuard.memory_per_request` and the collector's bodies in memory together stay under
:attr:`BodyGuard.memory_total`; past either, the rest of the body goes to an anonymous temporary file in the
spool folder (unlinked from the start, so nothing is left on disk whatever happens to the process).

Every byte of a body is also charged to the client's and the collector's bytes in flight
(:class:`InFlight`): past the first :attr:`InFlight.free_each` bytes of each request, a request that would
take its client over ``per_client`` or everyone over ``total`` is refused (``503``, the client retries later)
instead of letting a burst of stalled uploads fill the memory or the disk.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections import deque
from pathlib import Path

from crashdesk.collector.budget import BudgetHold, ByteBudget

MiB = 1024 * 1024


class InFlight:
    """Bytes of request bodies received and not yet answered, per client address and in all; thread-safe."""

    def __init__(self, per_client: int, total: int, free_each: int) -> None:
        self.per_client = per_client
        self.total = total
        self.free_each = free_each
        self.used = 0
        self.peak = 0
        self.by_client: dict[str, int] = {}
        self._lock = threading.Lock()

    def take(self, client: str, n: int) -> str | None:
        """Charge ``n`` bytes to ``client``; None when done, else the reason it cannot be."""
        with self._lock:
            mine = self.by_client.get(client, 0)
            if mine + n > self.per_client:
                return "busy_client_in_flight"
            if self.used + n > self.total:
                return "busy_in_flight"
            self.by_client[client] = mine + n
            self.used += n
            self.peak = max(self.peak, self.used)
            return None

    def give(self, client: str, n: int) -> None:
        with self._lock:
            left = self.by_client.get(client, 0) - n
            if left > 0:
                self.by_client[client] = left
            else:
                self.by_client.pop(client, None)
            self.used -= n


class BodyGuard:
    """What bodies may hold: memory per request and in all, and bytes in flight (see the module)."""

    def __init__(self, spool_dir: Path, *, memory_per_request: int = 4 * MiB, memory_total: int = 64 * MiB,
                 in_flight_per_client: int = 256 * MiB, in_flight_total: int = 1024 * MiB,
                 free_each: int = 2 * MiB) -> None:
        self.spool_dir = Path(spool_dir)
        self.memory_per_request = memory_per_request
        self.memory = ByteBudget(memory_total)
        self.in_flight = InFlight(in_flight_per_client, in_flight_total, free_each)
        self.spilled = 0  # bodies that went to a temporary file (for the statistics)

    def buffer(self, client: str) -> SpillBuffer:
        return SpillBuffer(self, client)


class ChunkReader:
    """A read-only, forward-only file over received pieces: ``read(n)`` returns at most ``n`` bytes, a whole
    received piece when it fits (no copy), and ``b""`` at the end."""

    def __init__(self, chunks: deque[bytes]) -> None:
        self._chunks = chunks

    def read(self, size: int = -1) -> bytes:
        chunks = self._chunks
        if not chunks:
            return b""
        if size is None or size < 0:
            data = b"".join(chunks)
            chunks.clear()
            return data
        first = chunks[0]
        if len(first) <= size:
            return chunks.popleft()
        chunks[0] = first[size:]
        return first[:size]

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._chunks.clear()


class SplitReader(ChunkReader):
    """The pieces kept in memory, then the rest of the body from its temporary file."""

    def __init__(self, chunks: deque[bytes], file) -> None:
        super().__init__(chunks)
        self._file = file

    def read(self, size: int = -1) -> bytes:
        if self._chunks:
            if size is None or size < 0:
                return super().read(-1) + self._file.read()
            return super().read(size)
        return self._file.read(size)


class SpillBuffer:
    """The body buffer waitress's stream receivers append to (the part of waitress's buffer interface they
    use: ``append``, ``len``, ``getfile``, ``close``). ``refused`` is set (and further bytes dropped) when
    the body may not grow: the parser then answers ``503``."""

    def __init__(self, guard: BodyGuard, client: str) -> None:
        self.guard = guard
        self.client = client
        self.refused: str | None = None
        self._chunks: deque[bytes] = deque()
        self._size = 0
        self._charged = 0
        self._memory: BudgetHold = guard.memory.hold()
        self._file = None
        self._closed = False

    def reserve(self, size: int) -> bool:
        """Charge a body of ``size`` bytes (its declared length) before it arrives; False when refused."""
        self._charge(size)
        return self.refused is None

    def _charge(self, size: int) -> None:
        need = max(0, size - self.guard.in_flight.free_each) - self._charged
        if need > 0 and self.refused is None:
            reason = self.guard.in_flight.take(self.client, need)
            if reason is None:
                self._charged += need
            else:
                self.refused = reason

    def append(self, data: bytes) -> None:
        if not data or self.refused is not None or self._closed:
            return
        if not isinstance(data, bytes):
            data = bytes(data)
        size = self._size + len(data)
        self._charge(size)
        if self.refused is not None:
            return
        if self._file is None and size <= self.guard.memory_per_request and self._memory.grow(size):
            self._chunks.append(data)
        else:  # what is in memory stays there (within the bounds); the rest goes to the file
            if self._file is None:
                self._file = tempfile.TemporaryFile(dir=self.guard.spool_dir, prefix="body-")
                self.guard.spilled += 1
            self._file.write(data)
        self._size = size

    @property
    def spilled(self) -> bool:
        return self._file is not None

    def __len__(self) -> int:
        return self._size

    def __bool__(self) -> bool:
        return self._size > 0

    def getfile(self):
        if self._file is not None:
            self._file.flush()
            self._file.seek(0, os.SEEK_SET)
            return SplitReader(self._chunks, self._file) if self._chunks else self._file
        return ChunkReader(self._chunks)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._chunks.clear()
        self._memory.release()
        if self._file is not None:
            try:
                self._file.close()
            except OSError:
                pass
        charged, self._charged = self._charged, 0
        if charged:
            self.guard.in_flight.give(self.client, charged)

