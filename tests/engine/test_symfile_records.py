"""Every Breakpad record type, malformed lines, debug-id checks and the persistent index's life cycle."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from crashdesk.engine.symfile import DebugIdMismatch, NotASymbolFile, SymbolFileError, load_symbol_file
from crashdesk.engine.symfile.indexfile import MAGIC

DATA = Path(__file__).resolve().parents[1] / "data" / "symbols" / "store"

SAMPLE = b"""MODULE windows x86 0123456789ABCDEF0123456789ABCDEF1 sample.pdb
INFO CODE_ID 5F3A1B2C4000 sample.dll
INFO GENERATOR mozilla/dump_syms 2.3.5
FILE 0 c:\\src\\main.c
FILE 1 c:\\src\\util.h
INLINE_ORIGIN 0 helper_inner
INLINE_ORIGIN 1 helper_outer
FUNC 1000 40 8 main
INLINE 0 12 0 1 1010 20
INLINE 1 30 1 0 1018 8
1000 10 10 0
1010 8 31 1
1018 8 22 1
1020 20 13 0
FUNC m 2000 10 0 folded_a
2000 10 5 1
FUNC 2000 10 0 folded_b
this line is not valid at all
PUBLIC m 3000 4 pub_three
PUBLIC 3100 0 pub_three_one
STACK CFI INIT 1000 40 .cfa: $esp 4 + .ra: .cfa 4 - ^
STACK CFI 1001 .cfa: $esp 8 + $ebp: .cfa 8 - ^
STACK CFI 1003 .cfa: $ebp 8 +
STACK WIN 4 1000 40 3 0 8 0 10 0 1 $T0 $ebp = $eip $T0 4 + ^ =
STACK WIN 0 1000 40 3 0 8 4 10 0 0 1
STACK WIN 0 2000 10 0 0 0 0 0 0 0 0
STACK WIN 4 2008 2 0 0 0 0 0 0 1 $eip .raSearch ^ =
STACK WIN 2 1000 40 0 0 0 0 0 0 0 0
"""


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    p = tmp_path / "sample.sym"
    p.write_bytes(SAMPLE)
    return p


@pytest.mark.parametrize("indexed", [False, True])
def test_every_record_type(sample: Path, tmp_path: Path, indexed: bool) -> None:
    s = load_symbol_file(sample, "0123456789abcdef0123456789abcdef1", tmp_path / "idx" if indexed else None)
    assert (s.os, s.arch, s.debug_id, s.debug_file) == ("windows", "x86", "0123456789ABCDEF0123456789ABCDEF1",
                                                       "sample.pdb")
    assert (s.code_id, s.code_file, s.generator) == ("5F3A1B2C4000", "sample.dll", "mozilla/dump_syms 2.3.5")
    assert s.malformed_lines == 1 and s.corrupt
    assert "not valid" in s.malformed_examples[0]

    f = s.function_at(0x1011)
    assert (f.name, f.address, f.size, f.parameter_size, f.is_public) == ("main", 0x1000, 0x40, 8, False)
    assert s.line_at(0x1011) == s.line_at(0x1017)
    assert (s.line_at(0x1011).file, s.line_at(0x1011).line, s.line_at(0x1011).address) == ("c:\\src\\util.h", 31,
                                                                                           0x1010)
    assert s.line_at(0x1025).line == 13

    assert s.inlines_at(0x1005) == []
    one = s.inlines_at(0x1012)
    assert [(i.depth, i.name, i.call_file, i.call_line, i.address) for i in one] == [
        (0, "helper_outer", "c:\\src\\main.c", 12, 0x1010)]
    two = s.inlines_at(0x101a)
    assert [(i.depth, i.name, i.call_line) for i in two] == [(0, "helper_outer", 12), (1, "helper_inner", 30)]

    # Two FUNCs at the same address (identical code folding, "m"): the first one in the file is kept.
    assert s.function_at(0x2004).name == "folded_a"
    # Past every FUNC: the nearest PUBLIC at or below the address, "m" flag or not.
    p = s.function_at(0x30ff)
    assert (p.name, p.address, p.size, p.parameter_size, p.is_public) == ("pub_three", 0x3000, 0, 4, True)
    assert s.function_at(0x9999).name == "pub_three_one"
    assert s.function_at(0xfff) is None
    assert s.line_at(0x3000) is None

    assert s.cfi_at(0x1000).rules == {".cfa": "$esp 4 +", ".ra": ".cfa 4 - ^"}
    assert s.cfi_at(0x1002).rules == {".cfa": "$esp 8 +", ".ra": ".cfa 4 - ^", "$ebp": ".cfa 8 - ^"}
    assert s.cfi_at(0x103f).rules == {".cfa": "$ebp 8 +", ".ra": ".cfa 4 - ^", "$ebp": ".cfa 8 - ^"}
    assert s.cfi_at(0x1040) is None

    w = s.stack_win_at(0x1004)  # type 4 preferred over type 0 at the same place
    assert (w.type, w.prologue_size, w.parameter_size, w.local_size, w.has_program_string) == (4, 3, 8, 0x10, True)
    assert w.program_string == "$T0 $ebp = $eip $T0 4 + ^ ="
    w = s.stack_win_at(0x2001)
    assert (w.type, w.has_program_string, w.program_string, w.allocates_base_pointer) == (0, False, None, False)
    w = s.stack_win_at(0x2008)
    assert w.type == 4 and w.program_string == "$eip .raSearch ^ ="
    assert s.stack_win_at(0x2010) is None
    s.close()


def test_fpo_record_values(tmp_path: Path) -> None:
    p = tmp_path / "fpo.sym"
    p.write_bytes(b"MODULE windows x86 AA1 fpo.pdb\nSTACK WIN 0 1000 40 3 1 8 4 10 20 0 1\n")
    w = load_symbol_file(p).stack_win_at(0x1000)
    assert (w.type, w.size, w.prologue_size, w.epilogue_size, w.parameter_size, w.saved_register_size,
            w.local_size, w.max_stack_size, w.has_program_string, w.allocates_base_pointer) == (
        0, 0x40, 3, 1, 8, 4, 0x10, 0x20, False, True)


def _naive_stack_win(text: str, rva: int):
    """An independent oracle written from minidump-stackwalk's documented rules: per type, in file order, a
    record starting inside the previous kept one cuts it short, any other overlap is dropped (identical
    ranges kept once); then the first range in (start, end) order wins where ranges still overlap. FrameData
    before FPO; records whose type and program-string flag disagree are ignored."""
    kept: dict[int, list[list]] = {0: [], 4: []}
    for line in text.splitlines():
        t = line.split(" ", 12)
        if t[:2] != ["STACK", "WIN"] or int(t[2], 16) not in (0, 4):
            continue
        typ, addr, size = int(t[2], 16), int(t[3], 16), int(t[4], 16)
        if (typ == 4) != (t[11] == "1") or size == 0:
            continue
        recs = kept[typ]
        if recs:
            last = recs[-1]
            if addr < last[0] + last[1] and last[0] < addr + size:
                if addr > last[0]:
                    last[1] = addr - last[0]
                elif last[1] != size:
                    continue
        recs.append([addr, size, line])
    for typ in (4, 0):
        chosen = []
        for addr, size, line in sorted(kept[typ], key=lambda r: (r[0], r[1])):
            if chosen and addr < chosen[-1][0] + chosen[-1][1]:
                continue
            chosen.append((addr, size, line))
        for addr, size, line in chosen:
            if addr <= rva < addr + size:
                return addr, size, line
    return None


def test_stack_win_on_real_windows_symbols() -> None:
    path = DATA / "crash.pdb" / "3249D99D0C4049318610F4E4FB0B69361" / "crash.sym"
    text = path.read_text()
    s = load_symbol_file(path)
    starts = sorted({int(line.split()[3], 16) for line in text.splitlines() if line.startswith("STACK WIN")})
    probes = [a + d for a in starts for d in (0, 1, 7)]
    for rva in probes:
        want = _naive_stack_win(text, rva)
        got = s.stack_win_at(rva)
        if want is None:
            assert got is None
        else:
            addr, size, line = want
            t = line.split(" ", 12)
            assert (got.type, got.address, got.size) == (int(t[2], 16), addr, size)
            if got.has_program_string:
                assert got.program_string == t[12]


def test_crlf_file(tmp_path: Path) -> None:
    p = tmp_path / "crlf.sym"
    p.write_bytes(SAMPLE.replace(b"\n", b"\r\n"))
    s = load_symbol_file(p)
    assert s.function_at(0x1011).name == "main"
    assert s.line_at(0x1011).file == "c:\\src\\util.h"
    assert s.cfi_at(0x1002).rules["$ebp"] == ".cfa 8 - ^"
    assert s.malformed_lines == 1


def test_debug_id_mismatch_is_rejected(sample: Path) -> None:
    with pytest.raises(DebugIdMismatch) as err:
        load_symbol_file(sample, "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF1")
    assert err.value.found == "0123456789ABCDEF0123456789ABCDEF1"


@pytest.mark.parametrize("content", [b"", b"\x00\x01binary", b"MODULE windows\n", b"PUBLIC 1000 0 x\n"])
def test_not_a_symbol_file(tmp_path: Path, content: bytes) -> None:
    p = tmp_path / "bad.sym"
    p.write_bytes(content)
    with pytest.raises(NotASymbolFile):
        load_symbol_file(p)


def test_missing_file_is_a_typed_error(tmp_path: Path) -> None:
    with pytest.raises(SymbolFileError):
        load_symbol_file(tmp_path / "nope.sym")


def test_index_is_reused_then_rebuilt_when_stale(sample: Path, tmp_path: Path) -> None:
    idx = tmp_path / "idx"
    first = load_symbol_file(sample, index_dir=idx)
    assert first.index_state == "built" and os.path.isfile(first.index_path)
    first.close()
    second = load_symbol_file(sample, index_dir=idx)
    assert second.index_state == "reused"
    assert second.function_at(0x1011).name == "main"
    second.close()
    # The source changes: the old index must not be used.
    sample.write_bytes(SAMPLE.replace(b"FUNC 1000 40 8 main", b"FUNC 1000 40 8 renamed"))
    os.utime(sample, ns=(1, 1))
    third = load_symbol_file(sample, index_dir=idx)
    assert third.index_state == "built"
    assert third.function_at(0x1011).name == "renamed"
    third.close()


def test_index_of_a_file_changed_in_place_or_of_another_file_is_not_used(sample: Path, tmp_path: Path) -> None:
    """Index files are named by a 64-bit checksum of the source's path (no hashlib on the start-up path), so
    what decides is the header: the source's real path, size, mtime and a checksum of its first/last 64 KiB.
    Same size and mtime but other bytes, or another file's index under this file's name: rebuilt."""
    from crashdesk.engine.symfile import index_path_for

    idx = tmp_path / "idx"
    load_symbol_file(sample, index_dir=idx).close()
    stamp = sample.stat().st_mtime_ns
    sample.write_bytes(SAMPLE.replace(b"FUNC 1000 40 8 main", b"FUNC 1000 40 8 mian"))  # same size
    os.utime(sample, ns=(stamp, stamp))
    changed = load_symbol_file(sample, index_dir=idx)
    assert changed.index_state == "built" and changed.function_at(0x1011).name == "mian"
    changed.close()

    other = tmp_path / "other.sym"  # same size and mtime, another path and other bytes
    other.write_bytes(SAMPLE.replace(b"FUNC 1000 40 8 main", b"FUNC 1000 40 8 niam"))
    os.utime(other, ns=(stamp, stamp))
    target = Path(index_path_for(idx, other))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(Path(index_path_for(idx, sample)).read_bytes())  # as if both names collided
    got = load_symbol_file(other, index_dir=idx)
    assert got.index_state == "built" and got.function_at(0x1011).name == "niam"
    got.close()


@pytest.mark.parametrize("damage", ["flip", "header", "truncate", "magic", "version", "empty"])
def test_broken_index_is_rebuilt(sample: Path, tmp_path: Path, damage: str) -> None:
    idx = tmp_path / "idx"
    s = load_symbol_file(sample, index_dir=idx)
    path = Path(s.index_path)
    s.close()
    raw = bytearray(path.read_bytes())
    if damage == "flip":
        raw[-30] ^= 0xFF
    elif damage == "header":
        raw[40] ^= 0x01
    elif damage == "truncate":
        raw = raw[:-8]
    elif damage == "magic":
        raw[:8] = b"XXXXXXXX"
    elif damage == "version":
        raw[8] = 99
    else:
        raw = bytearray()
    path.write_bytes(bytes(raw))
    again = load_symbol_file(sample, index_dir=idx)
    assert again.index_state == "built"
    assert again.function_at(0x1011).name == "main"
    assert path.read_bytes()[:8] == MAGIC
    again.close()


def test_unsorted_records_are_sorted(tmp_path: Path) -> None:
    p = tmp_path / "u.sym"
    p.write_bytes(b"MODULE Linux x86_64 AB0 u\nFUNC 3000 10 0 c\nFUNC 1000 10 0 a\n1000 10 7 0\n"
                  b"FUNC 2000 10 0 b\nPUBLIC 5000 0 p5\nPUBLIC 4000 0 p4\nFILE 0 a.c\n")
    s = load_symbol_file(p)
    assert [s.function_at(a).name for a in (0x1005, 0x2005, 0x3005, 0x4005, 0x5005)] == ["a", "b", "c", "p4", "p5"]
    assert s.line_at(0x1005).line == 7 and s.line_at(0x1005).file == "a.c"


def test_parallel_scan_matches_single_process(tmp_path: Path, monkeypatch) -> None:
    from crashdesk.engine.symfile import scan as scan_mod

    body = [b"MODULE Linux x86_64 AB0 big\nFILE 0 a.c\n"]
    for i in range(6000):
        a = 0x1000 + i * 0x40
        body.append(b"FUNC %x 40 0 f%d\n%x 20 %d 0\n%x 20 %d 0\n" % (a, i, a, i, a + 0x20, i + 1))
    body.append(b"garbage line\n")
    for i in range(6000):
        a = 0x1000 + i * 0x40
        body.append(b"STACK CFI INIT %x 40 .cfa: $rsp 8 +\nSTACK CFI %x .cfa: $rsp 16 +\n" % (a, a + 1))
    p = tmp_path / "big.sym"
    p.write_bytes(b"".join(body))
    monkeypatch.setattr(scan_mod, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(scan_mod, "_CHUNK_MIN", 1)
    data = p.read_bytes()
    one = scan_mod.scan(data, str(p), workers=1)
    three = scan_mod.scan(data, str(p), workers=3)
    assert one.malformed_lines == three.malformed_lines == 1
    assert all(one.arrays[k] == three.arrays[k] for k in one.arrays)
    assert len(one.arrays["func_addr"]) == 6000
    # Small scan windows (each window's pages are dropped after use) give the same index, mapped or not.
    monkeypatch.setattr(scan_mod, "_WINDOW", 997)
    import mmap

    with open(p, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        for windowed in (scan_mod.scan(data, str(p), workers=1), scan_mod.scan(mapped, str(p), workers=1),
                         scan_mod.scan(mapped, str(p), workers=2)):
            assert windowed.malformed_lines == 1
            assert all(one.arrays[k] == windowed.arrays[k] for k in one.arrays)


def test_lookups_after_close_raise_a_typed_error(sample: Path, tmp_path: Path) -> None:
    s = load_symbol_file(sample, index_dir=tmp_path / "idx")
    s.close()
    s.close()  # twice is harmless
    for call in (s.function_at, s.line_at, s.inlines_at, s.cfi_at, s.stack_win_at):
        with pytest.raises(SymbolFileError):
            call(0x1000)


RULES = b"""MODULE windows x86 AA1 rules.pdb
FILE 1 first.c
FILE 1 second.c
PUBLIC 500 4 early_public
PUBLIC 2000 0 zed
PUBLIC 2000 8 alpha
PUBLIC 2000 8 beta
FUNC 1000 40 c outer
INLINE_ORIGIN 7 late_origin
1000 20 1 1
1010 8 2 1
1020 0 3 1
1020 20 4 1
INLINE 0 10 1 7 1000 30
INLINE 2 30 1 7 1000 30
FUNC 1010 10 0 overlapping
FUNC 3000 10 0 after
STACK WIN 4 1000 40 0 0 18 0 0 0 1 $eip
"""


def test_lookup_rules_of_the_reference(tmp_path: Path) -> None:
    p = tmp_path / "rules.sym"
    p.write_bytes(RULES)
    s = load_symbol_file(p)
    assert s.malformed_lines == 0
    # A FUNC overlapping an earlier one is dropped; the earlier one answers.
    assert s.function_at(0x1015).name == "outer"
    # parameter_size of a FUNC comes from the STACK WIN record covering the address.
    assert s.function_at(0x1000).parameter_size == 0x18
    # Overlapping line records: the first range wins; empty ranges never match.
    assert s.line_at(0x1012).line == 1
    assert s.line_at(0x1020).line == 4
    # A later FILE line with the same id wins.
    assert s.line_at(0x1000).file == "second.c"
    # INLINE_ORIGIN inside a FUNC block does not end the block; the inline chain stops at a missing depth.
    assert [(i.depth, i.name) for i in s.inlines_at(0x1005)] == [(0, "late_origin")]
    # PUBLIC before a FUNC that starts below the address: the PUBLIC ends there, so no symbol.
    assert s.function_at(0x1050) is None
    assert s.function_at(0x800).name == "early_public"
    # Several PUBLICs at one address: the greatest (parameter size, name) is used.
    assert s.function_at(0x2004).name == "beta"
    assert s.function_at(0x3004).name == "after"


@pytest.mark.parametrize("line,bad", [
    (b"INLINE 0 42 1 1 15b45 6b1", 0),  # depth, call line, call file, origin, ranges
    (b"INLINE 0 42 1 15b45 6b1", 1),  # the old form without the call file is not accepted by the reference
    (b"1000 10 -1 0", 1),  # line numbers are unsigned
    (b"1000 10 5 0\r\r", 0),  # any number of CRs before the LF
    (b"STACK WIN 4 1000 10 0 0 0 0 0", 1),  # too few fields
    (b"MODULE windows x86 AA1 again.pdb", 1),  # MODULE only as the first line
])
def test_grammar(tmp_path: Path, line: bytes, bad: int) -> None:
    p = tmp_path / "g.sym"
    p.write_bytes(b"MODULE windows x86 AA1 g.pdb\nFILE 1 a.c\nFUNC 1000 100 0 f\n" + line + b"\n")
    assert load_symbol_file(p).malformed_lines == bad
