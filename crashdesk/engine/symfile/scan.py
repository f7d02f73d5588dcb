"""One pass over a Breakpad ``.sym`` file that builds the sorted lookup arrays of its index.

The scan runs a single compiled regular expression over the whole file (memory-mapped). The expression only
*produces a match* for the records an index needs to find again (``FUNC``, ``PUBLIC``, ``STACK CFI INIT``,
``STACK WIN``, ``FILE``, ``INLINE_ORIGIN``, ``INFO``) and for malformed lines; well-formed line records,
``INLINE`` records and ``STACK CFI`` deltas -- the bulk of a big file -- are stepped over inside the regex
engine and never become Python objects. The index stores, per record kind, sorted arrays of addresses and the
byte offsets of the record's text; the text itself is parsed lazily, one record (or one function's block of
line records) at a time, when a lookup needs it.
"""

from __future__ import annotations

import mmap
import operator
import os
import re
import sys
from array import array
from functools import cache
from itertools import islice

from crashdesk.engine.record_class import Record
from crashdesk.engine.symfile.indexfile import ARRAY_NAMES
from crashdesk.engine.symfile.module_info import ModuleInfo, parse_module_line

# Field widths as rust-minidump's parser reads them: a u64 is at most 16 hex digits, a u32 at most 8 (a longer
# run of digits is a parse error there, whatever its value), a decimal u32 at most 10 digits whose value fits.
# The pattern takes decimals of up to 9 digits as valid (``_D9E``); a line with a 10-digit one is a malformed-line
# match that the scan loop checks again (:func:`_valid_wide_line`): the pattern is half as long to compile as
# with every u32 range spelled out (~1 ms of each process that builds an index).
_H64 = rb"[0-9a-fA-F]{1,16}+"
_H32 = rb"[0-9a-fA-F]{1,8}+"
_D9E = rb"[0-9]{1,9}+(?![0-9])"
_D10 = rb"[0-9]{1,10}+(?![0-9])"
_D9 = rb"[0-9]{1,9}+"  # a decimal that surely fits a u32 (the fast paths; 10-digit values take the slow one)
U32_MAX = 0xFFFFFFFF
# A line record in its usual spelling (no CR, decimals of at most 9 digits). The fast paths take hex digits of
# either case, as the slow path does: ``[0-9a-fA-F]`` compiles to one bitmap test per character, ``[0-9a-f]`` to
# two range tests (4% fewer instructions for libc's file), and a line either path accepts is no record.
_FAST_LINE = rb"\n" + _H64 + rb" " + _H32 + rb" " + _D9 + rb" " + _D9

