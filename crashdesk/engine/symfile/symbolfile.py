"""Lookups into one indexed Breakpad ``.sym`` file (the engine's :class:`~crashdesk.engine.symbols_api.SymbolFile`).

The index (see :mod:`crashdesk.engine.symfile.scan`) gives sorted arrays of record addresses and the byte
offsets of their text in the memory-mapped ``.sym`` file. A lookup bisects the right array, then parses just the
record it found: one ``FUNC``/``PUBLIC``/``STACK WIN`` line, or one function's block of line and ``INLINE``
records, or one ``STACK CFI INIT`` with its deltas. Parsed blocks are kept in a small LRU cache.
"""

from __future__ import annotations

import mmap
import os
from bisect import bisect_left, bisect_right
from collections import OrderedDict

from crashdesk.engine.record_class import replace
from crashdesk.engine.symbols_api import CfiRules, FunctionInfo, InlineInfo, SourceLine, StackWinInfo
from crashdesk.engine.symfile.errors import DebugIdMismatch, NotASymbolFile, SymbolFileError
from crashdesk.engine.symfile.indexfile import (
    IndexInvalid,
    MappedIndex,
    name_key,
    source_identity,
    write_index,
)
from crashdesk.engine.symfile.module_info import ModuleInfo, parse_module_line

_BLOCK_CACHE = 256


