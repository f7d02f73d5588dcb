"""Register order per CPU as the reference's text report prints it, and offsets without zero padding."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from crashdesk.model.registers import ordered, short_hex

DATA = Path(__file__).resolve().parents[1] / "data"


def test_amd64_order_matches_the_text_report():
    dump = DATA / "crashes" / "01-null-deref" / "dump.dmp"
    processed = json.loads((DATA / "crashes" / "01-null-deref" / "expected.json").read_text())
    regs = processed["crashing_thread"]["frames"][0]["registers"]
    text = subprocess.run([sys.executable, "-m", "crashdesk", "stackwalk", str(dump)], capture_output=True,
                          text=True, check=True).stdout
    block = text.split("(crashed)", 1)[1].split("Found by", 1)[0]
    in_report = re.findall(r"(\w+) = 0x", block)
    assert [name for name, _ in ordered(regs)] == in_report


def test_arm_families_keep_their_own_order():
    arm = {f"r{i}": "0x0" for i in range(13)} | {"sp": "0x0", "lr": "0x0", "pc": "0x0"}
    assert [n for n, _ in ordered(arm)][:13] == [f"r{i}" for i in range(13)]
    arm64 = {f"x{i}": "0x0" for i in range(29)} | {"fp": "0", "lr": "0", "sp": "0", "pc": "0"}
    assert [n for n, _ in ordered(arm64)][-4:] == ["fp", "lr", "sp", "pc"]
    assert [n for n, _ in ordered({"eip": 1, "eax": 2, "esp": 3})] == ["eip", "esp", "eax"]


def test_short_hex():
    assert short_hex("0x000000000000003a") == "0x3a"
    assert short_hex("0x0000000000000000") == "0x0"
    assert short_hex("0x00000000000028ef") == "0x28ef"
    assert short_hex("main") == "main" and short_hex(None) == ""