# Group numbers matter: the scan dispatches on ``match.lastindex``. The grammar follows what rust-minidump's
# parser accepts (minidump-stackwalk rejects a whole file over one line it cannot parse, so "malformed" here
# means the same thing): unsigned decimal line numbers, any number of CRs before the LF, all STACK WIN fields,
# and every numeric field within its width (above). Sub-lines not consumed with their FUNC / STACK CFI INIT
# record (other spellings, CRs, wide values) are checked one by one by the last alternative, so both routes
# accept the same lines. FILE and INLINE_ORIGIN ids are range-checked by the scan loop.
_RECORD_PATTERN = (
    rb"\n(?:"
    rb"FUNC (?:m )?(" + _H64 + rb") (" + _H32 + rb") " + _H32 + rb"(?![0-9a-fA-F]) ?[^\n]*"  # 1, 2
    # ... and, in the same match, the block's line and INLINE records in their usual spelling (the bulk of a
    # file: consuming them here is much cheaper than visiting each as a match candidate). Line records go two
    # at a time where they can (one lookahead per pair: 11% fewer instructions for libc's lines); a pair whose
    # second line runs on past its fields fails whole, and the single-line alternative takes the first.
    rb"(?:(?:" + _FAST_LINE + _FAST_LINE + rb")++(?=\n)|" + _FAST_LINE + rb"(?=\n)"
    rb"|\nINLINE " + _D9 + rb" " + _D9 + rb" " + _D9 + rb" " + _D9
    + rb"(?: " + _H64 + rb" " + _H32 + rb")++(?=\n))*+"
    rb"|(?:STACK CFI INIT (" + _H64 + rb") (" + _H32 + rb") [^\n]*(?:\nSTACK CFI " + _H64
    + rb" [^\n]*+)*+)"  # 3, 4
    rb"|(?:PUBLIC (?:m )?(" + _H64 + rb") " + _H32 + rb"(?![0-9a-fA-F]) ?[^\n]*)"  # 5
    rb"|(?:STACK WIN ([0-9a-fA-F]) (" + _H64 + rb") (" + _H32 + rb")(?: " + _H32 + rb"){6} ([0-9]) [^\n]*)"
    # 6 type, 7 address, 8 size, 9 has_program_string
    rb"|(?:FILE ([0-9]{1,10}+) [^\n]*)"  # 10
    rb"|(?:INLINE_ORIGIN ([0-9]{1,10}+) [^\n]*)"  # 11
    rb"|(INFO [^\n]*)"  # 12
    # 13: anything else that is not a well-formed line record, INLINE, STACK CFI delta or blank line. The
    # first alternative is the common spelling of a line record (no CR, short decimals), checked cheaply.
    rb"|((?!" + _H64 + rb" " + _H32 + rb" " + _D9 + rb" " + _D9 + rb"(?![^\n])"
    rb"|" + _H64 + rb" " + _H32 + rb" " + _D9E + rb" " + _D9E + rb"\r*(?![^\n])"
    rb"|INLINE " + _D9E + rb" " + _D9E + rb" " + _D9E + rb" " + _D9E + rb"(?: " + _H64 + rb" " + _H32
    + rb"(?![0-9a-fA-F]))+\r*(?![^\n])"
    rb"|STACK CFI " + _H64 + rb" |\r*(?![^\n]))[^\n]*)"
    rb")"
)
_BAD = 13
# A line record or INLINE with 10-digit decimals, which group 13 reports: well-formed when every value fits a u32.
_WIDE_PATTERN = (
    rb"(?:" + _H64 + rb" " + _H32 + rb" (" + _D10 + rb") (" + _D10 + rb")"
    rb"|INLINE (" + _D10 + rb") (" + _D10 + rb") (" + _D10 + rb") (" + _D10 + rb")(?: " + _H64 + rb" " + _H32
    + rb"(?![0-9a-fA-F]))+)\r*"
)


@cache
def _wide_re() -> re.Pattern[bytes]:
    return re.compile(_WIDE_PATTERN)  # only in a scan that meets a malformed-looking line


def _valid_wide_line(line: bytes) -> bool:
    """Whether a line that group 13 matched is a well-formed line record or INLINE after all: one whose decimal
    fields have 10 digits, each value within a u32."""
    m = _wide_re().fullmatch(line)
    return m is not None and all(int(x) <= U32_MAX for x in m.groups() if x is not None)


def _example(m: re.Match, kind: int) -> tuple[int, str]:
    """(offset, text) of a malformed line, for the scan's first few examples."""
    return (m.start() + 1, m.group(kind)[:120].decode("utf-8", "replace") if kind == _BAD
            else m.group(0)[1:121].decode("utf-8", "replace"))


def _malformed(m: re.Match) -> bool | None:
    """For a match that is not a FUNC or STACK CFI INIT record: True for a malformed line, None for a line that is
    no record at all (a well-formed line with 10-digit decimals), False for the other records."""
    kind = m.lastindex
    if kind == _BAD:
        return None if _valid_wide_line(m.group(_BAD)) else True
    if kind == 10 or kind == 11:
        return int(m.group(kind)) > U32_MAX
    return False


@cache
def _record_re() -> re.Pattern[bytes]:
    """The compiled grammar: ~6 ms to compile, so only in a process that scans a file (stackwalks that map a
    built index never do)."""
    return re.compile(_RECORD_PATTERN)


def prepare() -> None:
    """Compile the grammar now, ahead of the first scan (a worker process does it while it waits for work)."""
    _record_re()


NO_END = (1 << 64) - 1


# Groups of arrays that are sorted together, by their first member.
SORT_GROUPS = (
    ("func_addr", "func_size", "func_off", "func_end"),
    ("pub_addr", "pub_off"),
    ("cfi_addr", "cfi_size", "cfi_off", "cfi_end"),
    ("win4_addr", "win4_size", "win4_off"),
    ("win0_addr", "win0_size", "win0_off"),
    ("winx_addr", "winx_size", "winx_off"),
    ("file_id", "file_off"),
    ("origin_id", "origin_off"),
)


class ScanResult(Record, slots=True):
    module: ModuleInfo
    arrays: dict[str, array]
    malformed_lines: int
    malformed_examples: list[str]
    workers: int = 1
    worker_peak_rss_kb: int = 0  # sum of the worker processes' peaks (0 when scanned in this process)


