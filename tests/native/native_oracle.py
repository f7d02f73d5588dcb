"""Comparing a native debug file's lookups with its dump_syms oracle, address by address."""

from __future__ import annotations

from pathlib import Path

from crashdesk.engine.symfile import load_symbol_file

DATA = Path(__file__).resolve().parents[1] / "data" / "native"


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
