#!/usr/bin/env python3
"""Smoke test of the packaged app (``dist/crashdesk/``): does the frozen build do what the source tree does?

1. ``crashdesk --version`` prints the package version (first line) and the collector's name;
2. ``crashdesk stackwalk`` on a test dump gives byte-for-byte the JSON the source tree gives (with .sym files,
   and with a native debug file where ``symbolic`` is installed);
3. ``crashdesk collector --port 0`` prints its submit URL and answers ``/__heartbeat__``;
4. ``crashdesk process`` runs a frozen worker process on an imported dump;
5. the GUI starts offscreen and quits cleanly (``CRASHDESK_QUIT_AFTER_MS``).

    python packaging/smoke_test.py [--build] [--app dist/crashdesk]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DUMP = ROOT / "tests" / "data" / "crashes" / "01-null-deref" / "dump.dmp"
SYMBOLS = ROOT / "tests" / "data" / "crashes" / "symbols"
NATIVE = ROOT / "tests" / "data" / "native"
INSTRUCTION_DUMP = ROOT / "tests" / "data" / "minidumps" / "linux-amd64-mini" / "linux-mini.dmp"


def build(dist: Path, work: Path) -> float:
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
                    "--distpath", str(dist), "--workpath", str(work), str(ROOT / "packaging" / "crashdesk.spec")],
                   check=True, cwd=ROOT)
    return time.monotonic() - started


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", action="store_true", help="build the app first (PyInstaller)")
    parser.add_argument("--app", type=Path, default=ROOT / "dist" / "crashdesk")
    args = parser.parse_args()
    if args.build:
        seconds = build(args.app.parent, ROOT / "build" / "pyinstaller")
        print(f"built {args.app} in {seconds:.0f} s")
    exe = args.app / ("crashdesk.exe" if os.name == "nt" else "crashdesk")
    print(f"app folder: {folder_size(args.app) / 1e6:.0f} MB")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    results: list[tuple[str, bool, str]] = []

    def check(name: str, ok: bool, detail: str = "") -> None:
        results.append((name, ok, detail))
        print(f"{'PASS' if ok else 'FAIL'} {name} {detail}")

    from crashdesk import __version__

    out = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=120, env=env)
    first = (out.stdout.splitlines() or [""])[0].strip()
    check("--version", out.returncode == 0 and first == f"crashdesk {__version__}"
          and "crashdesk-collector" in out.stdout, first)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        walk = ["stackwalk", "--json", "--symbols-path", str(SYMBOLS), "--symbols-cache", str(tmp / "c1"), str(DUMP)]
        frozen = subprocess.run([str(exe), *walk], capture_output=True, text=True, timeout=300, env=env)
        walk[walk.index(str(tmp / "c1"))] = str(tmp / "c2")
        source = subprocess.run([sys.executable, "-m", "crashdesk", *walk], capture_output=True, text=True,
                                timeout=300, env=env, cwd=ROOT)
        same = frozen.returncode == 0 and source.returncode == 0 and \
            json.loads(frozen.stdout) == json.loads(source.stdout)
        check("stackwalk matches the source tree", same, frozen.stderr.strip()[-300:])

        # native debug files (symbolic's Rust library loaded by path, conversion in a forked child)
        try:
            import symbolic  # noqa: F401
        except ImportError:
            pass
        else:
            native = ["stackwalk", "--json", "--symbols-path", str(NATIVE / "abort"), "--symbols-cache",
                      str(tmp / "n1"), str(NATIVE / "abort" / "abort.20180103.145440.12345.20827.dmp")]
            frozen = subprocess.run([str(exe), *native], capture_output=True, text=True, timeout=300, env=env)
            native[native.index(str(tmp / "n1"))] = str(tmp / "n2")
            source = subprocess.run([sys.executable, "-m", "crashdesk", *native], capture_output=True, text=True,
                                    timeout=300, env=env, cwd=ROOT)
            same = frozen.returncode == 0 and source.returncode == 0 and \
                json.loads(frozen.stdout) == json.loads(source.stdout) and \
                json.loads(frozen.stdout)["crashing_thread"]["frames"][1]["function"] == "main"
            check("stackwalk with a native debug file matches the source tree", same, frozen.stderr.strip()[-300:])
        # the bundled disassembler (capstone's shared library) decodes the faulting instruction
        frozen = subprocess.run([str(exe), "stackwalk", "--json", str(INSTRUCTION_DUMP)], capture_output=True,
                                text=True, timeout=300, env=env)
        got = json.loads(frozen.stdout)["crash_info"]["instruction"] if frozen.returncode == 0 else None
        want = json.loads((INSTRUCTION_DUMP.parent / "expected-nosyms.json").read_text())["crash_info"]["instruction"]
        check("crash_info.instruction decoded as the reference does", got == want, f"{got!r} {frozen.stderr[-200:]}")

        collector = subprocess.Popen([str(exe), "collector", "--port", "0", "--data-dir", str(tmp / "home")],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        try:
            url = collector.stdout.readline().strip()
            base = url.rsplit("/submit", 1)[0]
            with urllib.request.urlopen(base + "/__heartbeat__", timeout=30) as resp:
                check("collector __heartbeat__", resp.status == 200 and url.endswith("/submit"), url)
        except Exception as exc:  # report, don't crash the smoke test
            check("collector __heartbeat__", False, repr(exc))
        finally:
            collector.terminate()
            collector.wait(30)

        home = tmp / "home2"
        subprocess.run([str(exe), "import", "--data-dir", str(home), str(DUMP)], capture_output=True, timeout=120,
                       env=env)
        proc = subprocess.run([str(exe), "process", "--json", "--data-dir", str(home), "--workers", "1",
                               "--symbols-path", str(SYMBOLS)], capture_output=True, text=True, timeout=300, env=env)
        ok = proc.returncode == 0 and json.loads(proc.stdout or "{}").get("processed") == 1
        check("process in a frozen worker", ok, (proc.stdout + proc.stderr).strip()[-300:])

        try:
            gui = subprocess.run([str(exe), "--data-dir", str(tmp / "home3")], capture_output=True, text=True,
                                 timeout=120, env=dict(env, CRASHDESK_QUIT_AFTER_MS="3000"))
            check("GUI starts offscreen and quits", gui.returncode == 0, gui.stderr.strip()[-300:])
        except subprocess.TimeoutExpired:
            check("GUI starts offscreen and quits", False, "still running after 120 s")

    passed = sum(1 for _n, ok, _d in results if ok)
    print(f"{passed} passed, {len(results) - passed} failed")
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
