"""Comparing a native debug file's lookups with its dump_syms oracle, address by address."""

from __future__ import annotations

from pathlib import Path

from crashdesk.engine.symbols_api import ModuleKey
from crashdesk.engine.symfile import load_symbol_file

DATA = Path(__file__).resolve().parents[1] / "data" / "native"


def oracle_module(sym_path: Path) -> ModuleKey:
    """The module an oracle .sym file describes (its MODULE and INFO CODE_ID lines)."""
    o = load_symbol_file(sym_path)
    try:
        return ModuleKey(o.debug_file, o.debug_id, o.code_file or "", o.code_id or "")
    finally:
        o.close()


def oracle_addresses(sym_path: Path) -> list[int]:
    """Every FUNC, PUBLIC and line-record address of a .sym file."""
    out = set()
    for raw in sym_path.read_bytes().splitlines():
        t = raw.split()
        if not t:
            continue
        if t[0] in (b"FUNC", b"PUBLIC"):
            out.add(int(t[2] if t[1] == b"m" else t[1], 16))
        elif t[0] not in (b"MODULE", b"INFO", b"FILE", b"STACK", b"INLINE", b"INLINE_ORIGIN"):
            try:
                out.add(int(t[0], 16))
            except ValueError:
                pass
    return sorted(out)


def line_records(sym_path: Path) -> list[tuple[int, int, int, int]]:
    """Every line record of a .sym file as (address, size, line, file number), by address."""
    out = []
    for raw in sym_path.read_bytes().splitlines():
        t = raw.split()
        if len(t) == 4 and t[0] not in (b"FILE", b"FUNC", b"PUBLIC", b"STACK", b"INLINE", b"INFO", b"MODULE"):
            try:
                out.append((int(t[0], 16), int(t[1], 16), int(t[2]), int(t[3])))
            except ValueError:
                pass
    return sorted(out)


def compare_line_starts(native, sym_path: Path) -> dict[str, list]:
    """Where each line record and each outermost inlined call starts (what a frame's source-line offset is
    measured from), asked at the last byte of every line record: ``{"line": [...], "inline": [...]}`` of
    (address, oracle start, native start) that differ, ``"merged"``: those where the native start is the
    start of a run of adjacent oracle records of one file, line and inline chain (``dump_syms`` split a
    source line the SymCache keeps whole), and ``"checked"``."""
    oracle = load_symbol_file(sym_path)
    records = line_records(sym_path)
    diffs: dict[str, list] = {"line": [], "inline": [], "merged": [], "checked": []}

    def chain(a: int) -> list:
        return [(i.name, i.call_file, i.call_line) for i in oracle.inlines_at(a)]

    for k, (addr, size, _line, _file) in enumerate(records):
        if not size:
            continue
        a = addr + size - 1
        lo, ln = oracle.line_at(a), native.line_at(a)
        if lo is None or ln is None:
            continue
        diffs["checked"].append(a)
        start = native.line_start(a, False)
        if lo.address != start:
            run = k
            while (run > 0 and records[run - 1][0] + records[run - 1][1] == records[run][0]
                   and records[run - 1][2:] == records[run][2:] and chain(records[run - 1][0]) == chain(addr)):
                run -= 1
            (diffs["merged"] if start == records[run][0] else diffs["line"]).append((a, lo.address, start))
        io = oracle.inlines_at(a)
        if io and io[0].address != native.line_start(a, True):
            diffs["inline"].append((a, io[0].address, native.line_start(a, True)))
    oracle.close()
    return diffs


def compare_lookups(native, sym_path: Path) -> dict[str, list]:
    """Differences between ``native`` (a SymbolFile) and the oracle at every FUNC/LINE address:
    ``{"function": [...], "line": [...], "inlines": [...], "cfi": [...]}`` of (address, oracle, native)."""
    oracle = load_symbol_file(sym_path)
    diffs: dict[str, list] = {"function": [], "line": [], "inlines": [], "cfi": [], "checked": []}
    for a in oracle_addresses(sym_path):
        diffs["checked"].append(a)
        fo, fn = oracle.function_at(a), native.function_at(a)
        ko = (fo.name, fo.address) if fo else None
        kn = (fn.name, fn.address) if fn else None
        if ko != kn:
            diffs["function"].append((a, ko, kn))
        if fo is not None and not fo.is_public:
            lo, ln = oracle.line_at(a), native.line_at(a)
            if ((lo.file, lo.line) if lo else None) != ((ln.file, ln.line) if ln else None):
                diffs["line"].append((a, lo, ln))
            io = [(i.name, i.call_file, i.call_line) for i in oracle.inlines_at(a)]
            inn = [(i.name, i.call_file, i.call_line) for i in native.inlines_at(a)]
            if io != inn:
                diffs["inlines"].append((a, io, inn))
        co, cn = oracle.cfi_at(a), native.cfi_at(a)
        if (co.rules if co else None) != (cn.rules if cn else None):
            diffs["cfi"].append((a, co, cn))
    oracle.close()
    return diffs
