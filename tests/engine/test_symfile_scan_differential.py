"""The ``.sym`` scanner against the grammar it replaced (issue 24, cold paths), over random symbol text.

The scanner's pattern consumes a FUNC block's line records two at a time and leaves the value of a 10-digit
decimal field to the scan loop; the index must come out exactly as with the pattern of index version 5 (one line
record at a time, every decimal's range spelled out in the pattern), which is kept here as the reference. The
same text scanned in small windows must give the same index too.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crashdesk.engine.symfile import load_symbol_file
from crashdesk.engine.symfile import scan as scan_mod

_H64 = rb"[0-9a-fA-F]{1,16}+"
_H32 = rb"[0-9a-fA-F]{1,8}+"
_L64 = rb"[0-9a-f]{1,16}+"
_L32 = rb"[0-9a-f]{1,8}+"
_D32 = (rb"(?:[0-9]{1,9}|[0-3][0-9]{9}|4[01][0-9]{8}|42[0-8][0-9]{7}|429[0-3][0-9]{6}|4294[0-8][0-9]{5}"
        rb"|42949[0-5][0-9]{4}|429496[0-6][0-9]{3}|4294967[01][0-9]{2}|42949672[0-8][0-9]|429496729[0-5])"
        rb"(?![0-9])")
_D9 = rb"[0-9]{1,9}+"
# The grammar of index version 5 (groups 1-13 as the scan loop reads them).
REFERENCE_GRAMMAR = re.compile(
    rb"\n(?:"
    rb"FUNC (?:m )?(" + _H64 + rb") (" + _H32 + rb") " + _H32 + rb"(?![0-9a-fA-F]) ?[^\n]*"
    rb"(?:\n" + _L64 + rb" " + _L32 + rb" " + _D9 + rb" " + _D9 + rb"(?=\n)"
    rb"|\nINLINE " + _D9 + rb" " + _D9 + rb" " + _D9 + rb" " + _D9
    + rb"(?: " + _L64 + rb" " + _L32 + rb")++(?=\n))*+"
    rb"|(?:STACK CFI INIT (" + _H64 + rb") (" + _H32 + rb") [^\n]*(?:\nSTACK CFI " + _L64 + rb" [^\n]*+)*+)"
    rb"|(?:PUBLIC (?:m )?(" + _H64 + rb") " + _H32 + rb"(?![0-9a-fA-F]) ?[^\n]*)"
    rb"|(?:STACK WIN ([0-9a-fA-F]) (" + _H64 + rb") (" + _H32 + rb")(?: " + _H32 + rb"){6} ([0-9]) [^\n]*)"
    rb"|(?:FILE ([0-9]{1,10}+) [^\n]*)"
    rb"|(?:INLINE_ORIGIN ([0-9]{1,10}+) [^\n]*)"
    rb"|(INFO [^\n]*)"
    rb"|((?!" + _L64 + rb" " + _L32 + rb" " + _D9 + rb" " + _D9 + rb"(?![^\n])"
    rb"|" + _H64 + rb" " + _H32 + rb" " + _D32 + rb" " + _D32 + rb"\r*(?![^\n])"
    rb"|INLINE " + _D32 + rb" " + _D32 + rb" " + _D32 + rb" " + _D32 + rb"(?: " + _H64 + rb" " + _H32
    + rb"(?![0-9a-fA-F]))+\r*(?![^\n])"
    rb"|STACK CFI " + _H64 + rb" |\r*(?![^\n]))[^\n]*)"
    rb")"
)

# Numbers around every width and range limit the grammar knows.
DECIMALS = ["0", "7", "123456789", "999999999", "1000000000", "0000000001", "4294967295", "4294967296",
            "4294967300", "9999999999", "42949672950", "-1", "1a"]
HEXES = ["0", "a", "1F", "ffffffff", "100000000", "ffffffffffffffff", "1ffffffffffffffff", "DEAD", "g1"]

dec = st.sampled_from(DECIMALS)
hexn = st.sampled_from(HEXES)
tail = st.sampled_from(["", "\r", "\r\r", " ", " x"])


def _fmt(template: str, *values: str) -> str:
    return template.format(*values)


records = st.one_of(
    st.builds(_fmt, st.just("{} {} {} {}"), hexn, hexn, dec, dec),  # line records, some malformed
    st.builds(_fmt, st.just("{} {} {} {}"), st.sampled_from(["1000", "2a"]), st.sampled_from(["10", "8"]),
              st.sampled_from(["5", "12"]), st.sampled_from(["0", "1"])),  # the common spelling, often
    st.builds(_fmt, st.just("INLINE {} {} {} {} {} {}"), dec, dec, dec, dec, hexn, hexn),
    st.builds(_fmt, st.just("INLINE 0 {} 1 0 1000 10 {} {}"), dec, hexn, hexn),
    st.builds(_fmt, st.just("FUNC {} {} 0 f"), hexn, hexn),
    st.builds(_fmt, st.just("FUNC m {} 40 8 g"), hexn),
    st.builds(_fmt, st.just("PUBLIC {} 0 p"), hexn),
    st.builds(_fmt, st.just("STACK CFI INIT {} {} .cfa: $rsp 8 +"), hexn, hexn),
    st.builds(_fmt, st.just("STACK CFI {} .cfa: $rsp {} +"), hexn, dec),
    st.builds(_fmt, st.just("STACK WIN 4 {} {} 0 0 0 0 0 0 1 $eip"), hexn, hexn),
    st.builds(_fmt, st.just("FILE {} a.c"), dec),
    st.builds(_fmt, st.just("INLINE_ORIGIN {} n"), dec),
    st.sampled_from(["INFO CODE_ID AB x.so", "", "garbage", "MODULE Linux x86_64 AB0 again", "STACK CFI",
                     "INLINE", "FUNC"]),
)
line = st.builds(lambda r, t: (r + t).encode(), records, tail)
# FUNC blocks of line records in the common spelling, where the fast paths take lines in pairs: the tails and
# the odd record among them decide where a pair or a block stops.
common = st.builds(lambda a, s, n, t: f"{a} {s} {n} 0{t}".encode(), st.sampled_from(["1000", "2a", "fff"]),
                   st.sampled_from(["10", "8"]), st.sampled_from(["5", "123456789", "4294967295", "4294967296"]),
                   st.sampled_from(["", "", "", "\r", " x", "0"]))
block = st.builds(lambda head, body: [head, *body], st.sampled_from([b"FUNC 1000 40 0 f", b"FUNC m 2000 8 0 g"]),
                  st.lists(st.one_of(common, common, common, line), max_size=9))
text = st.lists(st.one_of(block, line.map(lambda x: [x])), max_size=12).map(lambda parts: sum(parts, []))


def _sym(lines: list[bytes], final_lf: bool, crlf: bool) -> bytes:
    sep = b"\r\n" if crlf else b"\n"
    return b"MODULE Linux x86_64 AB0 fuzz\n" + sep.join(lines) + (sep if final_lf else b"")


def _with_reference_grammar(data: bytes):
    real = scan_mod._record_re
    scan_mod._record_re = lambda: REFERENCE_GRAMMAR
    try:
        return scan_mod.scan(data, "", workers=1)
    finally:
        scan_mod._record_re = real


def _same(a, b) -> None:
    assert (a.malformed_lines, a.malformed_examples) == (b.malformed_lines, b.malformed_examples)
    assert {k: list(v) for k, v in a.arrays.items()} == {k: list(v) for k, v in b.arrays.items()}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=text, final_lf=st.booleans(), crlf=st.booleans())
def test_scan_equals_the_reference_grammar(lines: list[bytes], final_lf: bool, crlf: bool) -> None:
    data = _sym(lines, final_lf, crlf)
    _same(scan_mod.scan(data, "", workers=1), _with_reference_grammar(data))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=text, final_lf=st.booleans(), window=st.integers(1, 64))
def test_windowed_scans_equal_one_pass(lines: list[bytes], final_lf: bool, window: int) -> None:
    """A big file is scanned in windows (each ends at the first line feed at or after its size), so window
    edges fall inside FUNC blocks, between the lines of a pair and on a 10-digit line."""
    data = _sym(lines, final_lf, crlf=False)
    one = scan_mod.scan(data, "", workers=1)
    saved = scan_mod._WINDOW
    scan_mod._WINDOW = window
    try:
        windowed = scan_mod.scan(data, "", workers=1)
    finally:
        scan_mod._WINDOW = saved
    _same(one, windowed)


@pytest.mark.parametrize("line,bad", [
    (b"1000 10 4294967295 0", 0),  # the largest u32
    (b"1000 10 4294967296 0", 1),  # one more: rust-minidump's u32 parse fails
    (b"1000 10 0 4294967296\r", 1),
    (b"1000 10 0000000001 0", 0),  # ten digits with leading zeros fit
    (b"1000 1A 9999999999 0", 1),  # the upper-case spelling takes the same check
    (b"1000 10 42949672950 0", 1),  # eleven digits
    (b"1234567890 10 5 0", 0),  # ten decimal-looking digits in a hex field are an address
    (b"INLINE 0 4294967295 0 0 1000 10", 0),
    (b"INLINE 0 1 4294967296 0 1000 10\r", 1),
    (b"INLINE 4294967296 1 0 0 1000 10", 1),
    (b"STACK CFI 1001 .cfa: $rsp 9999999999 +", 0),  # a CFI delta's rules are not numbers to the grammar
])
def test_ten_digit_decimals(tmp_path, line: bytes, bad: int) -> None:
    """Inside a FUNC block, after a line the fast path stops at, and as the last line without its LF."""
    for before, after in ((b"FUNC 1000 100 0 f\n", b"\n"), (b"FUNC 1000 100 0 f\n1000 10 1 0\r\n", b"\n"),
                          (b"FUNC 1000 100 0 f\n", b"")):
        p = tmp_path / "w.sym"
        p.write_bytes(b"MODULE windows x86 AA1 w.pdb\nFILE 0 a.c\n" + before + line + after)
        expected = max(bad, 0 if after else 1)  # an unterminated last line is malformed (counted once)
        assert load_symbol_file(p).malformed_lines == expected, (before, after)


@pytest.mark.parametrize("body", [
    b"1A2B 10 5 0\n1a2c 8 6 0",  # upper-case hex in a FUNC block's line records: no record either way
    b"1a2b 10 5 0\nFFFFFFFFFFFFFFFF F 1 2\n1a2c 8 6 0",
    b"1A2B 1F 123456789 0\n1A2B 1F 1234567890 0",  # the widest short decimal, then a 10-digit one
    b"10000000000000000 1 5 0",  # a 17-digit address: malformed in either spelling
    b"1a2b 1FFFFFFFF 5 0",  # a 9-digit size
    b"INLINE 0 1 0 0 1A2B 1F 2000 8\n1a2b 10 5 0",
    b"INLINE 0 1 0 0 1A2B 1FFFFFFFF\n1a2b 10 5 0",
    b"1a2b 10 5 0\nSTACK CFI INIT 1A00 10 .cfa: $rsp 8 +\nSTACK CFI 1A04 .cfa: $rsp 16 +\nSTACK CFI 1a08 .cfa: x",
    b"STACK CFI INIT 1a00 10 .cfa: $rsp 8 +\nSTACK CFI 10000000000000000 .cfa: $rsp 16 +",
])
def test_either_case_in_blocks_equals_the_reference_grammar(body: bytes) -> None:
    """The fast paths inside FUNC and STACK CFI INIT blocks take hex digits of either case (one bitmap test per
    character); a line they take is one the reference grammar accepts as no record, so the index is the same."""
    for tail in (b"\n", b"\nPUBLIC 9000 0 p\n"):
        data = b"MODULE Linux x86_64 AB0 case\nFILE 0 a.c\nFUNC 1a00 100 0 f\n" + body + tail
        _same(scan_mod.scan(data, "", workers=1), _with_reference_grammar(data))
