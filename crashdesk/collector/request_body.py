"""Holding a request body as waitress receives it: the received ``bytes`` objects in a list.

waitress's own body buffer writes each received piece into a ``BytesIO``, which grows by reallocating
(copying everything so far) on most appends, and the application then copies the body out again; for a
1 MB dump arriving in 64 KiB pieces that is several megabytes of copying per submission, on the server's
single I/O thread. :class:`ChunkBuffer` keeps the pieces as they are and :class:`ChunkReader` hands them
to the application without copying them. The body stays in memory, as it did with waitress's buffer under
the collector's settings (``inbuf_overflow`` above the request size limit).
"""

from __future__ import annotations

from collections import deque


class ChunkReader:
    """A read-only, forward-only file over a :class:`ChunkBuffer`: ``read(n)`` returns at most ``n``
    bytes, a whole received piece when it fits (no copy), and ``b""`` at the end."""

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


class ChunkBuffer:
    """The body buffer waitress's stream receivers append to (the part of waitress's buffer interface
    they use: ``append``, ``len``, ``getfile``, ``close``)."""

    def __init__(self) -> None:
        self._chunks: deque[bytes] = deque()
        self._size = 0

    def append(self, data: bytes) -> None:
        if data:
            self._chunks.append(bytes(data) if not isinstance(data, bytes) else data)
            self._size += len(data)

    def __len__(self) -> int:
        return self._size

    def __bool__(self) -> bool:
        return self._size > 0

    def getfile(self) -> ChunkReader:
        return ChunkReader(self._chunks)

    def close(self) -> None:
        self._chunks.clear()
        self._size = 0
