#!/usr/bin/env python3
"""Stackwalk conformance against the reference outputs of the corpus (minidump-stackwalk 0.25.0).

For every case folder holding a minidump and ``expected.json`` / ``expected-nosyms.json`` (or
``expected-error.txt``), process the dump with CrashDesk and compare, thread by thread and frame by frame:
module, function, function_offset, file, line, offset, module_offset, trust; plus crash_info, the crashing
thread, system_info, modules (ids, filenames, symbol status) and thread counts.

    python scripts/conformance.py [CORPUS_DIR ...]     # default: ../shared/corpus
    python scripts/conformance.py --whole [CORPUS_DIR ...]

Prints a per-case table and exits 1 when a non-frame field differs or frames disagree. ``--whole`` compares
every key of every document with the reference's (the whole ``expected*.json``), lists the differing key paths
per document and prints how many documents are equal as a whole.
"""

from __future__ import annotations

import json
import lzma
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

FRAME_FIELDS = ("module", "function", "function_offset", "file", "line", "offset", "module_offset", "trust")
CRASH_FIELDS = ("type", "address", "crashing_thread", "assertion")
MODULE_FIELDS = (
    "filename", "code_id", "debug_file", "debug_id", "version", "base_addr", "end_addr",
    "loaded_symbols", "missing_symbols", "corrupt_symbols", "symbol_url",
)  # fmt: skip
TOP_FIELDS = (
    "status", "pid", "thread_count", "main_module", "lsb_release", "linux_memory_map_count",
    "unloaded_modules", "handles", "mac_crash_info", "mac_boot_args", "soft_errors", "system_info",
)  # fmt: skip


@dataclass
class CaseResult:
    name: str
    mode: str  # "syms" | "nosyms" | "error"
    frames_total: int = 0
    frames_equal: int = 0
    field_diffs: list[str] = field(default_factory=list)
    millis: float = 0.0
    document_diffs: list[str] | None = None  # --whole: key paths differing from the reference document

    @property
    def frame_ratio(self) -> float:
        return self.frames_equal / self.frames_total if self.frames_total else 1.0


def find_dump(case: Path) -> Path | None:
    for p in sorted(case.iterdir()):
        if p.suffix == ".dmp":
            return p
    return None


def compare_output(expected: dict, got: dict, result: CaseResult) -> None:
    """Fill ``result`` with the differences between the reference's and CrashDesk's JSON."""
    diffs = result.field_diffs
    for key in TOP_FIELDS:
        if expected.get(key) != got.get(key):
            diffs.append(f"{key}: expected {str(expected.get(key))[:120]} got {str(got.get(key))[:120]}")
    eci, gci = expected.get("crash_info") or {}, got.get("crash_info") or {}
    for key in CRASH_FIELDS:
        if eci.get(key) != gci.get(key):
            diffs.append(f"crash_info.{key}: expected {eci.get(key)!r} got {gci.get(key)!r}")
    emods, gmods = expected.get("modules") or [], got.get("modules") or []
    if len(emods) != len(gmods):
        diffs.append(f"module count: expected {len(emods)} got {len(gmods)}")
    for em, gm in zip(emods, gmods, strict=False):
        for key in MODULE_FIELDS:
            if em.get(key) != gm.get(key):
                diffs.append(f"module {em.get('filename')}.{key}: expected {em.get(key)!r} got {gm.get(key)!r}")
    ect, gct = expected.get("crashing_thread"), got.get("crashing_thread")
    if (ect is None) != (gct is None):
        diffs.append("crashing_thread presence differs")
    elif ect is not None:
        if ect.get("threads_index") != gct.get("threads_index"):
            diffs.append("crashing_thread.threads_index differs")
        if ect["frames"] and gct["frames"] and ect["frames"][0].get("registers") != gct["frames"][0].get(
            "registers"
        ):
            diffs.append("crashing_thread registers differ")
    for index, (et, gt) in enumerate(zip(expected.get("threads") or [], got.get("threads") or [], strict=False)):
        for key in ("thread_id", "thread_name", "last_error_value"):
            if et.get(key) != gt.get(key):
                diffs.append(f"thread {index} {key}: expected {et.get(key)!r} got {gt.get(key)!r}")
        ef, gf = et.get("frames") or [], gt.get("frames") or []
        for i in range(max(len(ef), len(gf))):
            result.frames_total += 1
            if i < len(ef) and i < len(gf) and all(ef[i].get(k) == gf[i].get(k) for k in FRAME_FIELDS):
                result.frames_equal += 1


def document_diffs(expected, got, path: str = "") -> list[str]:
    """Key paths where two JSON documents differ (every key, every list element)."""
    if isinstance(expected, dict) and isinstance(got, dict):
        out = []
        for key in sorted(set(expected) | set(got)):
            sub = f"{path}.{key}" if path else key
            if key not in got:
                out.append(f"{sub} (missing)")
            elif key not in expected:
                out.append(f"{sub} (extra)")
            else:
                out += document_diffs(expected[key], got[key], sub)
        return out
    if isinstance(expected, list) and isinstance(got, list):
        if len(expected) != len(got):
            return [f"{path} (length {len(expected)} != {len(got)})"]
        out = []
        for i, (e, g) in enumerate(zip(expected, got, strict=True)):
            out += document_diffs(e, g, f"{path}[{i}]")
        return out
    if expected != got or type(expected) is not type(got):
        return [path]
    return []


