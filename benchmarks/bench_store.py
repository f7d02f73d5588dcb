"""Store benchmark (issues 2, 27): ingest N realistic crashes, then time representative searches and facets.

    python benchmarks/bench_store.py [--crashes 100000] [--batch 500] [--repeat 20] [--dir DIR] [--keep]
                                     [--reuse] [--add N] [--dbstat] [--json] [--engine auto|sql|index]
                                     [--only TEXT]

(``--n`` is the old spelling of ``--crashes``.)

* Crashes are synthetic but shaped like Crash Stats data (``--templates`` fully generated crashes, default 2,000
  or one per 100 crashes, each copy with its own id, date, signature + top frame, URL): 5 products with their own
  version trains (releases, dot releases, betas, ESR), 4 OSes, 3 CPUs; a long tail of signatures (max(3,000,
  crashes / 25) of them, Zipf popularity with exponent 1.1: at 1M crashes ~40,000 signatures, the top one in ~10%
  of crashes and most seen a handful of times); a pool of max(12,000, crashes / 50) C++-style function names;
  30-frame crashing stacks on the main thread (1 template in 250 recursing to 600 frames) and ``--threads`` - 1
  other named threads of 8-20 frames sitting in wait functions (issue 22: every thread is indexed); 150 loaded
  modules per crash: the product's own, 39 system libraries every crash loads, and 110 third-party modules out of
  360 drawn with Zipf weights (a few hot drivers and hooks in most crashes, a long tail in few); 40 annotations
  each (URL, comments, add-ons, ...). Versions over time: crashes arrive in date order over the last 30 days, and
  the template of the crash ``x`` of the way through is picked around rank ``x`` of the templates sorted by how
  new their version is in its product's train (a Gaussian spread of 0.15), so new versions crash later and old
  ones fade. Generation is deterministic (``--seed``) and not counted in the ingest time.
* Ingest goes through ``CrashStore.add_batches`` (raw crash + processed crash + signature + every side table in
  one transaction per ``--batch`` crashes, synchronous=FULL WAL commits; ``--ahead`` batches are generated, then
  stored as one stream, in which each batch commits on another thread while the next one's rows are drafted;
  ``--ingest add_many`` stores them with one ``CrashStore.add_many`` call per batch instead, the same rows with no
  overlap), on a fresh database in ``--dir`` (default a
  temporary folder, deleted afterwards unless ``--keep``; ``--reuse`` skips ingest when ``--dir`` holds a store).
  ``ms_per_crash`` splits the ingest time: ``draft`` (rows built before the write lock), ``rows`` (the rest of
  the rows, under it), ``inserts``, ``commit`` (waiting for it: with ``add_batches`` only what the next draft did
  not cover). Issue 27 at stop 35 (``--crashes 1000000 --dir COPY --add 20000 --skip-analyze --only none``, each
  run on a fresh ``cp -a`` of the 1M store, load 1.1-1.5): ``add_batches`` 815-1,075/s over nine runs (median
  ~970: draft 0.33-0.47 ms a crash, rows 0.33-0.41, inserts 0.14-0.23, commit wait 0.03-0.19), ``add_many``
  715-839/s (commit 0.27-0.34 ms a crash); stop 34's code (``521f2e7``, ``add_many`` only) did 655-663/s in
  two runs the same hour. Stop 36, five pairs alternating with stop 35's code (``93229b0``) on fresh copies
  (load 1.1-1.4): 1,041, 972, 933, 935, 868/s against 1,029, 1,014, 942, 844, 798/s, both falling over the hour
  the runs took: no difference beyond that drift. The bulk page cache (``db.BULK_CACHE_KIB``) cut what SQLite
  wrote and read a crash (~250 and ~220 KiB with the 64 MiB cache, ~190 and ~125 with 256 MiB: a batch's
  dirty pages no longer spill to the WAL before its commit) without changing the wall time on this machine.
  The 2 cores are the limit: ~1.45 ms of CPU a crash (the main thread's Python ~0.75, SQLite inserts, the
  commit thread's full-text inserts, merges and WAL writes, zstd, the background checkpoint).
  ``--add N`` times ingest into a store that is already big: it adds N more crashes to the store in ``--dir``
  (which must exist; give ``--crashes`` the size it was built with, which sizes the signature and function pools
  the same way), dated at the newest end of the 30 days, and skips ``ANALYZE`` with ``--skip-analyze``. Work on a
  copy of a store another job reads (``cp -a``): the added crashes stay in it. E.g. ``--crashes 1000000 --dir
  COPY --add 20000 --skip-analyze --only none`` (no searches) times ingest at 1M: 20,000 crashes added to the 1M
  store (schema v14) took 2.07 ms of CPU a crash (209/s wall with another job's ingest on the 2 cores, load 6.8);
  before ``annotation_columns.write`` stopped merging full chunks, 2,000 took 13 ms of CPU a crash (52/s).
  Later (3 runs of each, alternating, load 2.0-2.9): 393-492/s (commit 0.49-0.69 ms a crash) with the WAL
  checkpointed by a background thread (``Database.background_checkpoints``), 398-480/s (commit 0.62-0.86 ms)
  without; ~1.8-2.1 ms of CPU a crash either way. A batch of 500 at 1M leaves ~45 MB of WAL (~2,800 16 KiB pages:
  the ``crash_id`` index ~500, ``crashes_search_cover`` ~360 and ``crashes_submitted`` ~130 (the added crashes
  spread over a day), ``crashes_signature`` ~300, FTS segments and merges ~430, ``annotation_columns`` ~120).
  FTS5 ``automerge`` 8 instead of the default 4 (tried for issue 27, not kept): commits 0.27-0.35 ms a crash
  against 0.40-0.48 with 4 (1M copy, batches of 500, load 1.7-3.0), but the full-text searches slow with the
  segments it leaves: 3 more segments per index (15-19 against 13-16) took ``full text word`` from 41 to 63 ms
  and ``thread term + product + date`` from 79 to 92 ms (p50), before the steady state's up to 7 per level.
  Dumps are not written (blobs are a file copy each, not database work). ``--dbstat`` prints KB per crash by table
  (SQLite's ``dbstat``, indexes counted with their table).
* Searches: each query runs ``--repeat`` times through ``CrashStore.search`` (total + first 100 hits sorted by
  ``-date``), after one warm-up run; p50/p95 in ms, including the every-thread terms (``thread:``,
  ``stack:``, ``frame.trust:``, ``frame.module:``, ``frames:``; ``--no-thread-queries`` leaves them out to run
  this script against an older revision), and the median CPU time of this process per search (SQLite runs in
  it: steadier than wall time on a machine shared with other jobs). ``--engine sql|index`` times one engine
  (``crashdesk.store.search``), ``--only TEXT`` the searches whose label holds TEXT. Facets: signature, product, version, os, cpu over everything, the
  module facet on its own, and ``thread.function``.
* Building the 1M store (``--crashes 1000000 --keep --dir DIR``, then ``--reuse`` to time searches again) on this
  project's 2-core machine, shared with other jobs (load average 2-5), took 35 minutes (2,100 s wall: 120 s
  generating 10,000 templates and the crashes, 1,981 s ingesting at 505 crashes/s, 1,687 s of CPU) and gave a
  19.1 GB file, 19.1 KB a crash (schema v11, issue 27); the searches and ``--dbstat`` afterwards take ~5 minutes
  more. 100,000 crashes take ~4 minutes and 1.9 GB. Stop 36 (``add_batches``, schema v14, load ~1.4): 20 minutes
  (1,196 s wall: 80 s generating, 1,116 s ingesting at 896 crashes/s from empty to 1M, 1,657 s of CPU), a 14.2 GB
  file, 14.2 KB a crash.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from crashdesk.model.crash_id import new_crash_id  # noqa: E402
from crashdesk.store import CrashStore  # noqa: E402
from crashdesk.store.crashes import NewCrash, SignatureRecord  # noqa: E402

TARGET_INGEST = 1000.0
TARGET_SEARCH_P95_MS = 50.0
TARGET_FACETS_MS = 250.0

PRODUCTS = {  # product: (weight, major versions, module prefix)
    "Firefox": (60, range(115, 133), "xul"),
    "Thunderbird": (12, range(115, 129), "thunderbird"),
    "Fenix": (15, range(120, 133), "libxul"),
    "Focus": (5, range(124, 133), "libxul"),
    "MozillaVPN": (8, range(2, 25), "vpn"),
}
OSES = [("Windows NT", "10.0.19045", 0.62), ("Mac OS X", "14.4.1", 0.14), ("Linux", "6.5.0", 0.09),
        ("Android", "14", 0.15)]
CPUS = {"Windows NT": ["amd64", "x86", "arm64"], "Mac OS X": ["arm64", "amd64"], "Linux": ["amd64"],
        "Android": ["arm64", "arm"]}
NAMESPACES = ["mozilla", "mozilla::dom", "mozilla::net", "mozilla::gfx", "mozilla::layers", "js", "js::jit",
              "nsThread", "nsContentUtils", "mozilla::ipc", "IPC", "base", "webrender", "skia", "angle"]
VERBS = ["Run", "Process", "Dispatch", "Handle", "Create", "Destroy", "Paint", "Layout", "Resolve", "Flush",
         "Send", "Recv", "Compile", "Execute", "Visit", "Update", "Notify", "Invoke", "Schedule", "Release"]
NOUNS = ["Event", "Task", "Frame", "Message", "Node", "Element", "Texture", "Surface", "Script", "Channel",
         "Buffer", "Request", "Stream", "Worker", "Timer", "Promise", "Document", "Shader", "Glyph", "Layer"]
THREAD_NAMES = ["Compositor", "IPC I/O Parent", "Timer", "DOM Worker", "StreamTrans #1", "Socket Thread",
                "JS Helper", "ImageIO", "Cache2 I/O", "BgIOThreadPool #1", "Permission", "URL Classifier"]
WAIT_FUNCTIONS = ["NtWaitForSingleObject", "NtWaitForMultipleObjects", "ZwRemoveIoCompletion",
                  "NtWaitForAlertByThreadId", "SleepConditionVariableSRW", "NtDelayExecution", "futex_wait",
                  "__psynch_cvwait", "epoll_wait", "mach_msg_trap"]
DOMAINS = ["example.com", "mozilla.org", "youtube.com", "google.com", "wikipedia.org", "github.com",
           "news.ycombinator.com", "bank.example.net", "mail.example.org", "shop.example.de"]


class World:
    """The pools every crash draws from."""

    def __init__(self, rng: random.Random, crashes: int = 100_000) -> None:
        self.rng = rng
        self.threads = 8
        names = set()
        while len(names) < max(12_000, crashes // 50):
            ns = rng.choice(NAMESPACES)
            cls = rng.choice(NOUNS) + rng.choice(NOUNS)
            names.add(f"{ns}::{cls}::{rng.choice(VERBS)}{rng.choice(NOUNS)}{rng.randrange(40) or ''}")
        self.functions = sorted(names)
        self.signatures = []
        # the long tail grows with the store: ~3,000 signatures at 100k crashes, ~40,000 at 1M, most of them
        # seen a handful of times (Zipf exponent 1.1)
        for i in range(max(3_000, crashes // 25)):
            top = self.functions[rng.randrange(len(self.functions))]
            prefix = rng.choice(["", "", "", "OOM | small | ", "OOM | large | ", "shutdownhang | "])
            self.signatures.append((prefix + top, i))
        self.sig_weights = [1.0 / (i + 1) ** 1.1 for i in range(len(self.signatures))]
        self.sig_cum = list(_cumulative(self.sig_weights))
        common = [f"lib{n}.so" for n in ("c", "m", "pthread", "dl", "stdc++", "gcc_s", "z", "ssl", "crypto",
                                           "glib-2.0", "gtk-3", "X11", "dbus-1", "fontconfig", "freetype")]
        win = ["ntdll.dll", "kernel32.dll", "KERNELBASE.dll", "user32.dll", "gdi32.dll", "ole32.dll",
               "combase.dll", "d3d11.dll", "dxgi.dll", "nvwgf2umx.dll", "igd10iumd64.dll", "atidxx64.dll",
               "mozglue.dll", "nss3.dll", "freebl3.dll", "softokn3.dll", "lgpllibs.dll", "msvcp140.dll",
               "vcruntime140.dll", "ucrtbase.dll", "winmm.dll", "ws2_32.dll", "crypt32.dll", "shell32.dll"]
        extra = [f"{rng.choice(['ext', 'av', 'ime', 'hook', 'shell', 'drv', 'codec'])}{i:03d}.dll"
                 for i in range(360)]
        self.modules = common + win + extra
        self.base_modules = common + win  # loaded by every crash
        self.extra_modules = extra  # a few hot ones (drivers, AV hooks) in most crashes, a long tail in few
        self.extra_cum = list(_cumulative([1.0 / (i + 1) ** 0.9 for i in range(len(extra))]))
        self.mod_debug = {m: f"{rng.getrandbits(128):032X}0" for m in self.modules}
        self.product_names = list(PRODUCTS)
        self.product_cum = list(_cumulative([PRODUCTS[p][0] for p in self.product_names]))

    def pick_signature(self) -> str:
        return self.signatures[_pick(self.rng, self.sig_cum)][0]

    def pick_extra_modules(self, k: int) -> list[str]:
        """``k`` distinct third-party modules, popular ones far more often (weighted, without replacement)."""
        chosen: dict[str, None] = {}
        while len(chosen) < k:
            chosen[self.extra_modules[_pick(self.rng, self.extra_cum)]] = None
        return list(chosen)

    def version(self, product: str) -> str:
        majors = PRODUCTS[product][1]
        major = majors[min(len(majors) - 1, int(len(majors) * self.rng.random()))]
        r = self.rng.random()
        if r < 0.12:
            return f"{major + 1}.0b{self.rng.randrange(1, 10)}"
        if r < 0.2 and product == "Firefox":
            return f"{major}.{self.rng.randrange(0, 4)}.{self.rng.randrange(0, 3)}esr"
        return f"{major}.0" + (f".{self.rng.randrange(1, 4)}" if r < 0.5 else "")


def _h(*parts: object) -> int:
    """A stable 128-bit hash (``hash()`` of strings changes between runs)."""
    return int.from_bytes(hashlib.blake2b(repr(parts).encode(), digest_size=16).digest(), "big")


def _cumulative(weights):
    total = 0.0
    s = sum(weights)
    for w in weights:
        total += w / s
        yield total


def _pick(rng: random.Random, cum: list[float]) -> int:
    x = rng.random()
    lo, hi = 0, len(cum) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if cum[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


def make_crash(world: World, i: int, now: float) -> NewCrash:
    rng = world.rng
    product = world.product_names[_pick(rng, world.product_cum)]
    version = world.version(product)
    x = rng.random()
    acc = 0.0
    os_name, os_ver = OSES[0][0], OSES[0][1]
    for name, ver, weight in OSES:
        acc += weight
        if x < acc:
            os_name, os_ver = name, ver
            break
    if product in ("Fenix", "Focus"):
        os_name, os_ver = "Android", "14"
    cpu = rng.choice(CPUS[os_name])
    signature = world.pick_signature()
    top = signature.split(" | ")[-1]
    main_module = f"{PRODUCTS[product][2]}.dll" if os_name == "Windows NT" else f"{PRODUCTS[product][2]}.so"
    module_names = [main_module] + world.base_modules + world.pick_extra_modules(149 - len(world.base_modules))
    modules = []
    base = 0x7FF600000000
    for n, name in enumerate(module_names):
        ours = n == 0 or name.startswith(("mozglue", "nss", "freebl"))
        ver = (version.split("b")[0].removesuffix("esr") if ours
               else f"10.0.{19041 + _h(name) % 5}.{_h(name) % 3000}")
        debug = f"{_h(name, version):032X}0" if ours else world.mod_debug[name]
        modules.append({
            "base_addr": f"0x{base:016x}", "end_addr": f"0x{base + 0x100000:016x}", "filename": name,
            "debug_file": name.rsplit(".", 1)[0] + ".pdb", "debug_id": debug, "code_id": debug[:16],
            "version": ver, "loaded_symbols": n < 20, "missing_symbols": n >= 140, "corrupt_symbols": False,
        })
        base += 0x200000
    frames = []
    funcs = [top] + [world.functions[rng.randrange(len(world.functions))] for _ in range(29)]
    for n, fn in enumerate(funcs):
        mod = module_names[0] if n < 20 else rng.choice(module_names[:40])
        frames.append({
            "frame": n, "module": mod, "function": fn, "function_offset": f"0x{rng.randrange(4096):x}",
            "file": f"hg:hg.mozilla.org/mozilla-central:{fn.split('::')[0].replace('::', '/')}/src{n % 7}.cpp:"
                    f"{rng.getrandbits(48):012x}",
            "line": rng.randrange(1, 5000), "offset": f"0x{rng.getrandbits(44):016x}",
            "module_offset": f"0x{rng.randrange(1 << 24):x}",
            "trust": "context" if n == 0 else rng.choice(["cfi", "frame_pointer", "scan"]),
        })
    if i % 250 == 7:  # a few deep stacks (recursion), for frames:>500
        deep = [dict(frames[-1], frame=n) for n in range(30, 30 + 570)]
        frames = frames + deep
    threads = [{"thread_name": "MainThread", "frame_count": len(frames), "frames": frames}]
    for name in THREAD_NAMES[:world.threads - 1]:
        depth = rng.randrange(8, 20)
        fns = ([rng.choice(WAIT_FUNCTIONS)] + [world.functions[rng.randrange(len(world.functions))]
                                              for _ in range(depth - 3)] + ["BaseThreadInitThunk", "RtlUserThreadStart"])
        threads.append({"thread_name": name, "frame_count": depth, "frames": [
            {"frame": n, "module": "ntdll.dll" if n == 0 or n == depth - 1 else rng.choice(module_names[:40]),
             "function": fn, "offset": f"0x{rng.getrandbits(40):x}",
             "trust": "context" if n == 0 else rng.choice(["cfi", "cfi", "scan"])} for n, fn in enumerate(fns)]})
    processed = {
        "status": "OK",
        "system_info": {"os": os_name, "os_ver": os_ver, "cpu_arch": cpu, "cpu_info": "family 6 model 158",
                        "cpu_count": rng.choice([2, 4, 8, 16])},
        "crash_info": {"type": rng.choice(["EXCEPTION_ACCESS_VIOLATION_READ", "SIGSEGV / SEGV_MAPERR",
                                           "EXCEPTION_BREAKPOINT", "SIGABRT"]),
                       "address": f"0x{rng.choice([0, 8, 16, rng.getrandbits(40)]):016x}", "crashing_thread": 0},
        "crashing_thread": {"threads_index": 0, "frames": frames},
        "threads": threads,
        "modules": modules, "main_module": 0, "thread_count": len(threads),
    }
    url = f"https://{rng.choice(DOMAINS)}/{rng.choice(['', 'watch', 'search', 'app', 'inbox'])}?id={i}"
    annotations = {
        "ProductName": product, "Version": version, "BuildID": f"2024{rng.randrange(1, 13):02d}"
        f"{rng.randrange(1, 29):02d}{rng.randrange(10**6):06d}",
        "ReleaseChannel": "beta" if "b" in version else ("esr" if version.endswith("esr") else "release"),
        "URL": url, "Comments": rng.choice(["", "", "crashed while printing", "happens on startup",
                                            "video playback froze then crash"]),
        "Add-ons": ",".join(f"addon{rng.randrange(200)}@example.org:1.{rng.randrange(9)}" for _ in range(3)),
        "ProcessType": rng.choice(["parent", "content", "gpu", "rdd", "utility"]),
        "StartupCrash": rng.choice(["0", "0", "0", "1"]), "uptime": str(rng.randrange(1, 100000)),
        "useragent_locale": rng.choice(["en-US", "de", "fr", "ja", "pt-BR"]),
        "AdapterVendorID": rng.choice(["0x10de", "0x8086", "0x1002"]),
        "AdapterDeviceID": f"0x{rng.randrange(65536):04x}",
    }
    while len(annotations) < 40:
        annotations[f"Telemetry{len(annotations):02d}"] = f"{rng.choice(NOUNS)}-{rng.randrange(1000)}"
    submitted = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now - rng.random() * DAYS * 86400))
    return NewCrash(annotations, source=rng.choice(["collector", "import", "server:crash-stats"]),
                    crash_id=new_crash_id(), submitted_at=f"{submitted}.{rng.randrange(10**6):06d}+00:00",
                    processed=processed, signature=SignatureRecord(signature, None, [], "generic"))


DAYS = 30


def version_rank(template: NewCrash) -> float:
    """Where the template's version sits in its product's train, 0 (oldest major) to 1 (newest)."""
    product = template.annotations["ProductName"]
    majors = list(PRODUCTS[product][1])
    major = int(template.annotations["Version"].split(".")[0])
    return majors.index(major) / max(1, len(majors) - 1) if major in majors else 0.5


def pick_template(world: World, templates: list[NewCrash], fraction: float) -> NewCrash:
    """A template for the crash ``fraction`` of the way through the ingest (0 the oldest, 1 the newest):
    ``templates`` sorted by :func:`version_rank`, so crashes of newer versions arrive later (versions over time),
    with a spread of older ones still crashing."""
    x = min(0.999, max(0.0, fraction + world.rng.gauss(0.0, 0.15)))
    return templates[int(x * len(templates))]


def vary(world: World, template: NewCrash, i: int, now: float, fraction: float | None = None) -> NewCrash:
    """A new crash from a template: its own id, date, signature (and top frame), URL and uptime; the rest
    (product, version, modules, 29 frames, annotations) shared with the template's other copies. ``fraction``
    (0..1, how far through the ingest) dates it within the last :data:`DAYS` days in order, with a day's
    jitter; without it the date is uniform over those days."""
    rng = world.rng
    signature = world.pick_signature()
    top = signature.split(" | ")[-1]
    processed = dict(template.processed)
    frames = list(processed["threads"][0]["frames"])
    frames[0] = dict(frames[0], function=top)
    processed["threads"] = [dict(processed["threads"][0], frames=frames), *processed["threads"][1:]]
    processed["crashing_thread"] = {"threads_index": 0, "frames": frames}
    annotations = dict(template.annotations)
    annotations["URL"] = f"https://{rng.choice(DOMAINS)}/{rng.choice(['', 'watch', 'search', 'app'])}?id={i}"
    annotations["uptime"] = str(rng.randrange(1, 100000))
    age = (1.0 - fraction) * DAYS * 86400 + rng.random() * 86400 if fraction is not None else rng.random() * DAYS * 86400
    submitted = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now - min(age, DAYS * 86400)))
    return NewCrash(annotations, source=rng.choice(["collector", "import", "server:crash-stats"]),
                    crash_id=new_crash_id(), submitted_at=f"{submitted}.{rng.randrange(10**6):06d}+00:00",
                    processed=processed, signature=SignatureRecord(signature, None, [], "generic"))


def run_search(store: CrashStore, query: str, *, engine: str, **kw):
    """``CrashStore.search`` (``engine`` "auto"), or the search module's own entry point with that engine."""
    if engine == "auto":
        return store.search(query, **kw)
    from crashdesk.store.search import search

    return search(store, query, engine=engine, **kw)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--crashes", "--n", dest="n", type=int, default=100_000, help="crashes to ingest")
    ap.add_argument("--batch", type=int, default=500, help="crashes per transaction")
    ap.add_argument("--ahead", type=int, default=40, metavar="BATCHES",
                    help="batches generated before they are stored as one stream (generation is not timed)")
    ap.add_argument("--ingest", choices=("add_batches", "add_many"), default="add_batches",
                    help="store the generated batches as one stream (CrashStore.add_batches: each commit overlaps "
                    "building the next batch) or with one add_many call per batch")
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--seed", type=int, default=2)
    ap.add_argument("--templates", type=int, default=None,
                    help="distinct generated crashes that the others vary (default: 2000, or crashes / 100 "
                    "past 200,000)")
    ap.add_argument("--dir", type=Path, default=None, help="data folder (default: a temporary one)")
    ap.add_argument("--keep", action="store_true", help="keep the data folder")
    ap.add_argument("--reuse", action="store_true", help="skip ingest when --dir already holds a store")
    ap.add_argument("--add", type=int, default=0, metavar="N",
                    help="add N more crashes to the existing store in --dir (timed like a fresh ingest)")
    ap.add_argument("--skip-analyze", action="store_true",
                    help="with --reuse or --add: keep the existing statistics")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--dbstat", action="store_true", help="print KB per crash by table (reads the whole file)")
    ap.add_argument("--threads", type=int, default=8, help="threads per crash (the crashing main thread and "
                    "named others sitting in wait functions)")
    ap.add_argument("--engine", choices=("auto", "sql", "index"), default="auto",
                    help="search engine for the timed searches (crashdesk.store.search: auto, sql, or the facet index "
                    "whenever it can answer); facets always use auto")
    ap.add_argument("--only", default=None, metavar="TEXT",
                    help="time only the searches whose label contains TEXT (case-insensitive), and no facets")
    ap.add_argument("--no-thread-queries", action="store_true",
                    help="leave out the every-thread queries (to run this script against a store without them)")
    args = ap.parse_args()

    folder = args.dir or Path(tempfile.mkdtemp(prefix="crashdesk-bench-store-"))
    rng = random.Random(args.seed)
    world = World(rng, args.n)
    world.threads = max(1, min(args.threads, len(THREAD_NAMES) + 1))
    report: dict = {"n": args.n, "batch": args.batch}
    exists = (folder / "crashdesk.sqlite").exists()
    if args.add and not (args.dir and exists):
        ap.error("--add needs --dir holding a store")
    reused = (args.reuse or bool(args.add)) and exists
    store = CrashStore.open(folder)
    try:
        if not reused or args.add:
            adding = args.add or args.n
            now = time.time()
            store_seconds = 0.0
            store_cpu = 0.0
            gen_seconds = 0.0
            done = 0
            t0 = build_started = time.perf_counter()
            count = args.templates or max(2000, args.n // 100)
            templates = sorted((make_crash(world, k, now) for k in range(min(count, args.n))), key=version_rank)
            gen_seconds += time.perf_counter() - t0
            first = args.n if args.add else 0  # added crashes come after the store's, the newest ones
            total = first + adding
            while done < adding:
                t0 = time.perf_counter()
                # --ahead batches are generated, then stored as one stream: CrashStore.add_batches commits each
                # batch while building the next one's rows (--ingest add_many: one add_many call per batch)
                stream = []
                made = done
                while made < adding and len(stream) < args.ahead:
                    stream.append([vary(world, pick_template(world, templates, (first + made + k) / total),
                                        first + made + k, now, (first + made + k) / total)
                                   for k in range(min(args.batch, adding - made))])
                    made += len(stream[-1])
                t1 = time.perf_counter()
                gen_seconds += t1 - t0
                c1 = time.process_time()
                if args.ingest == "add_many":
                    stored = (store.add_many(batch) for batch in stream)
                else:
                    stored = store.add_batches(stream)
                for ids in stored:
                    done += len(ids)
                    if sys.stderr.isatty():
                        print(f"\ringested {done}/{adding} ({done / (store_seconds + time.perf_counter() - t1):.0f}/s)",
                              end="", file=sys.stderr)
                store_cpu += time.process_time() - c1
                store_seconds += time.perf_counter() - t1
            if sys.stderr.isatty():
                print(file=sys.stderr)
            split = {phase: store.ingest_seconds[phase] / done * 1000
                     for phase in ("draft", "rows", "inserts", "commit")}
            report["ingest"] = {"crashes": done, "added_to": first, "api": args.ingest, "seconds": round(store_seconds, 2),
                                "build_wall_seconds": round(time.perf_counter() - build_started, 1),
                                "rate_per_s": round(done / store_seconds, 1),
                                "cpu_seconds": round(store_cpu, 2),
                                "generation_seconds": round(gen_seconds, 2),
                                "load_average": round(os.getloadavg()[0], 1),
                                "ms_per_crash": {k: round(v, 3) for k, v in split.items()}}
            print(f"ingest done: {json.dumps(report['ingest'])}", file=sys.stderr, flush=True)
            store.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        if not ((reused or args.add) and args.skip_analyze):
            store.db.conn.execute("ANALYZE")
        report["db_bytes"] = (folder / "crashdesk.sqlite").stat().st_size
        conn = store.db.conn
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_schema WHERE type IN ('table', 'view')")}
        counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                  for t in ("crashes", "frames", "crash_modules", "modules", "annotations", "function_names")
                  if t in tables}
        report["rows"] = counts
        if args.dbstat:  # bytes per crash by table (indexes counted with their table), from SQLite's dbstat
            owner = dict(conn.execute("SELECT name, tbl_name FROM sqlite_schema WHERE type IN ('table', 'index')"))
            by_table: dict[str, int] = {}
            for name, size in conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"):
                table = owner.get(name, name)
                by_table[table] = by_table.get(table, 0) + size
            total = max(1, counts["crashes"])
            report["kb_per_crash"] = {t: round(b / total / 1000, 2) for t, b in
                                      sorted(by_table.items(), key=lambda kv: -kv[1]) if b / total >= 10}
            report["kb_per_crash"]["(whole file)"] = round(report["db_bytes"] / total / 1000, 2)
        # representative values taken from the data itself
        common_sig = conn.execute("SELECT signature FROM crashes GROUP BY signature ORDER BY count(*) DESC "
                                  "LIMIT 1").fetchone()[0]
        rare_sig = conn.execute("SELECT signature FROM crashes GROUP BY signature ORDER BY count(*) ASC, "
                                "signature LIMIT 1").fetchone()[0]
        module, mversion = conn.execute(
            "SELECT m.filename, m.version FROM modules m WHERE m.filename = 'xul.dll' "
            "ORDER BY m.version DESC LIMIT 1").fetchone()
        queries = {
            "exact signature (most common)": f'signature:="{common_sig}"',
            "exact signature (rare)": f'signature:="{rare_sig}"',
            "signature contains": "signature:~Shader",
            "function contains": "function:~FlushTexture",
            "function exact": f'function:="{world.functions[1234]}"',
            "module + version": f"module:{module}@{mversion}",
            "module version range": "module:xul.dll@>=130",
            "annotation contains": "ann.URL:~bank.example",
            "annotation exact key/value": "ann.ProcessType:=gpu",
            "full text word": "nsContentUtils",
            "full text phrase": '"OOM | large"',
            "product + version range + date": "product:Firefox version:>=128 date:>=7d",
            "keyword + negation": 'os:"Windows NT" !cpu:amd64',
            "OR group": "(product:Fenix OR product:Focus) signature:~Paint",
            "everything (empty query)": "",
        }
        if not args.no_thread_queries:
            fn = world.functions[4321]
            queries.update({
                "thread:any function contains": "thread:any function:~WaitForAlert",
                "thread:any function exact": f'thread:any function:="{fn}"',
                "thread:main function contains": "thread:main function:~FlushTexture",
                "thread.name + function": "thread.name:Compositor function:~PaintLayer",
                "stack: A > B (crashing)": 'stack:"Run > FlushTexture"',
                "stack: A >> B on any thread": 'thread:any stack:"ProcessEvent >> NtWaitForSingleObject"',
                "frame.trust:scan in top 3": "frame.trust:scan@3",
                "frame.module + version": f"frame.module:{module}@{mversion}",
                "frames:>500": "frames:>500",
                "thread term + product + date": "thread:any function:~epoll_wait product:Firefox date:>=7d",
            })

        if args.only:
            queries = {k: v for k, v in queries.items() if args.only.lower() in k.lower()}
        results = {}
        for label, q in queries.items():
            run_search(store, q, engine=args.engine)  # warm-up
            times = []
            cpu = []
            for _ in range(args.repeat):
                t0, c0 = time.perf_counter(), time.process_time()
                r = run_search(store, q, sort="-date", limit=100, engine=args.engine)
                times.append((time.perf_counter() - t0) * 1000)
                cpu.append((time.process_time() - c0) * 1000)
            results[label] = {"query": q, "total": r.total, "p50_ms": round(statistics.median(times), 2),
                              "p95_ms": round(percentile(times, 0.95), 2),
                              "cpu_p50_ms": round(statistics.median(cpu), 2)}
        report["search"] = results
        facet_sets = {"signature,product,version,os,cpu over everything": ("signature", "product", "version", "os",
                                                                            "cpu"),
                      "module over everything": ("module",),
                      "signature,product,version,os,cpu for product:Firefox": ("signature", "product", "version",
                                                                                "os", "cpu")}
        if args.only:
            facet_sets = {}
        if not args.no_thread_queries and not args.only:
            facet_sets["thread.function for thread.name:Compositor"] = ("thread.function",)
            facet_sets["thread.function over everything"] = ("thread.function",)
        facets = {}
        for label, fs in facet_sets.items():
            q = ("product:Firefox" if "Firefox" in label else
                 "thread.name:Compositor function:~PaintLayer" if "Compositor" in label else "")
            store.search(q, facets=fs, limit=0)
            times = []
            reps = max(3, args.repeat // 4)
            for _ in range(reps):
                t0 = time.perf_counter()
                store.search(q, facets=fs, limit=0)
                times.append((time.perf_counter() - t0) * 1000)
            facets[label] = {"p50_ms": round(statistics.median(times), 1), "max_ms": round(max(times), 1)}
        report["facets"] = facets
    finally:
        store.close()
        if not args.keep and args.dir is None:
            shutil.rmtree(folder, ignore_errors=True)

    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"store benchmark: {args.n} crashes, batches of {args.batch}, data folder {folder}"
          + (" (kept)" if args.keep or args.dir else ""))
    if "ingest" in report:
        ing = report["ingest"]
        ok = "OK" if ing["rate_per_s"] >= TARGET_INGEST else "BELOW TARGET"
        added = f" added to a store of {ing['added_to']}" if ing["added_to"] else ""
        print(f"ingest: {ing['crashes']} crashes{added} in {ing['seconds']} s = {ing['rate_per_s']} crashes/s "
              f"(target >= {TARGET_INGEST:.0f}/s: {ok}); {ing['cpu_seconds']} s of CPU in this process "
              f"({ing['crashes'] / max(ing['cpu_seconds'], 1e-9):.0f} crashes per CPU-second); "
              f"generation {ing['generation_seconds']} s not counted; building the store took "
              f"{ing['build_wall_seconds']} s wall")
        ms = ing["ms_per_crash"]
        sqlite_ms = ms["inserts"] + ms["commit"]
        print(f"per crash: building rows {ms['rows']:.3f} ms (Python), SQLite inserts {ms['inserts']:.3f} ms, "
              f"commits {ms['commit']:.3f} ms (WAL write, fsync, checkpoints); SQLite's part alone allows at most "
              f"{1000 / max(sqlite_ms, 1e-9):.0f} crashes/s on this machine")
        print(f"load average at the end of ingest: {ing['load_average']} on {os.cpu_count()} CPUs")
    print(f"database: {report['db_bytes'] / 1e6:.0f} MB; rows: " + ", ".join(f"{k} {v}"
                                                                        for k, v in report["rows"].items()))
    if "kb_per_crash" in report:
        print("KB per crash by table (dbstat, indexes with their table): "
              + ", ".join(f"{t} {v}" for t, v in report["kb_per_crash"].items()))
    print(f"{'search (total + 100 hits, -date)':48} {'hits':>7} {'p50 ms':>8} {'p95 ms':>8} {'CPU p50':>8}")
    for label, r in report["search"].items():
        flag = "" if r["p95_ms"] <= TARGET_SEARCH_P95_MS else "  > target"
        print(f"{label:48} {r['total']:>7} {r['p50_ms']:>8.2f} {r['p95_ms']:>8.2f} {r['cpu_p50_ms']:>8.2f}{flag}")
    print(f"(target: p95 <= {TARGET_SEARCH_P95_MS:.0f} ms)")
    for label, r in report["facets"].items():
        flag = "" if r["p50_ms"] <= TARGET_FACETS_MS else "  > target"
        print(f"facets {label}: p50 {r['p50_ms']} ms, max {r['max_ms']} ms{flag}")
    print(f"(target: facets over everything <= {TARGET_FACETS_MS:.0f} ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
