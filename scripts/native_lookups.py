"""Lookups of native debug files vs their dump_syms 2.3.5 oracle .sym, at every FUNC, PUBLIC and line-record
address of the oracle: function (name, start), source line, inlines, STACK CFI rules.

    python3 scripts/native_lookups.py [--corpus ../shared/corpus] [-v]

Covers every native file of ../shared/corpus/native's MANIFEST (ELF, separate .debug + stripped library,
PDB + PE, Mach-O dSYM slices, the -O2 clone build). Differences are classified: ``oracle-mangled`` where
dump_syms kept a mangled name (its demangler gave up) and CrashDesk demangles it.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "native"))
from native_oracle import oracle_addresses  # noqa: E402  (the test suite's reading of a .sym oracle)


def cases(corpus: Path) -> list[tuple[Path, list[Path], Path, bool]]:
    """(native file, companions, oracle .sym, oracle made with --inlines)."""
    n, f = corpus / "native", corpus / "fetched"
    demo = n / "linux-demo"
    return [
        (n / "elf/getsentry-symbolic/crash_linux", [],
         f / "getsentry-symbolic/symbols/crash_linux/D2554CDB926136C4B9766A086583B9B50/crash_linux.sym", False),
        (n / "elf/llvm-lldb/linux-x86_64", [],
         f / "llvm-lldb/symbols/linux-x86_64/3B285CE327C387C262DB788BF5A4078B0/linux-x86_64.sym", False),
        (n / "elf/chromiumos-tast/abort.debug", [],
         f / "chromiumos-tast/symbols/abort/A48688D4AA70B4CAE2B86443818FBC970/abort.sym", False),
        (n / "pdb/crash.pdb", [n / "pdb/crash.exe"],
         n / "pdb/symbols/crash.pdb/3249D99D0C4049318610F4E4FB0B69361/crash.sym", False),
        (n / "pdb/CrashWithException.pdb", [n / "pdb/CrashWithException.exe"],
         n / "pdb/symbols/CrashWithException.pdb/F535C5FB2AE84BB8AA206C30BE566C5A1/CrashWithException.sym", False),
        (n / "macho/Example.framework.dSYM/Contents/Resources/DWARF/Example", [],
         n / "macho/symbols/Example/3B4566E4491B3DCF94F5AE51F624DD870/Example.sym", False),
        (n / "macho/Example.framework.dSYM/Contents/Resources/DWARF/Example", [],
         n / "macho/symbols/Example/2556F1515A403847BE6CE2C1B5BE4DF80/Example.sym", False),
        (n / "macho/overlapping_funcs.dSYM/Contents/Resources/DWARF/overlapping_funcs", [],
         n / "macho/symbols/overlapping_funcs/546D01320E063B7A8640BE40465134450/overlapping_funcs.sym", False),
        (demo / "bin/demo-viewer", [], demo / "symbols/demo-viewer/72F4E7E2EDA32DCBFDA30896DCB74D930/demo-viewer.sym",
         True),
        (demo / "bin/demo-scripting", [],
         demo / "symbols/demo-scripting/171253FAD040A36C88A2A0EF27EB5EE30/demo-scripting.sym", True),
        (demo / "lib/libdemo_codec.so", [],
         demo / "symbols/libdemo_codec.so/701F2CACE746BE48CF04D69FD62E6DA70/libdemo_codec.so.sym", True),
        (demo / "debug/.build-id/93/ac61ec5a8eb1396f9fbd350e3169a558528a40.debug", [demo / "system/libc.so.6"],
         demo / "symbols/libc.so.6/EC61AC938E5A39B16F9FBD350E3169A50/libc.so.6.sym", False),
        (demo / "system/libstdc++.so.6", [],
         demo / "symbols/libstdc++.so.6/9FE39E28078C4FBDA48102DFEEB7E6F90/libstdc++.so.6.sym", False),
        (demo / "system/libgcc_s.so.1", [],
         demo / "symbols/libgcc_s.so.1/4C38036F3C2E88387DD3BA5A24B2E18C0/libgcc_s.so.1.sym", False),
        (n / "elf-o2/clones", [], n / "elf-o2/symbols/clones/48CEBF0C054D63F9730331A66C8F20750/clones.sym", False),
    ]


def compare(native: Path, companions: list[Path], sym: Path, inlines: bool, index: Path) -> dict:
    from crashdesk.engine.native.symbols import load_native_symbols
    from crashdesk.engine.symbols_api import ModuleKey
    from crashdesk.engine.symfile import load_symbol_file

    oracle = load_symbol_file(sym)
    module = ModuleKey(oracle.debug_file, oracle.debug_id)
    counts = {k: [0, 0] for k in ("function", "line", "inlines", "cfi")}
    diffs: list[tuple] = []
    with load_native_symbols(native, module, index, companions=companions, inlines=inlines) as nat:
        for a in oracle_addresses(sym):
            fo, fn = oracle.function_at(a), nat.function_at(a)
            checks = [("function", (fo.name, fo.address) if fo else None, (fn.name, fn.address) if fn else None)]
            if fo is not None and not fo.is_public:
                lo, ln = oracle.line_at(a), nat.line_at(a)
                checks.append(("line", (lo.file, lo.line) if lo else None, (ln.file, ln.line) if ln else None))
                checks.append(("inlines", [(i.name, i.call_file, i.call_line) for i in oracle.inlines_at(a)],
                               [(i.name, i.call_file, i.call_line) for i in nat.inlines_at(a)]))
            co, cn = oracle.cfi_at(a), nat.cfi_at(a)
            checks.append(("cfi", co.rules if co else None, cn.rules if cn else None))
            for kind, want, got in checks:
                counts[kind][want == got] += 1
                if want != got:
                    mangled = "_Z" in repr(want)
                    diffs.append((kind, hex(a), "oracle-mangled" if mangled else "other", want, got))
    oracle.close()
    return {"file": str(native), "sym": sym.name, "counts": counts, "diffs": diffs}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every difference")
    args = ap.parse_args(argv)
    if not (args.corpus / "native").is_dir():
        print(f"error: no native corpus at {args.corpus / 'native'}", file=sys.stderr)
        return 1
    totals = {k: [0, 0] for k in ("function", "line", "inlines", "cfi")}
    with tempfile.TemporaryDirectory() as tmp:
        for native, comps, sym, inl in cases(args.corpus):
            r = compare(native, comps, sym, inl, Path(tmp))
            cats: dict[str, int] = {}
            for d in r["diffs"]:
                cats[f"{d[0]}/{d[2]}"] = cats.get(f"{d[0]}/{d[2]}", 0) + 1
            print(f"{native.name} ({r['sym']}): " + ", ".join(
                f"{k} {v[1]}/{v[0] + v[1]}" for k, v in r["counts"].items()) + (f"  differences: {cats}" if cats else ""))
            for k, v in r["counts"].items():
                totals[k][0] += v[0]
                totals[k][1] += v[1]
            for d in r["diffs"] if args.verbose else [d for d in r["diffs"] if d[2] == "other"][:5]:
                print("   ", d[0], d[1], d[2], "oracle:", repr(d[3])[:160], "ours:", repr(d[4])[:160])
    print("total: " + ", ".join(f"{k} {v[1]}/{v[0] + v[1]}" for k, v in totals.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