def _apply_info(module: ModuleInfo, line: bytes) -> bool:
    """Fold one ``INFO`` line into ``module``; False when it is not a known INFO record."""
    text = line.rstrip(b"\r").decode("utf-8", "replace")
    parts = text.split(" ", 2)
    if len(parts) < 3:
        return False
    kind, rest = parts[1], parts[2]
    if kind == "CODE_ID":
        code = rest.split(" ", 1)
        module.code_id = code[0]
        if len(code) > 1:
            module.code_file = code[1]
        return True
    if kind == "GENERATOR":
        module.generator = rest
        return True
    if kind == "URL":
        module.urls.append(rest)
        return True
    return True  # unknown INFO kinds are allowed by the format


PARALLEL_MIN_BYTES = 48 * 1024 * 1024  # below this one process is quicker than starting workers
_CHUNK_MIN = 16 * 1024 * 1024


class _Partial(Record, slots=True):
    """The records of one byte range, in file order. An open block at the range's end has ``NO_END``."""

    arrays: dict[str, array]
    malformed: int
    examples: list[tuple[int, str]]  # (offset of the line, its text)
    infos: list[bytes]
    first_record: int  # offset of the first non-malformed record match (its ``\n``), or -1
    first_func_closer: int  # the same, not counting INLINE_ORIGIN (which may sit inside a FUNC block)
    last_kind: int
    last_start: int
    peak_rss_kb: int = 0  # the worker process's peak, when scanned in one


def _scan_range(data, start: int, end: int) -> _Partial:
    arrays = {name: array("Q") for name in ARRAY_NAMES}
    func_addr, func_size, func_off, func_end = (arrays[n].append for n in SORT_GROUPS[0])
    pub_addr, pub_off = (arrays[n].append for n in SORT_GROUPS[1])
    cfi_addr, cfi_size, cfi_off, cfi_end = (arrays[n].append for n in SORT_GROUPS[2])
    file_id, file_off = arrays["file_id"].append, arrays["file_off"].append
    origin_id, origin_off = arrays["origin_id"].append, arrays["origin_off"].append
    win = {
        4: (arrays["win4_addr"].append, arrays["win4_size"].append, arrays["win4_off"].append),
        0: (arrays["win0_addr"].append, arrays["win0_size"].append, arrays["win0_off"].append),
    }
    winx = (arrays["winx_addr"].append, arrays["winx_size"].append, arrays["winx_off"].append)

    malformed = 0
    examples: list[tuple[int, str]] = []
    infos: list[bytes] = []
    open_func = False  # a FUNC block waits for its end offset
    open_cfi = False
    last = None  # the last match that is a record or a malformed line
    for m in _record_re().finditer(data, start, end):
        kind = m.lastindex
        # Any record but a malformed line ends an open block (an INLINE_ORIGIN may sit inside a FUNC block).
        if kind == 2:
            pos = m.start()
            if open_func:
                func_end(pos)
            if open_cfi:
                cfi_end(pos)
                open_cfi = False
            func_addr(int(m[1], 16))  # m[i]: half the cost of m.group(i, j) and unpacking its tuple
            func_size(int(m[2], 16))
            func_off(pos + 1)
            open_func = True
            last = m
        elif kind == 4:
            pos = m.start()
            if open_cfi:
                cfi_end(pos)
            if open_func:
                func_end(pos)
                open_func = False
            cfi_addr(int(m[3], 16))
            cfi_size(int(m[4], 16))
            cfi_off(pos + 1)
            open_cfi = True
            last = m
        elif kind == 10 or kind == 11:  # FILE, INLINE_ORIGIN (what _malformed checks, without a call)
            ident = int(m[kind])
            last = m
            if ident > U32_MAX:
                malformed += 1
                if len(examples) < 5:
                    examples.append(_example(m, kind))
                continue
            pos = m.start()
            if open_cfi:
                cfi_end(pos)
                open_cfi = False
            if kind == 10:
                if open_func:
                    func_end(pos)
                    open_func = False
                file_id(ident)
                file_off(pos + 1)
            else:  # an INLINE_ORIGIN may sit inside a FUNC block
                origin_id(ident)
                origin_off(pos + 1)
        elif kind == _BAD:
            if _valid_wide_line(m[_BAD]):
                continue  # no record at all (a line record with 10-digit decimals that fit)
            last = m
            malformed += 1
            if len(examples) < 5:
                examples.append(_example(m, kind))
        else:
            last = m
            pos = m.start()
            if open_cfi:
                cfi_end(pos)
                open_cfi = False
            if open_func:
                func_end(pos)
                open_func = False
            if kind == 5:
                pub_addr(int(m[5], 16))
                pub_off(pos + 1)
            elif kind == 9:
                typ = int(m[6], 16)
                if (typ == 4) != (m[9] == b"1"):
                    continue  # type and program-string flag disagree: minidump-stackwalk drops the record
                add_addr, add_size, add_off = win.get(typ, winx)
                add_addr(int(m[7], 16))
                add_size(int(m[8], 16))
                add_off(pos + 1)
            else:
                infos.append(m[12])
    if open_func:
        func_end(NO_END)
    if open_cfi:
        cfi_end(NO_END)
    first_record = first_func_closer = -1
    for first in _record_re().finditer(data, start, end):  # where this range's first records start
        k = first.lastindex
        if k != 2 and k != 4 and _malformed(first) is not False:
            continue
        if first_record < 0:
            first_record = first.start()
        if k != 11:
            first_func_closer = first.start()
            break
    last_kind, last_start = (last.lastindex, last.start()) if last is not None else (0, -1)
    if last is not None and last_kind != 2 and last_kind != 4 and _malformed(last):
        last_kind = _BAD  # counted as malformed above
    return _Partial(arrays, malformed, examples, infos, first_record, first_func_closer, last_kind, last_start)