def run_case(case: Path, mode: str, symbols: Path | None, whole: bool = False) -> CaseResult:
    """Compare one case folder in ``mode`` (``syms`` with ``symbols`` as the store, or ``nosyms``)."""
    from crashdesk.engine.minidump import MinidumpError
    from crashdesk.engine.stackwalk import process_minidump
    from crashdesk.symbols import build_provider

    result = CaseResult(case.name, mode)
    dump = find_dump(case)
    if dump is None:
        result.field_diffs.append("no .dmp file")
        return result
    if (case / "expected-error.txt").exists():
        result.mode = "error"
        try:
            process_minidump(dump, None)
            result.field_diffs.append("the reference rejects this dump; CrashDesk produced a result")
        except MinidumpError:
            pass
        return result
    expected_file = case / ("expected.json" if mode == "syms" else "expected-nosyms.json")
    expected = json.loads(expected_file.read_text())
    provider = build_provider([symbols], [], None) if mode == "syms" and symbols is not None else None
    started = time.perf_counter()
    got = process_minidump(dump, provider)
    result.millis = 1000 * (time.perf_counter() - started)
    compare_output(expected, got, result)
    if whole:
        # the document `crashdesk stackwalk --json` prints: CrashDesk's own reader notes go to its log there
        from crashdesk.engine.stackwalk import json_view

        result.document_diffs = document_diffs(expected, json_view(got))
    return result


def corpus_cases(corpus: Path) -> list[tuple[Path, Path | None]]:
    """(case folder, symbol store) pairs under a corpus root (``fetched/*/*`` and ``linux-crashpad/*``)."""
    out = []
    for case in sorted(corpus.glob("fetched/*/*")) + sorted(corpus.glob("linux-crashpad/*")):
        if case.is_dir() and find_dump(case) is not None:
            out.append((case, case.parent / "symbols"))
    return out


def unpack_xz_store(src: Path, dest: Path) -> None:
    """Copy a store whose files may be ``.xz``-compressed into ``dest`` (decompressed)."""
    for f in src.rglob("*"):
        if f.is_file():
            target = dest / f.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            if f.suffix == ".xz":
                target.with_suffix("").write_bytes(lzma.decompress(f.read_bytes()))
            else:
                shutil.copyfile(f, target)


def print_table(results: list[CaseResult], out=sys.stdout) -> None:
    print(f"{'case':48s} {'mode':6s} {'frames':>11s} {'agree':>7s} {'ms':>6s}  field diffs", file=out)
    for r in results:
        ratio = f"{100 * r.frame_ratio:6.1f}%"
        frames = f"{r.frames_equal}/{r.frames_total}"
        diffs = "; ".join(r.field_diffs[:3]) if r.field_diffs else "-"
        print(f"{r.name[:48]:48s} {r.mode:6s} {frames:>11s} {ratio:>7s} {r.millis:6.1f}  {diffs}", file=out)
    total = sum(r.frames_total for r in results)
    equal = sum(r.frames_equal for r in results)
    print(f"TOTAL frames {equal}/{total} = {100 * equal / max(total, 1):.2f}%", file=out)


def print_whole(results: list[CaseResult], out=sys.stdout) -> None:
    documents = [r for r in results if r.mode != "error"]
    equal = [r for r in documents if not r.document_diffs]
    for r in documents:
        if r.document_diffs:
            shown = "; ".join(r.document_diffs[:6]) + (f" (+{len(r.document_diffs) - 6})" if len(r.document_diffs) > 6 else "")
            print(f"DIFF {r.name} [{r.mode}]: {shown}", file=out)
    rejected = len(results) - len(documents)
    print(f"WHOLE documents equal {len(equal)}/{len(documents)} (+{rejected} rejected dumps)", file=out)


def main(argv: list[str]) -> int:
    whole = "--whole" in argv
    argv = [a for a in argv if a != "--whole"]
    roots = [Path(a) for a in argv] or [ROOT.parent / "shared" / "corpus"]
    results = []
    for root in roots:
        for case, symbols in corpus_cases(root):
            for mode in ("nosyms", "syms"):
                r = run_case(case, mode, symbols, whole)
                r.name = f"{case.parent.name}/{case.name}"
                results.append(r)
                if r.mode == "error":
                    break
    print_table(results)
    if whole:
        print_whole(results)
    bad = [r for r in results if r.field_diffs or r.frames_equal != r.frames_total]
    if whole:
        bad += [r for r in results if r.document_diffs]
    return 1 if bad else 0


if __name__ == "__main__":
    with tempfile.TemporaryDirectory():
        sys.exit(main(sys.argv[1:]))
