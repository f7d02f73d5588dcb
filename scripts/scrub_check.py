"""Scrub every minidump under the given folders and walk it again: prints, per dump, the memory bytes kept and
zeroed and whether every thread's frames, the crash info and the signature are unchanged, for CrashDesk's
stackwalker and (with ``--reference BIN``) ``minidump-stackwalk``. Symbols: a ``symbols`` folder beside the
dump, or one or two levels up.

    python3 scripts/scrub_check.py ../shared/corpus --reference benchmarks/.work/minidump-stackwalk
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crashdesk.engine.minidump import MinidumpError  # noqa: E402
from crashdesk.engine.minidump.scrub import scrub_minidump  # noqa: E402
from crashdesk.engine.signature import SignatureGenerator, resolve_profile  # noqa: E402
from crashdesk.engine.stackwalk import process_minidump  # noqa: E402
from crashdesk.model.redaction import RedactionPolicy  # noqa: E402
from crashdesk.symbols import build_provider  # noqa: E402


def frames(doc: dict) -> list:
    return [[(f.get("module"), f.get("function"), f.get("offset"), f.get("trust")) for f in t["frames"]]
            for t in doc.get("threads") or []]


def symbols_for(dump: Path) -> Path | None:
    for folder in (dump.parent, dump.parent.parent, dump.parent.parent.parent):
        if (folder / "symbols").is_dir():
            return folder / "symbols"
    return None


def same(a: dict, b: dict, gen) -> bool:
    sig = lambda d: gen.generate_from({"stackwalk": d, "annotations": {}}).signature  # noqa: E731
    return frames(a) == frames(b) and a.get("crash_info") == b.get("crash_info") and sig(a) == sig(b)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("roots", nargs="+", type=Path)
    ap.add_argument("--reference", type=Path, help="a minidump-stackwalk binary to check with too")
    args = ap.parse_args()
    gen = SignatureGenerator(resolve_profile("generic", None))
    dumps = sorted({p for r in args.roots for p in (r.rglob("*.dmp") if r.is_dir() else [r])})
    totals = {"dumps": 0, "ours_same": 0, "ref_same": 0, "ref_checked": 0, "kept": 0, "zeroed": 0, "skipped": 0}
    with tempfile.TemporaryDirectory() as tmp:
        for dump in dumps:
            syms = symbols_for(dump)
            provider = build_provider([syms] if syms else [], [], None)
            data = dump.read_bytes()
            try:
                scrubbed, report = scrub_minidump(data, RedactionPolicy(), provider)
                before, after = process_minidump(data, provider), process_minidump(scrubbed, provider)
            except MinidumpError as exc:
                print(f"{dump}: skipped ({exc})")
                totals["skipped"] += 1
                continue
            out = Path(tmp) / "scrubbed.dmp"
            out.write_bytes(scrubbed)
            ours = same(before, after, gen)
            ref = None
            if args.reference:
                extra = [str(syms)] if syms else []
                a = subprocess.run([str(args.reference), "--json", str(dump), *extra], capture_output=True)
                b = subprocess.run([str(args.reference), "--json", str(out), *extra], capture_output=True)
                if a.returncode == 0 and b.returncode == 0:
                    ref = same(json.loads(a.stdout), json.loads(b.stdout), gen)
                    totals["ref_checked"] += 1
                    totals["ref_same"] += ref
            totals["dumps"] += 1
            totals["ours_same"] += ours
            totals["kept"] += report.memory_bytes_kept
            totals["zeroed"] += report.memory_bytes_zeroed
            print(f"{dump}: kept {report.memory_bytes_kept} zeroed {report.memory_bytes_zeroed} bytes; streams "
                  f"zeroed {report.streams_zeroed or '-'}; path names masked {report.path_names_replaced}; "
                  f"same frames+crash_info+signature: ours {ours}, reference {ref}")
    print(json.dumps(totals))
    bad = totals["dumps"] - totals["ours_same"] + totals["ref_checked"] - totals["ref_same"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
