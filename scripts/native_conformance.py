"""Stackwalk every dump of ../shared/corpus/native's MANIFEST with ONLY native debug files and compare the
frames with the reference's expected.json (made by minidump-stackwalk with the dump_syms .sym oracles).

    python3 scripts/native_conformance.py [--corpus ../shared/corpus] [--json] [--default-inlines]

Compared per frame: module, function, function_offset, file, line, offset, module_offset, trust, inlines.
Where the reference's human-readable report is there too (``expected.txt``: the linux-crashpad cases), the
text report made with the native files is compared with it byte for byte (it adds each frame's source-line
offset, ``[file : line + 0x..]``, measured from where the line record starts).
By default inlined frames are produced only for the modules whose oracle was made with ``dump_syms --inlines``
(linux-demo's own binaries), as the reference saw them; ``--default-inlines`` uses CrashDesk's default (inlines
everywhere DWARF has them) and reports what that adds.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FIELDS = ("module", "function", "function_offset", "file", "line", "offset", "module_offset", "trust", "inlines")
INLINE_ORACLES = {"demo-viewer", "demo-scripting", "libdemo_codec.so"}  # dump_syms --inlines (MANIFEST)


def cases(corpus: Path) -> list[dict]:
    """(dump, expected.json, native files) of every dump the native corpus MANIFEST lists."""
    n = corpus / "native"
    demo_files = [n / "linux-demo/bin/demo-viewer", n / "linux-demo/bin/demo-scripting",
                  n / "linux-demo/lib/libdemo_codec.so", n / "linux-demo/system/libc.so.6",
                  n / "linux-demo/system/libstdc++.so.6", n / "linux-demo/system/libgcc_s.so.1",
                  n / "linux-demo/debug/.build-id/93/ac61ec5a8eb1396f9fbd350e3169a558528a40.debug"]
    out = []
    for case in ("03-abort", "05-thread", "06-plugin-so", "07-cxx-terminate"):
        out.append({"name": f"native/linux-demo/{case}", "dump": n / "linux-demo" / case / "dump.dmp",
                    "expected": n / "linux-demo" / case / "expected.json", "files": demo_files})
    lc = corpus / "linux-crashpad"
    if lc.is_dir():
        for case in sorted(p.name for p in lc.iterdir() if (p / "dump.dmp").is_file()):
            out.append({"name": f"linux-crashpad/{case}", "dump": lc / case / "dump.dmp",
                        "expected": lc / case / "expected.json", "files": demo_files})
    f = corpus / "fetched"
    out += [
        {"name": "fetched/getsentry-symbolic/crash_linux", "dump": f / "getsentry-symbolic/crash_linux/crash_linux.dmp",
         "expected": f / "getsentry-symbolic/crash_linux/expected.json",
         "files": [n / "elf/getsentry-symbolic/crash_linux"]},
        {"name": "fetched/llvm-lldb/linux-x86_64", "dump": f / "llvm-lldb/linux-x86_64/linux-x86_64.dmp",
         "expected": f / "llvm-lldb/linux-x86_64/expected.json", "files": [n / "elf/llvm-lldb/linux-x86_64"]},
        {"name": "fetched/chromiumos-tast/abort",
         "dump": f / "chromiumos-tast/abort/abort.20180103.145440.12345.20827.dmp",
         "expected": f / "chromiumos-tast/abort/expected.json", "files": [n / "elf/chromiumos-tast/abort.debug"]},
        {"name": "fetched/getsentry-symbolic/mini-windows", "dump": f / "getsentry-symbolic/mini-windows/mini.dmp",
         "expected": n / "pdb/mini-windows/expected.json", "files": [n / "pdb/crash.pdb", n / "pdb/crash.exe"]},
    ]
    return [c for c in out if c["dump"].is_file() and c["expected"].is_file()]


def frame_key(frame: dict) -> dict:
    out = {k: frame.get(k) for k in FIELDS if k != "inlines"}
    out["inlines"] = [(i.get("function"), i.get("file"), i.get("line")) for i in frame.get("inlines") or []]
    return out


def walk(dump: Path, files: list[Path], work: Path, default_inlines: bool, report: bool = False) -> dict:
    from crashdesk.engine.stackwalk import process_minidump
    from crashdesk.symbols import build_provider

    folder = work / "build"
    if not folder.exists():
        folder.mkdir(parents=True)
        for i, src in enumerate(files):
            d = folder / str(i)
            d.mkdir()
            os.symlink(src, d / src.name)
    inlines = True if default_inlines else (lambda m: m.debug_file in INLINE_ORACLES)
    with build_provider([folder], [], work / "cache", native_inlines=inlines) as provider:
        return process_minidump(str(dump), provider, report=report)


def compare(case: dict, work: Path, default_inlines: bool = False) -> dict:
    got = walk(case["dump"], case["files"], work, default_inlines)
    want = json.loads(case["expected"].read_text())
    total = same = 0
    diffs = []
    if len(got.get("threads", [])) != len(want.get("threads", [])):
        diffs.append({"thread_count": [len(got.get("threads", [])), len(want.get("threads", []))]})
    for ti, (gt, wt) in enumerate(zip(got.get("threads", []), want.get("threads", []), strict=False)):
        gf, wf = gt.get("frames", []), wt.get("frames", [])
        if len(gf) != len(wf):
            diffs.append({"thread": ti, "frame_count": [len(gf), len(wf)]})
        for fi in range(max(len(gf), len(wf))):
            total += 1
            a = frame_key(gf[fi]) if fi < len(gf) else None
            b = frame_key(wf[fi]) if fi < len(wf) else None
            if a == b:
                same += 1
            else:
                fields = [k for k in FIELDS if (a or {}).get(k) != (b or {}).get(k)]
                diffs.append({"thread": ti, "frame": fi, "fields": fields,
                              "got": {k: (a or {}).get(k) for k in fields},
                              "want": {k: (b or {}).get(k) for k in fields}})
    out = {"name": case["name"], "frames": total, "same": same, "diffs": diffs}
    text = case["expected"].with_name("expected.txt")
    if text.is_file():
        from crashdesk.engine.human_report import render_human

        got_text = render_human(walk(case["dump"], case["files"], work, default_inlines, report=True))
        want_lines, got_lines = text.read_text().splitlines(), got_text.splitlines()
        out["text"] = {"lines": len(want_lines), "differ": sum(a != b for a, b in zip(want_lines, got_lines,
                                                                                      strict=False))
                       + abs(len(want_lines) - len(got_lines))}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--default-inlines", action="store_true")
    args = ap.parse_args(argv)
    if not (args.corpus / "native").is_dir():
        print(f"error: no native corpus at {args.corpus / 'native'}", file=sys.stderr)
        return 1
    results = []
    with tempfile.TemporaryDirectory(prefix="native-conf-") as tmp:
        for i, case in enumerate(cases(args.corpus)):
            work = Path(tmp) / str(i)
            work.mkdir()
            results.append(compare(case, work, args.default_inlines))
    frames = sum(r["frames"] for r in results)
    same = sum(r["same"] for r in results)
    if args.json:
        print(json.dumps({"dumps": len(results), "frames": frames, "same": same, "results": results}, indent=1))
    else:
        for r in results:
            text = r.get("text")
            same_text = "" if text is None else (
                "; text report identical" if not text["differ"] else f"; text report: {text['differ']} lines differ")
            print(f"{r['name']}: {r['same']}/{r['frames']} frames identical{same_text}")
            for d in r["diffs"]:
                print("   ", json.dumps(d)[:400])
        texts = [r["text"] for r in results if "text" in r]
        print(f"total: {same}/{frames} frames identical over {len(results)} dumps; "
              f"{sum(not t['differ'] for t in texts)}/{len(texts)} text reports identical")
    return 0


if __name__ == "__main__":
    sys.exit(main())
