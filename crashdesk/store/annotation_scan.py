"""One annotation key's column read as a whole, for ``LIKE`` searches over every crash (issue 27).

``annotation_columns`` keeps a key's values as compressed JSON arrays of up to 1,024 crashes each. Decoding
those into Python strings costs ~0.12 µs a value and testing them one by one as much again (~210 ms for the
~1,000,000 URLs of ``benchmarks/bench_store.py``'s 1M store). A :class:`Column` instead keeps the decompressed
JSON of every chunk in one buffer and reads it with numpy: in a chunk without a backslash (no value holds ``"``,
``\\`` or a control character, so nothing is escaped) every ``"`` opens or closes a value and the bytes between
are the value's own UTF-8, so the quotes' positions say where each value lies, and the gaps between them how
many ``null`` elements (crashes without a value) come in between. A search then finds the needle's candidate
positions with a few vectorized byte comparisons (ASCII letters folded as ``LIKE`` folds them) and maps them to
values with a binary search over those positions. Chunks holding a backslash are decoded with orjson and tested
value by value (:func:`like_test`), as are chunks whose layout is not the one expected.

:class:`ColumnCache` keeps the columns of recently searched keys, up to a number of bytes; a column is used
again only while every chunk row of its key is byte for byte the one it was built from (the rows are read again
at each search, ~2 ms for 1,000 chunks), so any write is seen. When only the key's last chunks changed (new
crashes), the unchanged front is kept and only the rest is decoded.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import orjson
import zstandard

from crashdesk.store import codec

_QUOTE = 0x22
_ORDER = {">": np.greater, ">=": np.greater_equal, "<": np.less, "<=": np.less_equal}
_NULL_GAP = len(b"null,")  # the bytes each null element adds between two values
_FOLD = bytes(range(256)).translate(bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", b"abcdefghijklmnopqrstuvwxyz"))


def like_needle(value: str) -> bytes:
    """The bytes ``LIKE`` looks for: ``value`` up to its first NUL, as UTF-8, ASCII letters lowered."""
    return value.split("\x00", 1)[0].encode().translate(_FOLD)


def like_test(op: str, needle: bytes):
    """The test of one stored value for ``~``/``^``/``$``/``=`` ``needle`` (:func:`like_needle`), as SQLite's
    ``LIKE`` reads it: up to its first NUL, ASCII letters in either case."""
    if op == "~":
        return lambda v: needle in v.split("\x00", 1)[0].encode().translate(_FOLD)
    if op == "^":
        return lambda v: v.split("\x00", 1)[0].encode().translate(_FOLD).startswith(needle)
    if op == "$":
        return lambda v: v.split("\x00", 1)[0].encode().translate(_FOLD).endswith(needle)
    return lambda v: v.split("\x00", 1)[0].encode().translate(_FOLD) == needle  # "=": LIKE without a wildcard


class Column:
    """One key's chunks (rows ``(first, last, vals)`` in ``first`` order) decoded for :func:`like`. With
    ``base``, a column of the same key built before: the chunks it shares with ``rows`` from the start are taken
    from it, and only the others decoded (new crashes change a key's last chunks)."""

    def __init__(self, rows: Sequence[tuple[int, int, bytes]], base: Column | None = None) -> None:
        self.rows = list(rows)
        shared = 0
        if base is not None:
            for old, new in zip(base.rows, self.rows, strict=False):
                if old != new:
                    break
                shared += 1
        if base is None or not shared:
            self._build()
            return
        tail = Column(self.rows[shared:])
        kept = int(np.searchsorted(base.clean, shared))  # base's clean chunks among the shared ones
        end = int(base.text_ends[kept - 1]) if kept else 0
        quotes = int(np.searchsorted(base.quotes, end))
        self.text = base.text[:end] + tail.text
        self.quotes = np.concatenate((base.quotes[:quotes], tail.quotes + end))
        self.firsts = np.concatenate((base.firsts[:kept], tail.firsts))
        self.lead = np.concatenate((base.lead[:kept], tail.lead + quotes // 2))
        self.crashes = None
        if base.crashes is not None or tail.crashes is not None:
            values = quotes // 2
            self.crashes = np.concatenate((base.crash_of(np.arange(values)),
                                           tail.crash_of(np.arange(len(tail.quotes) // 2))))
        self.text_ends = np.concatenate((base.text_ends[:kept], tail.text_ends + end))
        self.clean = np.concatenate((base.clean[:kept], tail.clean + shared))
        firsts = {first for first, _, _ in self.rows[:shared]}
        self.decoded = [(first, values) for first, values in base.decoded if first in firsts] + tail.decoded
        self._finish(base.decoded_bytes + tail.decoded_bytes)

    def _build(self) -> None:
        whole, ends = _decompress([blob for _, _, blob in self.rows])
        starts = ends - np.diff(ends, prepend=0)
        escaped = _holding(whole, ends, b"\\")
        clean = [i for i in range(len(self.rows)) if i not in escaped]
        layout = _layout(self.rows, whole, starts, ends, clean)
        if layout is None:  # a chunk not laid out as expected: find which, decode those with orjson
            clean = [i for i in clean if _layout(self.rows, whole, starts, ends, [i]) is not None]
            layout = _layout(self.rows, whole, starts, ends, clean)
            assert layout is not None
        self.text, self.quotes, self.firsts, self.lead, self.crashes = layout
        self.clean = np.asarray(clean, dtype=np.int64)  # the rows in text
        self.text_ends = np.cumsum((ends - starts)[clean]) if clean else np.zeros(0, dtype=np.int64)
        taken = set(clean)
        # (first, values) of the chunks searched value by value
        self.decoded = [(self.rows[i][0], orjson.loads(whole[starts[i]:ends[i]]))
                        for i in range(len(self.rows)) if i not in taken]
        self._finish(sum(int(ends[i] - starts[i]) * 2 for i in range(len(self.rows)) if i not in taken))

    def _finish(self, decoded_bytes: int) -> None:
        self.decoded_bytes = decoded_bytes  # about what the decoded chunks' values take
        self.bytes = np.frombuffer(self.text, dtype=np.uint8)
        self.frequency = np.bincount(self.bytes[::61], minlength=256)
        self.nbytes = (len(self.text) + self.quotes.nbytes + (0 if self.crashes is None else self.crashes.nbytes)
                       + sum(len(blob) + 64 for _, _, blob in self.rows) + decoded_bytes)

    def like(self, op: str, needle: bytes) -> np.ndarray:
        """Row ids of the crashes whose value holds (``~``), starts with (``^``) or ends with (``$``) the
        non-empty ``needle`` (:func:`like_needle`), ascending (int64)."""
        found = self._like_clean(op, needle)
        if self.decoded:
            test = like_test(op, needle)
            extra = [first + i for first, values in self.decoded for i, v in enumerate(values)
                     if v is not None and test(v)]
            if extra:
                found = np.union1d(found, np.asarray(extra, dtype=np.int64))
        return found.astype(np.int64, copy=False)

    def present(self) -> np.ndarray:
        """Row ids of the crashes with a value, ascending (int64)."""
        found = self.crash_of(np.arange(len(self.quotes) // 2))
        more = [first + i for first, values in self.decoded for i, v in enumerate(values) if v is not None]
        if more:
            found = np.union1d(found, np.asarray(more, dtype=np.int64))
        return found.astype(np.int64, copy=False)

    def ordered(self, op: str, bound: float, plain: re.Pattern, accepted_by_sql) -> np.ndarray:
        """Row ids of the crashes whose value, a plain digit string (``plain``: 1 to 15 digits, which a float
        holds exactly), is ``op`` (``>``, ``>=``, ``<``, ``<=``) ``bound``, or, any other value, is among those
        ``accepted_by_sql`` (called once with the set of them) accepts; ascending (int64)."""
        compare = _ORDER[op]
        opens, closes = self.quotes[0::2], self.quotes[1::2]
        lengths = closes - opens - 1
        keep = np.zeros(len(opens), dtype=bool)
        numeric = np.zeros(len(opens), dtype=bool)
        counts = np.bincount(np.minimum(lengths, 16), minlength=17) if len(lengths) else np.zeros(17, dtype=np.int64)
        for size in range(1, 16):
            if not counts[size]:
                continue
            value = np.flatnonzero(lengths == size)
            start = opens[value] + 1
            number = np.zeros(len(value), dtype=np.int64)
            ok = np.ones(len(value), dtype=bool)
            for at in range(size):  # digit by digit: a byte below "0" wraps round, past 9
                digit = self.bytes[start + at] - np.uint8(0x30)
                ok &= digit <= 9
                number *= 10
                number += digit
            value, number = value[ok], number[ok]
            numeric[value] = True
            keep[value] = compare(number.astype(np.float64), bound)
        other = np.flatnonzero(~numeric).tolist()
        texts = [self.text[o + 1:c].decode() for o, c in zip(opens[other].tolist(), closes[other].tolist(),
                                                             strict=True)]
        decoded = [(first + i, v) for first, values in self.decoded for i, v in enumerate(values) if v is not None]
        numbers = {v for _, v in decoded if plain.match(v)}
        rest = {*texts, *(v for _, v in decoded if v not in numbers)}
        accepted = accepted_by_sql(rest) if rest else set()
        if other:
            keep[other] = [v in accepted for v in texts]
        found = self.crash_of(np.flatnonzero(keep))
        more = [crash for crash, v in decoded if (_ORDER[op](float(v), bound) if v in numbers else v in accepted)]
        if more:
            found = np.union1d(found, np.asarray(more, dtype=np.int64))
        return found.astype(np.int64, copy=False)

    def _like_clean(self, op: str, needle: bytes) -> np.ndarray:
        size = len(needle)
        if not len(self.quotes) or any(b == _QUOTE or b == 0x5C or b < 0x20 for b in needle):
            return np.zeros(0, dtype=np.int64)  # a value holding one of those is escaped: not in this text
        # a value starts just after its opening quote and ends at its closing one: the quote, compared with the
        # needle's bytes, leaves out most places that are not at a value's start (^) or end ($)
        if op == "^":
            at = _find(self.bytes, b'"' + needle, self.frequency, 0) + 1
        elif op == "$":
            at = _find(self.bytes, needle + b'"', self.frequency, size)
        else:
            at = _find(self.bytes, needle, self.frequency)
        # the quote after each match: a closing one (odd index) when the match is inside a value (a needle has
        # no quote, so a match never holds one)
        after = np.searchsorted(self.quotes, at, side="right")
        inside = after % 2 == 1
        after, at = after[inside], at[inside]
        keep = self.quotes[after] >= at + size
        if op == "^":
            keep &= self.quotes[after - 1] + 1 == at
        elif op == "$":
            keep &= self.quotes[after] == at + size
        value = after[keep] // 2
        if len(value) > 1:
            value = value[np.concatenate(([True], value[1:] != value[:-1]))]
        return self.crash_of(value)

    def crash_of(self, value: np.ndarray) -> np.ndarray:
        """The crash row ids of values (numbered in text order)."""
        if self.crashes is not None:
            return self.crashes[value]
        chunk = np.searchsorted(self.lead, value, side="right") - 1
        return self.firsts[chunk] + (value - self.lead[chunk])


_BLOCK = 1 << 18  # bytes compared at a time: the comparison's result stays in the CPU's cache (~35% faster)


def _find(data: np.ndarray, needle: bytes, frequency: np.ndarray, first: int | None = None) -> np.ndarray:
    """Start positions of ``needle`` (ASCII letters lowered) in ``data``, ASCII letters of either case: the places
    where the needle's (up to) three rarest bytes (by ``frequency``; its byte ``first`` always among them) are,
    found by comparing the data a block at a time, then the whole needle compared at those places."""
    size = len(needle)
    span = len(data) - size + 1
    if span <= 0:
        return np.zeros(0, dtype=np.int64)
    # a lowered letter b matches x exactly when x | 0x20 == b (x is b or its capital); other bytes as they are
    folds = np.array([0x20 if 0x61 <= b <= 0x7A else 0 for b in needle], dtype=np.uint8)
    rare = sorted(range(size), key=lambda i: frequency[needle[i]] + (frequency[needle[i] - 0x20] if folds[i] else 0))
    if first is not None:
        rare.remove(first)
        rare.insert(0, first)
    tests = [(k, needle[k], int(folds[k])) for k in rare[:3]]
    want = np.frombuffer(needle, dtype=np.uint8)
    windows = np.lib.stride_tricks.as_strided(data, shape=(span, size), strides=(1, 1), writeable=False)
    width = min(_BLOCK, span)
    found, same, folded = np.empty(width, dtype=bool), np.empty(width, dtype=bool), np.empty(width, dtype=np.uint8)
    parts = []
    for start in range(0, span, _BLOCK):
        stop = min(start + _BLOCK, span)
        into = found[:stop - start]
        for n, (k, byte, fold) in enumerate(tests):
            block = data[start + k:stop + k]
            if fold:
                block = np.bitwise_or(block, fold, out=folded[:stop - start])
            if n == 0:
                np.equal(block, byte, out=into)
            else:
                np.logical_and(into, np.equal(block, byte, out=same[:stop - start]), out=into)
        at = np.flatnonzero(into)
        if len(at):
            at += start
            if size > len(tests):
                at = at[((windows[at] | folds) == want).all(axis=1)]
            parts.append(at)
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def _positions(data: np.ndarray, byte: int) -> np.ndarray:
    """The positions of ``byte`` in ``data``, ascending (compared a block at a time)."""
    mask = np.empty(min(_BLOCK, len(data)), dtype=bool)
    parts = []
    for start in range(0, len(data), _BLOCK):
        block = data[start:start + _BLOCK]
        at = np.flatnonzero(np.equal(block, byte, out=mask[:len(block)]))
        if len(at):
            parts.append(at + start)
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def _decompress(blobs: list[bytes]) -> tuple[bytes, np.ndarray]:
    """The chunks' JSON texts joined, and where each ends: plain zstd frames of known sizes (what
    :func:`codec.compress` writes without a dictionary) in one call over all of them, anything else one by one
    through :func:`codec.decompress`."""
    sizes = []
    for blob in blobs:
        try:
            params = zstandard.get_frame_parameters(blob)
        except zstandard.ZstdError:
            params = None
        if params is None or params.dict_id or not 0 <= params.content_size <= codec.MAX_DOCUMENT:
            break
        sizes.append(params.content_size)
    else:
        try:
            whole = zstandard.ZstdDecompressor().decompressobj(read_across_frames=True).decompress(
                b"".join(blobs))
        except zstandard.ZstdError:
            whole = b""
        if len(whole) == sum(sizes):
            return whole, np.cumsum(np.asarray(sizes, dtype=np.int64))
    texts = [codec.decompress(blob) for blob in blobs]  # raises CorruptDocument for a bad one
    return b"".join(texts), np.cumsum(np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)))


def _holding(whole: bytes, ends: np.ndarray, what: bytes) -> set[int]:
    """The chunks whose text holds ``what``."""
    out: set[int] = set()
    at = whole.find(what)
    while at >= 0:
        chunk = int(np.searchsorted(ends, at, side="right"))
        out.add(chunk)
        at = whole.find(what, int(ends[chunk]))
    return out


class _Layout(NamedTuple):
    text: bytes  # the chunks' JSON texts, joined
    quotes: np.ndarray  # the positions of the quotes in text: each value's opening one, then its closing one
    firsts: np.ndarray  # each chunk's first crash row id
    lead: np.ndarray  # the number of each chunk's first value (values numbered in text order)
    crashes: np.ndarray | None  # each value's crash row id; None when every chunk is all values (no nulls)


def _layout(rows: Sequence[tuple[int, int, bytes]], whole: bytes, all_starts: np.ndarray, all_ends: np.ndarray,
            chosen: list[int]) -> _Layout | None:
    """The texts of chunks ``chosen`` (none holding a backslash) joined and read: None when a chunk is not a JSON
    array of ``last - first + 1`` strings and nulls laid out as orjson writes them."""
    if len(chosen) == len(rows):
        text = whole
    else:
        text = b"".join(whole[all_starts[i]:all_ends[i]] for i in chosen)
    data = np.frombuffer(text, dtype=np.uint8)
    lengths = (all_ends - all_starts)[chosen]
    ends = np.cumsum(lengths)
    starts = ends - lengths
    quotes = _positions(data, _QUOTE)
    per_chunk = np.diff(np.searchsorted(quotes, ends), prepend=0)
    strings = per_chunk // 2
    lead = np.cumsum(strings) - strings  # the number of each chunk's first value
    firsts = np.fromiter((rows[i][0] for i in chosen), dtype=np.int64, count=len(chosen))
    sizes = np.fromiter((rows[i][1] - rows[i][0] + 1 for i in chosen), dtype=np.int64, count=len(chosen))
    if np.any(per_chunk % 2) or np.any(strings > sizes):
        return None
    if len(chosen) and (np.any(data[starts] != ord("[")) or np.any(data[ends - 1] != ord("]"))):
        return None
    if np.array_equal(strings, sizes):  # a value for every crash: '["...","...",...]'
        return _Layout(text, quotes, firsts, lead, None)
    opens, closes = quotes[0::2], quotes[1::2]
    has = strings > 0
    chunk = np.repeat(np.arange(len(chosen)), strings)  # each value's chunk
    # before a value: "[" (its chunk's first) or "," after the value before it, then a "null," per null
    before = np.zeros_like(opens)
    if len(opens):
        before[1:] = closes[:-1] + 1
        before[lead[has]] = starts[has]
    gap = opens - before - 1
    if np.any(gap < 0) or np.any(gap % _NULL_GAP):
        return None
    nulls = gap // _NULL_GAP
    seen = np.cumsum(nulls) - nulls  # nulls before each value's own gap, counted over all chunks
    index = np.arange(len(opens)) - lead[chunk] + seen - seen[lead[chunk]] + nulls  # its place in its chunk
    # after a chunk's last value: a ",null" per null, then "]" (a chunk without values: "[null,...,null]")
    tail = starts.copy()
    tail[has] = closes[(lead + strings - 1)[has]]
    trailing = ends - tail - 2 + ~has  # '"...",null,null]': 2 x 5 bytes; '[null,null]': 5 x 2 - 1 bytes
    if np.any(trailing < 0) or np.any(trailing % _NULL_GAP):
        return None
    total = strings + np.bincount(chunk, weights=nulls, minlength=len(chosen)).astype(np.int64) + \
        trailing // _NULL_GAP
    if np.any(total != sizes):
        return None
    if len(opens) and (np.any((data[opens - 1] != ord(",")) & (data[opens - 1] != ord("[")))
                       or np.any((data[closes + 1] != ord(",")) & (data[closes + 1] != ord("]")))):
        return None
    return _Layout(text, quotes, firsts, lead, firsts[chunk] + index)


class ColumnCache:
    """The :class:`Column` of recently searched keys, at most ``limit`` bytes of them, least recent dropped. A
    column is checked against its key's rows again when anything was written since it last was (SQLite's
    ``data_version`` for other connections, ``total_changes`` for this one)."""

    def __init__(self, limit: int = 128 << 20) -> None:
        self.limit = limit
        self.columns: OrderedDict[str, tuple[tuple[int, int], Column]] = OrderedDict()

    def get(self, conn, key: str) -> Column:
        state = (conn.execute("PRAGMA data_version").fetchone()[0], conn.total_changes)
        held = self.columns.pop(key, None)
        if held is not None and held[0] == state:
            column = held[1]
        else:
            rows = conn.execute("SELECT first, last, vals FROM annotation_columns WHERE key = ? ORDER BY first",
                                (key,)).fetchall()
            column = held[1] if held is not None and held[1].rows == rows else \
                Column(rows, held[1] if held is not None else None)
        if column.nbytes <= self.limit:
            self.columns[key] = (state, column)
            total = sum(c.nbytes for _, c in self.columns.values())
            while total > self.limit:
                total -= self.columns.popitem(last=False)[1][1].nbytes
        return column
