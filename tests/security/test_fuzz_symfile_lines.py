"""Fuzz target: ``.sym`` records with numeric fields of any width (issue 19 item 11).

Each generated record knows from its own fields whether rust-minidump's parser would take it (hex u64: at most
16 digits; hex u32: at most 8; decimal u32: at most 10 digits and at most 4294967295; STACK WIN type: one hex
digit). The file must load without an exception, be ``corrupt`` exactly when one record is out of range, and
name the first bad record's line number."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crashdesk.engine.symfile import load_symbol_file

U32_MAX = 2**32 - 1


@st.composite
def hex_field(draw, width: int):
    """(text, fits) for a hex field of a ``width``-digit type: mostly fitting values, some far too wide."""
    digits = draw(st.one_of(st.integers(1, width), st.integers(width + 1, width + 8)))
    text = draw(st.text("0123456789abcdefABCDEF", min_size=digits, max_size=digits))
    return text, digits <= width


@st.composite
def dec_field(draw):
    value = draw(st.one_of(st.integers(0, U32_MAX), st.integers(U32_MAX + 1, 2**80)))
    zeros = draw(st.integers(0, 3))
    text = "0" * zeros + str(value)
    return text, value <= U32_MAX and len(text) <= 10


@st.composite
def record(draw):
    """(lines, fits): one record, or a FUNC block with its line records."""
    kind = draw(st.sampled_from(["FUNC", "PUBLIC", "FILE", "INLINE_ORIGIN", "CFI", "WIN"]))
    h64, h32 = hex_field(16), hex_field(8)
    if kind == "FUNC":
        (a, ok1), (s, ok2), (p, ok3) = draw(h64), draw(h32), draw(h32)
        lines, fits = [f"FUNC {a} {s} {p} f"], ok1 and ok2 and ok3
        for _ in range(draw(st.integers(0, 3))):
            (la, l1), (ls, l2), (ln, l3), (lf, l4) = draw(h64), draw(h32), draw(dec_field()), draw(dec_field())
            lines.append(f"{la.lower()} {ls.lower()} {ln} {lf}")
            fits = fits and l1 and l2 and l3 and l4
        return lines, fits
    if kind == "PUBLIC":
        (a, ok1), (p, ok2) = draw(h64), draw(h32)
        return [f"PUBLIC {a} {p} p"], ok1 and ok2
    if kind in ("FILE", "INLINE_ORIGIN"):
        n, ok = draw(dec_field())
        return [f"{kind} {n} name"], ok
    if kind == "CFI":
        (a, ok1), (s, ok2) = draw(h64), draw(h32)
        return [f"STACK CFI INIT {a} {s} .cfa: $rsp 8 +"], ok1 and ok2
    (a, ok1), (s, ok2) = draw(h64), draw(h32)
    rest = [draw(h32) for _ in range(6)]
    typ = draw(st.sampled_from(["4", "0", "14"]))
    fields = " ".join(t for t, _ in rest)
    return [f"STACK WIN {typ} {a} {s} {fields} {1 if typ == '4' else 0} x"], (
        ok1 and ok2 and all(ok for _, ok in rest) and len(typ) == 1)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=st.lists(record(), min_size=1, max_size=12))
def test_wide_fields_make_the_file_corrupt_never_an_exception(records) -> None:
    lines = ["MODULE Linux x86_64 0123456789ABCDEF0123456789ABCDEF0 fuzz"]
    first_bad = None
    for rec_lines, fits in records:
        if not fits and first_bad is None:
            # the first line of the record that does not fit (a FUNC block: its FUNC line or a line record)
            first_bad = len(lines) + 1
            if rec_lines[0].startswith("FUNC"):
                first_bad = None
                for k, text in enumerate(rec_lines):
                    if not _func_line_fits(text, k == 0):
                        first_bad = len(lines) + 1 + k
                        break
        lines.extend(rec_lines)
    body = ("\n".join(lines) + "\n").encode()
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "f.sym"
        p.write_bytes(body)
        for index_dir in (None, Path(d) / "idx", Path(d) / "idx"):
            with load_symbol_file(p, index_dir=index_dir) as s:
                assert s.corrupt == (first_bad is not None), (body.decode(), s.malformed_examples)
                if first_bad is not None:
                    assert s.malformed_examples[0].startswith(f"line {first_bad}: ")
                for rva in (0, 0x1000, 2**40):
                    s.function_at(rva)
                    s.line_at(rva)
                    s.cfi_at(rva)
                    s.stack_win_at(rva)


def _func_line_fits(text: str, is_func: bool) -> bool:
    tok = text.split(" ")
    if is_func:
        return len(tok[1]) <= 16 and len(tok[2]) <= 8 and len(tok[3]) <= 8
    return (len(tok[0]) <= 16 and len(tok[1]) <= 8 and all(len(t) <= 10 and int(t) <= U32_MAX for t in tok[2:]))