def _dec(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


class _LRU(OrderedDict):
    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def put(self, key, value):
        self[key] = value
        if len(self) > self.limit:
            self.popitem(last=False)
        return value


class _FuncBlock:
    """Parsed line and INLINE records of one FUNC, arranged as minidump-stackwalk looks them up: line records
    as a map of disjoint ranges (empty ones dropped, a range starting inside the previous one dropped), INLINE
    ranges sorted by (depth, start)."""

    __slots__ = ("line_addrs", "lines", "inline_keys", "inlines")

    def __init__(self, lines: list[tuple[int, int, int, int]], inlines: list[tuple]) -> None:
        lines.sort(key=lambda t: (t[0], t[1]))
        kept: list[tuple[int, int, int, int]] = []
        last_end = -1
        for rec in lines:
            if rec[1] == 0 or (kept and rec[0] <= last_end):
                continue
            kept.append(rec)
            last_end = rec[0] + rec[1] - 1
        self.line_addrs = [t[0] for t in kept]
        self.lines = kept
        inlines.sort(key=lambda t: (t[2], t[0]))
        self.inline_keys = [(t[2], t[0]) for t in inlines]
        self.inlines = inlines  # (start, size, depth, call_line, call_file_id|None, origin_id)


class BreakpadSymbolFile:
    """One module's symbols, read through an index. Create with :func:`load_symbol_file`."""

    def __init__(self, path: str, data, module: ModuleInfo, arrays: dict, malformed_lines: int,
                 malformed_examples: list[str], index_state: str, index_path: str | None,
                 mapped: MappedIndex | None, fileobj) -> None:
        self.path = path
        self.module = module
        self.debug_file = module.debug_file
        self.debug_id = module.debug_id
        self.code_file = module.code_file
        self.code_id = module.code_id
        self.os = module.os
        self.arch = module.arch
        self.generator = module.generator
        self.urls = module.urls
        self.malformed_lines = malformed_lines
        self.malformed_examples = malformed_examples
        # What minidump-stackwalk reports as ``corrupt_symbols``: the file had lines it could not parse.
        self.corrupt = malformed_lines > 0
        self.index_state = index_state  # "built" | "reused" | "memory"
        self.index_path = index_path
        self.build_stats: dict = {}  # set by load_symbol_file when it scanned the text: workers, peak RSS
        self._data = data
        self._file = fileobj
        self._mapped = mapped
        a = arrays
        self._func = (a["func_addr"], a["func_size"], a["func_off"], a["func_end"])
        self._pub = (a["pub_addr"], a["pub_off"])
        self._cfi = (a["cfi_addr"], a["cfi_size"], a["cfi_off"], a["cfi_end"])
        self._win4 = (a["win4_addr"], a["win4_size"], a["win4_off"])
        self._win0 = (a["win0_addr"], a["win0_size"], a["win0_off"])
        self._files = (a["file_id"], a["file_off"])
        self._origins = (a["origin_id"], a["origin_off"])
        self._blocks = _LRU(_BLOCK_CACHE)
        self._cfi_cache = _LRU(_BLOCK_CACHE)
        self._names: dict[int, str | None] = {}
        self._old_inline_format = False

    # -- counts, for reports and the CLI ---------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        return {
            "functions": len(self._func[0]), "publics": len(self._pub[0]), "cfi": len(self._cfi[0]),
            "stack_win": len(self._win4[0]) + len(self._win0[0]), "files": len(self._files[0]),
            "inline_origins": len(self._origins[0]),
        }

    def close(self) -> None:
        """Release the mappings; lookups afterwards raise :class:`SymbolFileError`."""
        closed = _Closed(self.path)
        self._func = self._pub = self._cfi = self._win4 = self._win0 = self._files = self._origins = closed
        self._blocks.clear()
        if self._mapped is not None:
            self._mapped.close()
            self._mapped = None
        if isinstance(self._data, mmap.mmap):
            try:
                self._data.close()
            except BufferError:
                pass
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> BreakpadSymbolFile:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- raw text helpers --------------------------------------------------------------------------------
    def _line(self, off: int) -> bytes:
        data = self._data
        end = data.find(b"\n", off)
        if end < 0:
            end = len(data)
        return data[off:end].rstrip(b"\r")

    def _func_index(self, rva: int) -> int:
        addrs, sizes = self._func[0], self._func[1]
        i = bisect_right(addrs, rva) - 1
        if i >= 0 and rva - addrs[i] < sizes[i]:
            return i
        return -1

    def _file_name(self, file_id: int | None) -> str | None:
        if file_id is None:
            return None
        ids, offs = self._files
        i = bisect_right(ids, file_id) - 1
        if i < 0 or ids[i] != file_id:
            return None
        parts = self._line(offs[i]).split(b" ", 2)
        return _dec(parts[2]) if len(parts) == 3 else None

    def _origin_name(self, origin_id: int) -> str | None:
        if origin_id in self._names:
            return self._names[origin_id]
        ids, offs = self._origins
        i = bisect_right(ids, origin_id) - 1
        name = None
        if i >= 0 and ids[i] == origin_id:
            line = self._line(offs[i])
            if self._old_inline_format:
                parts = line.split(b" ", 3)
                name = _dec(parts[3]) if len(parts) == 4 else None
            else:
                parts = line.split(b" ", 2)
                name = _dec(parts[2]) if len(parts) == 3 else None
        self._names[origin_id] = name
        return name

    def _block(self, i: int) -> _FuncBlock:
        block = self._blocks.get(i)
        if block is not None:
            return block
        data = self._data
        start = data.find(b"\n", self._func[2][i])
        end = self._func[3][i]
        lines: list[tuple[int, int, int, int]] = []
        inlines: list[tuple] = []
        if 0 <= start < end:
            for raw in data[start + 1 : end].split(b"\n"):
                if not raw:
                    continue
                try:
                    if raw.startswith(b"INLINE "):
                        tok = raw.split()
                        n = len(tok) - 1
                        if n % 2 == 0:  # current format: depth line file origin (addr size)+
                            depth, call_line, call_file, origin = (int(t) for t in tok[1:5])
                            ranges = tok[5:]
                        else:  # older format without the call file
                            self._old_inline_format = True
                            depth, call_line, origin = (int(t) for t in tok[1:4])
                            call_file = None
                            ranges = tok[4:]
                        for k in range(0, len(ranges) - 1, 2):
                            inlines.append((int(ranges[k], 16), int(ranges[k + 1], 16), depth, call_line,
                                            call_file, origin))
                    else:
                        tok = raw.split()
                        if len(tok) == 4:
                            lines.append((int(tok[0], 16), int(tok[1], 16), int(tok[2]), int(tok[3])))
                except ValueError:
                    continue  # counted as malformed by the scan
        return self._blocks.put(i, _FuncBlock(lines, inlines))

    # -- the SymbolFile protocol -------------------------------------------------------------------------
    def function_at(self, rva: int) -> FunctionInfo | None:
        """The FUNC covering ``rva``, else the nearest PUBLIC at or below it -- unless a FUNC starts between
        that PUBLIC and ``rva`` (the PUBLIC then ends before ``rva``), as Breakpad and minidump-stackwalk do.

        For a FUNC, ``parameter_size`` comes from the STACK WIN record covering ``rva`` when there is one
        (FrameData first), as minidump-stackwalk takes it; else from the FUNC line."""
        i = self._func_index(rva)
        if i >= 0:
            tok = self._line(self._func[2][i]).split(b" ", 2)
            rest = tok[2] if len(tok) == 3 else b""
            if tok[1] == b"m":
                rest = rest.split(b" ", 1)[1] if b" " in rest else b""
            parts = rest.split(b" ", 2)  # size param name
            win = self._win_index(rva)
            win_info = self._parse_win(*win) if win is not None else None
            if win_info is not None:
                param = win_info.parameter_size
            else:
                try:
                    param = int(parts[1], 16)
                except (IndexError, ValueError):
                    param = 0
            name = _dec(parts[2]) if len(parts) == 3 else ""
            return FunctionInfo(name=name, address=self._func[0][i], size=self._func[1][i],
                                parameter_size=param, is_public=False)
        addrs, offs = self._pub
        j = bisect_right(addrs, rva) - 1
        if j < 0:
            return None
        address = addrs[j]
        funcs = self._func[0]
        k = bisect_left(funcs, rva)
        if not (k < len(funcs) and funcs[k] == rva) and k > 0 and address <= funcs[k - 1]:
            return None  # a FUNC starts after the PUBLIC and before rva: the PUBLIC does not reach rva
        best = None
        while j >= 0 and addrs[j] == address:  # duplicates: the greatest (parameter size, name) wins
            cand = self._parse_public(offs[j])
            if best is None or cand > best:
                best = cand
            j -= 1
        param, raw_name = best
        return FunctionInfo(name=_dec(raw_name), address=address, size=0, parameter_size=param, is_public=True)

    def _parse_public(self, off: int) -> tuple[int, bytes]:
        tok = self._line(off).split(b" ", 1)
        rest = tok[1] if len(tok) == 2 else b""
        if rest.startswith(b"m "):
            rest = rest[2:]
        parts = rest.split(b" ", 2)  # addr param name
        try:
            param = int(parts[1], 16)
        except (IndexError, ValueError):
            param = 0
        return param, parts[2] if len(parts) == 3 else b""

    def line_at(self, rva: int) -> SourceLine | None:
        """The line record covering ``rva`` inside the FUNC covering it."""
        i = self._func_index(rva)
        if i < 0:
            return None
        block = self._block(i)
        k = bisect_right(block.line_addrs, rva) - 1
        if k < 0:
            return None
        addr, size, line, file_id = block.lines[k]
        if rva - addr >= size:
            return None
        return SourceLine(file=self._file_name(file_id), line=line, address=addr)

    def line_start(self, rva: int, inlined: bool) -> int | None:
        """See :meth:`SymbolFile.line_start <crashdesk.engine.symbols_api.SymbolFile.line_start>`: a .sym
        file's lookups carry it already."""
        if inlined:
            inlines = self.inlines_at(rva)
            return inlines[0].address if inlines else None
        line = self.line_at(rva)
        return line.address if line is not None else None

    def inlines_at(self, rva: int) -> list[InlineInfo]:
        """Inlined calls covering ``rva``, outermost (depth 0) first. At each depth the INLINE range with the
        greatest start at or below ``rva`` counts if it covers ``rva``; the chain stops at the first depth
        without one."""
        i = self._func_index(rva)
        if i < 0:
            return []
        block = self._block(i)
        if not block.inlines:
            return []
        out = []
        depth = 0
        while True:
            k = bisect_right(block.inline_keys, (depth, rva)) - 1
            if k < 0:
                break
            start, size, d, call_line, call_file, origin = block.inlines[k]
            if d != depth or rva - start >= size:
                break
            out.append(InlineInfo(depth=depth, name=self._origin_name(origin) or "",
                                  call_file=self._file_name(call_file), call_line=call_line, address=start))
            depth += 1
        return out

    def cfi_at(self, rva: int) -> CfiRules | None:
        """The STACK CFI INIT rules covering ``rva`` with every delta at or below ``rva`` applied."""
        addrs, sizes, offs, ends = self._cfi
        i = bisect_right(addrs, rva) - 1
        if i < 0 or rva - addrs[i] >= sizes[i]:
            return None
        parsed = self._cfi_cache.get(i)
        if parsed is None:
            parsed = self._cfi_cache.put(i, self._parse_cfi(offs[i], ends[i]))
        init, deltas = parsed
        rules = dict(init)
        for addr, delta in deltas:
            if addr <= rva:
                rules.update(delta)
        return CfiRules(rules=rules)

    def _parse_cfi(self, off: int, end: int) -> tuple[dict[str, str], list[tuple[int, dict[str, str]]]]:
        data = self._data
        first_end = data.find(b"\n", off)
        if first_end < 0 or first_end > end:
            first_end = end
        init_tok = data[off:first_end].split()
        init = _parse_rules(init_tok[5:])
        deltas = []
        if first_end < end:
            for raw in data[first_end + 1 : end].split(b"\n"):
                tok = raw.split()
                if len(tok) < 4 or tok[0] != b"STACK" or tok[1] != b"CFI":
                    continue
                try:
                    deltas.append((int(tok[2], 16), b" ".join(tok[3:]), _parse_rules(tok[3:])))
                except ValueError:
                    continue
        deltas.sort(key=lambda d: (d[0], d[1]))  # by address, then rule text, as minidump-stackwalk sorts
        return init, [(a, rules) for a, _text, rules in deltas]

    def _win_index(self, rva: int) -> tuple[tuple, int] | None:
        for table in (self._win4, self._win0):
            addrs, sizes = table[0], table[1]
            i = bisect_right(addrs, rva) - 1
            if i >= 0 and rva - addrs[i] < sizes[i]:
                return table, i
        return None

    def _parse_win(self, table: tuple, i: int) -> StackWinInfo | None:
        info = _parse_stack_win(self._line(table[2][i]))
        if info is not None and info.size != table[1][i]:
            info = replace(info, size=table[1][i])  # cut short by the record after it
        return info

    def stack_win_at(self, rva: int) -> StackWinInfo | None:
        """The STACK WIN record covering ``rva``: FrameData (type 4) first, then FPO (type 0). Overlapping
        records are resolved as minidump-stackwalk does (a later start cuts the earlier record short)."""
        hit = self._win_index(rva)
        return self._parse_win(*hit) if hit is not None else None