_WINDOW = 32 * 1024 * 1024


def _scan_windows(data, start: int, end: int) -> list[_Partial]:
    """Scan ``[start, end)`` in windows of about 32 MiB, letting go of each window's pages once it is done,
    so that a scan's resident memory stays small however big the file is (the pages stay in the OS cache)."""
    out = []
    a = start
    drop = getattr(data, "madvise", None) if hasattr(mmap, "MADV_DONTNEED") else None
    while a < end:
        b = data.find(b"\n", min(a + _WINDOW, end)) if a + _WINDOW < end else end
        if b < 0 or b > end:
            b = end
        out.append(_scan_range(data, a, b))
        if drop is not None:
            page = a - a % mmap.PAGESIZE
            try:
                drop(mmap.MADV_DONTNEED, page, b - page)
            except (OSError, ValueError):
                drop = None
        a = b
    return out or [_scan_range(data, start, end)]


def _scan_file_range(path: str, start: int, end: int) -> list[_Partial]:
    """Worker-process entry: map ``path`` and scan ``[start, end)``."""
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
        parts = _scan_windows(data, start, end)
    try:
        import resource

        parts[-1].peak_rss_kb = int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    except ImportError:  # not on Windows
        pass
    return parts


def _split_points(data, start: int, parts: int) -> list[int]:
    """``parts + 1`` boundaries, each at a ``\n`` (or the end), so that no line crosses a boundary."""
    n = len(data)
    points = [start]
    for k in range(1, parts):
        guess = start + (n - start) * k // parts
        nl = data.find(b"\n", guess)
        if nl < 0 or nl <= points[-1]:
            break
        points.append(nl)
    points.append(n)
    return points


