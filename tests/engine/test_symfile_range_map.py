"""The index's range map (``scan._range_map``, issue 24: sorted with tuples compared in C instead of a Python
key function) against the rule written out plainly: stable sort by (start, size), drop empty ranges and every
range that starts inside the last one kept. Many equal starts and sizes, out of file order, on purpose."""

from __future__ import annotations

from array import array

from hypothesis import given, settings
from hypothesis import strategies as st

from crashdesk.engine.symfile import scan

NAMES = ("func_addr", "func_size", "func_off", "func_end")


def _plain(records: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    order = sorted(range(len(records)), key=lambda i: (records[i][0], records[i][1]))  # stable: file order
    kept: list[tuple[int, int, int, int]] = []
    last_end = -1
    for i in order:
        a, s = records[i][0], records[i][1]
        if s == 0 or (kept and a <= last_end):
            continue
        kept.append(records[i])
        last_end = a + s - 1
    return kept


records_st = st.lists(st.tuples(st.integers(0, 40), st.integers(0, 6)), max_size=60).map(
    lambda pairs: [(a, s, 100 + k, 1000 + k) for k, (a, s) in enumerate(pairs)])


@settings(max_examples=300, deadline=None)
@given(records_st)
def test_range_map_equals_the_plain_rule(records):
    arrays = {name: array("Q", [r[k] for r in records]) for k, name in enumerate(NAMES)}
    scan._range_map(arrays, NAMES)
    got = list(zip(*(arrays[n] for n in NAMES), strict=True))
    assert got == _plain(records)
