"""Arbitrary bytes after a MODULE line never break loading or lookups (typed errors only, never a crash)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crashdesk.engine.symfile import SymbolFileError, load_symbol_file

RECORDS = [
    b"FUNC 1000 40 8 f", b"FUNC m 1000 zz 0 g", b"FUNC", b"1000 10 5 0", b"1000 10", b"10 10 -1 -1",
    b"INLINE 0 1 0 0 1000 10", b"INLINE 0 1 0 1000", b"INLINE x", b"INLINE_ORIGIN 0 n", b"INLINE_ORIGIN",
    b"PUBLIC 2000 0 p", b"PUBLIC m 2000", b"STACK CFI INIT 1000 40 .cfa: $rsp 8 +", b"STACK CFI 1001 .cfa:",
    b"STACK CFI INIT", b"STACK WIN 4 1000 40 0 0 0 0 0 0 1 $eip", b"STACK WIN 0 1000 40 0 0 0 0 0 0 0",
    b"STACK WIN 4 1000", b"FILE 0 a.c", b"FILE x", b"INFO CODE_ID", b"INFO", b"", b"\r", b"\xff\xfe\x00",
]

line = st.one_of(st.sampled_from(RECORDS), st.binary(max_size=40).filter(lambda b: b"\n" not in b))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(line, max_size=40), tail=st.booleans(), addrs=st.lists(st.integers(0, 0x3000), max_size=8))
def test_any_content_loads_and_answers(lines: list[bytes], tail: bool, addrs: list[int]) -> None:
    body = b"MODULE Linux x86_64 AB0 fuzz\n" + b"\n".join(lines) + (b"\n" if tail else b"")
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "f.sym"
        p.write_bytes(body)
        for index_dir in (None, Path(d) / "idx", Path(d) / "idx"):
            try:
                s = load_symbol_file(p, index_dir=index_dir)
            except SymbolFileError:
                continue
            assert s.malformed_lines >= 0
            for a in addrs + [0x1000, 0x1001, 0x2000]:
                s.function_at(a)
                s.line_at(a)
                s.inlines_at(a)
                s.cfi_at(a)
                s.stack_win_at(a)
            s.close()
