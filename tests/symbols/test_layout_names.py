"""Untrusted debug file names and ids (the checks are string tests, and names found safe are remembered): a name
is refused exactly when it is not one plain path component, with the first offending character named, however
often it is checked; an id is used exactly when it is 1 to 80 hex digits."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crashdesk.symbols.layout import MAX_NAME, UnsafeName, check_component, check_id, is_hex, leaf_name

# the characters Tecken refuses in a path segment, Windows-reserved ones and separators, and control characters
REFUSED = set('/\\:*?"<>|^`{}[]#%\'') | {chr(c) for c in range(32)} | {chr(127)}
RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}


def _verdict(name: str) -> str | None:
    """None for a safe name, else what the refusal must mention."""
    if not name or name in (".", ".."):
        return "unusable"
    if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME:
        return "too long"
    first = next((ch for ch in name if ch in REFUSED), None)
    if first is not None:
        return f"contains {first!r}"
    if name[0] == " " or name[-1] in " .":
        return "starts or ends"
    if name.split(".")[0].lower() in RESERVED:
        return "reserved device name"
    return None


def _check(name: str) -> str | None:
    try:
        assert check_component(name) == name
        return None
    except UnsafeName as exc:
        return str(exc)


@pytest.mark.parametrize("name", ["xul.pdb", "..", ".", "", "a/../b", "..\\x", "a]b", "a\x7fb", "tab\there",
                                  "con.dll", "COM1", "trailing.", " lead", "x" * 201, "\u00e9" * 101,
                                  "NUL\x00.pdb", "ok [1].pdb", "libc.so.6"])
def test_named_cases(name):
    for _ in range(2):  # the second check answers from the names already found safe
        got, want = _check(name), _verdict(name)
        assert (got is None) == (want is None), (name, got)
        if want is not None:
            assert want in got


@given(st.text(alphabet=st.sampled_from([*"abcXYZ.- ", *REFUSED, "\u00e9", "\u212a", "\ud800"]), max_size=12)
       | st.sampled_from(sorted(RESERVED)).map(lambda r: r + ".dll"))
@settings(max_examples=300, deadline=None)
def test_fuzzed_names(name):
    for _ in range(2):
        got, want = _check(name), _verdict(name)
        assert (got is None) == (want is None), (name, got)
        if want is not None:
            assert want in got


def test_leaf_name_takes_the_part_after_the_last_separator():
    assert leaf_name(r"C:\build\obj/xul.pdb") == "xul.pdb"
    assert leaf_name("/usr/lib/libc.so.6") == "libc.so.6"
    assert leaf_name("trailing/") == "" and leaf_name("plain") == "plain"


@given(st.text(alphabet=st.sampled_from([*"0123456789abcdefABCDEFgG-x ", "\u0661", "\uff10", "\u00b2", "\n"]),
               max_size=84) | st.integers(78, 82).map(lambda n: "a" * n))
@settings(max_examples=300, deadline=None)
def test_ids_are_one_to_eighty_ascii_hex_digits(debug_id):
    hex_id = re.fullmatch(r"[0-9A-Fa-f]{1,80}", debug_id) is not None  # the rule, as a pattern
    assert is_hex(debug_id) == (re.fullmatch(r"[0-9A-Fa-f]+", debug_id) is not None)
    if hex_id:
        assert check_id(debug_id) == debug_id.upper()
    else:
        with pytest.raises(UnsafeName):
            check_id(debug_id)