class _Closed:
    """Stands in for the arrays of a closed file so that any lookup raises a typed error."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __getitem__(self, _i):
        raise SymbolFileError(f"{self.path}: symbol file already closed")

    def __iter__(self):
        raise SymbolFileError(f"{self.path}: symbol file already closed")


def _parse_rules(tokens: list[bytes]) -> dict[str, str]:
    rules: dict[str, str] = {}
    reg = None
    expr: list[str] = []
    for t in tokens:
        if t.endswith(b":"):
            if reg is not None:
                rules[reg] = " ".join(expr)
            reg = _dec(t[:-1])
            expr = []
        else:
            expr.append(_dec(t))
    if reg is not None:
        rules[reg] = " ".join(expr)
    return rules


def _parse_stack_win(line: bytes) -> StackWinInfo | None:
    tok = line.split(b" ", 12)
    if len(tok) < 13:
        return None
    try:
        nums = [int(t, 16) for t in tok[2:12]]
    except ValueError:
        return None
    has_program = nums[9] != 0
    rest = tok[12]
    if has_program:
        program, allocates = _dec(rest), False
    else:
        try:
            allocates = int(rest.split()[0], 16) != 0 if rest.strip() else False
        except ValueError:
            return None
        program = None
    return StackWinInfo(type=nums[0], address=nums[1], size=nums[2], prologue_size=nums[3],
                        epilogue_size=nums[4], parameter_size=nums[5], saved_register_size=nums[6],
                        local_size=nums[7], max_stack_size=nums[8], has_program_string=has_program,
                        program_string=program, allocates_base_pointer=allocates)


def index_path_for(index_dir: str | os.PathLike[str], source: str | os.PathLike[str],
                   module: ModuleInfo | None = None, *, real_path: str | None = None) -> str:
    """Where the index of ``source`` lives under ``index_dir``: named by a checksum of the source's real path
    (no untrusted text in the path; ``real_path`` when the caller has it already). The index header holds the
    module's debug file/id and the source's real path, size, mtime and sample checksum, which decide whether it
    is still valid."""
    digest = name_key(real_path or os.path.realpath(source))
    return os.path.join(index_dir, digest[:2], f"{digest}.idx")


def load_symbol_file(path: str | os.PathLike[str], expected_debug_id: str | None = None,
                     index_dir: str | os.PathLike[str] | None = None, *,
                     rebuild: bool = False) -> BreakpadSymbolFile:
    """Open a Breakpad ``.sym`` file for lookups.

    With ``index_dir`` the index is kept in a file there and reused while the source file is unchanged (it is
    rebuilt when stale, damaged, of another version, or when ``rebuild`` is set); without it the index is
    built in memory. Raises :class:`DebugIdMismatch` when ``expected_debug_id`` is given and the ``MODULE``
    line names another id, :class:`NotASymbolFile` for files that are not Breakpad symbols and
    :class:`SymbolFileError` when the file cannot be read.
    """
    path = os.fspath(path)
    try:
        f = open(path, "rb")
    except OSError as exc:
        raise SymbolFileError(f"{path}: cannot open symbol file: {exc.strerror or exc}") from exc
    try:
        size = os.fstat(f.fileno()).st_size
        if size == 0:
            raise NotASymbolFile(f"{path}: empty file, not a Breakpad symbol file")
        data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except OSError as exc:
        raise SymbolFileError(f"{path}: cannot read symbol file: {exc}") from exc
    finally:
        f.close()  # the mapping keeps what it needs
    try:
        nl = data.find(b"\n", 0, 4096)
        head = parse_module_line(data[: nl if nl >= 0 else 4096], str(path))
        if expected_debug_id is not None and head.debug_id.upper() != expected_debug_id.upper():
            raise DebugIdMismatch(str(path), expected_debug_id.upper(), head.debug_id)
        mapped = None
        idx_path = None
        result = None
        state = "memory"
        if index_dir is not None:
            real = os.path.realpath(path)  # resolved once: it names the index and is recorded in it
            idx_path = index_path_for(index_dir, path, head, real_path=real)
            identity = source_identity(path, data, real)
            if not rebuild:
                try:
                    mapped = MappedIndex(idx_path, identity)
                    state = "reused"
                except IndexInvalid:
                    mapped = None
            if mapped is None:
                from crashdesk.engine.build_lock import build_lock  # building only (start-up time)
                from crashdesk.engine.symfile.scan import scan

                # one process per machine builds it; the others wait, then map what it wrote
                with build_lock(idx_path):
                    if not rebuild:
                        try:
                            mapped = MappedIndex(idx_path, identity)
                            state = "reused"
                        except IndexInvalid:
                            mapped = None
                    if mapped is None:
                        result = scan(data, str(path))
                        try:
                            write_index(idx_path, result, identity)
                            mapped = MappedIndex(idx_path, identity)
                            state = "built"
                        except (OSError, IndexInvalid):
                            mapped = None
                            module, arrays = result.module, result.arrays
                            malformed, examples = result.malformed_lines, result.malformed_examples
        if mapped is not None:
            module, arrays = mapped.module, mapped.arrays
            malformed, examples = mapped.malformed_lines, mapped.malformed_examples
        elif index_dir is None:
            from crashdesk.engine.symfile.scan import scan  # no index folder: built in memory

            result = scan(data, str(path))
            module, arrays = result.module, result.arrays
            malformed, examples = result.malformed_lines, result.malformed_examples
        sym = BreakpadSymbolFile(path, data, module, arrays, malformed, examples, state, idx_path, mapped, None)
        if result is not None:
            sym.build_stats = {"workers": result.workers, "worker_peak_rss_kb": result.worker_peak_rss_kb}
        return sym
    except BaseException:
        data.close()
        raise


__all__ = ["BreakpadSymbolFile", "load_symbol_file", "index_path_for", "NotASymbolFile"]