def scan(data, path: str = "", workers: int | None = None) -> ScanResult:
    """Build the index arrays for the ``.sym`` bytes in ``data`` (bytes or an mmap).

    Files of at least :data:`PARALLEL_MIN_BYTES` are split at line boundaries and scanned by ``workers``
    processes (default: the CPU count, at most 8) when ``path`` names the file on disk.
    """
    first_nl = data.find(b"\n")
    head = data[: first_nl if first_nl >= 0 else len(data)]
    module = parse_module_line(head[:4096], path)
    if first_nl < 0:
        first_nl = len(data)

    n = len(data)
    if workers is None:
        workers = min(os.cpu_count() or 1, 8)
    workers = max(1, min(workers, (n - first_nl) // _CHUNK_MIN or 1))
    partials: list[_Partial] = []
    if path and workers > 1 and n >= PARALLEL_MIN_BYTES:
        partials = _scan_parallel(path, data, first_nl, workers)
    processes = len({id(p) for p in partials if p.peak_rss_kb}) or 1
    if not partials:
        partials = _scan_windows(data, first_nl, n)

    arrays, malformed, examples = _merge(partials, n)
    for p in partials:
        for info in p.infos:
            _apply_info(module, info)
    last = next((p for p in reversed(partials) if p.last_kind), None)
    if n > first_nl + 1 and data[-1:] != b"\n":
        unterminated = _drop_unterminated(data, arrays, last.last_kind if last else 0,
                                          last.last_start if last else -1)
        if unterminated and len(examples) < 5:
            tail = data.rfind(b"\n") + 1
            examples.append((tail, data[tail:tail + 100].decode("utf-8", "replace") + " (no line feed at the end)"))
        malformed += unterminated
    _finalize(arrays)
    return ScanResult(module=module, arrays=arrays, malformed_lines=malformed,
                      malformed_examples=_numbered(data, examples),
                      workers=processes, worker_peak_rss_kb=sum(p.peak_rss_kb for p in partials))


def _numbered(data, examples: list[tuple[int, str]]) -> list[str]:
    """``line N: text`` for each (offset, text) example, counting line feeds in bounded slices (one pass up to
    the last example, whatever the file's size)."""
    out = []
    line, pos = 1, 0
    for off, text in sorted(examples):
        while pos < off:
            end = min(off, pos + _CHUNK_MIN)
            line += data[pos:end].count(b"\n")
            pos = end
        out.append(f"line {line}: {text}")
    return out


def _scan_parallel(path: str, data, start: int, workers: int) -> list[_Partial]:
    """Scan ranges in worker processes; an empty list when workers cannot be used (then scan here)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    points = _split_points(data, start, workers)
    if len(points) < 3:
        return []
    try:
        import threading

        if os.name != "posix":
            method = "spawn"
        elif threading.active_count() == 1 and sys.platform.startswith("linux"):
            method = "fork"  # cheapest, and safe without other threads
        else:
            method = "forkserver"
        if method != "fork" and getattr(sys, "frozen", False):
            return []  # a frozen app would start itself as the worker: scan in this process instead
        ctx = multiprocessing.get_context(method)
        with ProcessPoolExecutor(len(points) - 1, mp_context=ctx) as pool:
            futures = [pool.submit(_scan_file_range, path, a, b) for a, b in zip(points, points[1:], strict=False)]
            return [part for f in futures for part in f.result()]
    except (OSError, RuntimeError, ImportError, EOFError):  # BrokenProcessPool is a RuntimeError
        return []


def _merge(partials: list[_Partial], n: int) -> tuple[dict[str, array], int, list[tuple[int, str]]]:
    """Concatenate the ranges' arrays and close blocks left open at a range boundary."""
    if len(partials) == 1:
        p = partials[0]
        arrays = p.arrays
        for name in ("func_end", "cfi_end"):
            ends = arrays[name]
            if ends and ends[-1] == NO_END:
                ends[-1] = n
        return arrays, p.malformed, p.examples
    arrays = {name: array("Q") for name in ARRAY_NAMES}
    malformed = 0
    examples: list[tuple[int, str]] = []
    for i, p in enumerate(partials):
        for name, attr in (("func_end", "first_func_closer"), ("cfi_end", "first_record")):
            ends = p.arrays[name]
            if ends and ends[-1] == NO_END:
                nxt = next((getattr(q, attr) for q in partials[i + 1:] if getattr(q, attr) >= 0), n)
                ends[-1] = nxt
        for name in ARRAY_NAMES:
            arrays[name].extend(p.arrays[name])
        malformed += p.malformed
        examples.extend(p.examples[: max(0, 5 - len(examples))])
    return arrays, malformed, examples


def _drop_unterminated(data, arrays: dict[str, array], last_kind: int, last_match: int) -> int:
    """Treat a last line without a line feed as rust-minidump does: it is a parse error, and the record or
    FUNC/CFI block it belongs to is lost. Returns 1 when the line was not already counted as malformed."""
    tail = data.rfind(b"\n") + 1
    counted = last_kind == _BAD and last_match + 1 == tail
    for group in SORT_GROUPS:
        offs = arrays[group[2] if len(group) == 4 else group[-1]]
        if not offs:
            continue
        if offs[-1] == tail or (len(group) == 4 and arrays[group[3]][-1] == len(data) and offs[-1] < tail):
            for name in group:
                arrays[name].pop()
    return 0 if counted else 1


def _reorder(arrays: dict[str, array], names: tuple[str, ...], order) -> None:
    if len(order) < 2:
        for name in names:
            old = arrays[name]
            arrays[name] = array("Q", [old[i] for i in order])
        return
    pick = operator.itemgetter(*order)  # one C-level pass per array
    for name in names:
        arrays[name] = array("Q", pick(arrays[name]))


def _sort_stable(arrays: dict[str, array], names: tuple[str, ...], key=None) -> None:
    """Sort the arrays in ``names`` by the first one (or ``key(i)``); equal keys keep file order."""
    keys = arrays[names[0]]
    if len(keys) < 2 or (key is None and all(map(operator.le, keys, islice(keys, 1, None)))):
        return
    _reorder(arrays, names, sorted(range(len(keys)), key=key or keys.__getitem__))


def _disjoint(addrs: array, sizes: array) -> bool:
    """No empty range, and each range ends before the next one starts (so the starts are sorted too)."""
    return not sizes.count(0) and not any(map(operator.lt, islice(addrs, 1, None), map(operator.add, addrs, sizes)))


def _range_map(arrays: dict[str, array], names: tuple[str, ...]) -> None:
    """Make ``(address, size, ...)`` records a map of disjoint ranges the way minidump-stackwalk does: sort by
    (start, end), drop empty ranges and every range that starts inside the previous kept one."""
    addrs, sizes = arrays[names[0]], arrays[names[1]]
    if _disjoint(addrs, sizes):
        return  # sorted and disjoint already: the usual case
    if len(addrs) >= 2 and not all(map(operator.lt, addrs, islice(addrs, 1, None))):
        # by start (a stable sort keeps file order); only where two starts are equal, by (start, size) with the
        # index breaking ties (tuples compare in C, but are slower to build and sort than one key)
        order = sorted(range(len(addrs)), key=addrs.__getitem__)
        starts = operator.itemgetter(*order)(addrs)
        if not all(map(operator.lt, starts, islice(starts, 1, None))):
            order = [t[2] for t in sorted(zip(addrs, sizes, range(len(addrs)), strict=True))]
        _reorder(arrays, names, order)
        addrs, sizes = arrays[names[0]], arrays[names[1]]
        if _disjoint(addrs, sizes):
            return
    keep = []
    last_end = -1
    for i in range(len(addrs)):
        a, s = addrs[i], sizes[i]
        if s == 0 or (keep and a <= last_end):
            continue
        keep.append(i)
        last_end = a + s - 1
    _reorder(arrays, names, keep)


def _trim_stack_win(arrays: dict[str, array], names: tuple[str, str, str]) -> None:
    """STACK WIN records in file order: a record that starts inside the previous one cuts the previous one
    short; one that overlaps it otherwise is dropped (identical duplicates are left to :func:`_range_map`)."""
    addrs, sizes, offs = (arrays[n] for n in names)
    if len(addrs) < 2:
        return
    out_a, out_s, out_o = array("Q"), array("Q"), array("Q")
    for a, s, o in zip(addrs, sizes, offs, strict=True):
        if s == 0:
            continue
        if out_a:
            la, ls = out_a[-1], out_s[-1]
            if a <= la + ls - 1 and la <= a + s - 1:
                if a > la:
                    out_s[-1] = a - la
                elif ls != s:
                    continue
        out_a.append(a)
        out_s.append(s)
        out_o.append(o)
    arrays[names[0]], arrays[names[1]], arrays[names[2]] = out_a, out_s, out_o


def _last_wins(arrays: dict[str, array], names: tuple[str, str]) -> None:
    """Sort ``(id, offset)`` by id; of duplicate ids keep the last in the file (a later FILE line wins)."""
    ids = arrays[names[0]]
    if len(ids) < 2 or all(map(operator.lt, ids, islice(ids, 1, None))):
        return
    order = sorted(range(len(ids)), key=ids.__getitem__)
    keep = [i for k, i in enumerate(order) if k + 1 == len(order) or ids[order[k + 1]] != ids[i]]
    _reorder(arrays, names, keep)


def _finalize(arrays: dict[str, array]) -> None:
    """Turn file-order records into the sorted lookup arrays."""
    _range_map(arrays, SORT_GROUPS[0])  # FUNC
    _sort_stable(arrays, SORT_GROUPS[1])  # PUBLIC: duplicates kept, resolved at lookup
    _range_map(arrays, SORT_GROUPS[2])  # STACK CFI INIT
    for group in SORT_GROUPS[3:5]:  # STACK WIN 4, STACK WIN 0
        _trim_stack_win(arrays, group)
        _range_map(arrays, group)
    _sort_stable(arrays, SORT_GROUPS[5])  # other STACK WIN types (counted, never used)
    _last_wins(arrays, SORT_GROUPS[6])  # FILE
    _last_wins(arrays, SORT_GROUPS[7])  # INLINE_ORIGIN
