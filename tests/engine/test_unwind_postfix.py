"""The STACK CFI / STACK WIN postfix evaluators, against values worked out by hand from the Breakpad
symbol-file format's definitions."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crashdesk.engine.unwind.postfix import (
    eval_cfi_expr,
    eval_cfi_rules,
    eval_win_program,
    split_cfi_rules,
)

REGS = {"rsp": 0x1000, "rbp": 0x2000, "x29": 0x3000, "sp": 0x4000}
MEMORY = {0x0FF8: 0xAAAA, 0x1008: 0xBBBB, 0x0FF0: 0xCCCC, 20: 0xB3EF04CE, 16: 0xFA1EF2E6}


def _reg(name):
    return REGS.get(name)


def _mem(addr):
    return MEMORY.get(addr)


@pytest.mark.parametrize(
    ("expr", "cfa", "value"),
    [
        ("$rsp 8 +", None, 0x1008),
        ("$rsp 8 -", None, 0x0FF8),
        ("$rsp -8 + ^", None, 0xAAAA),
        (".cfa 8 - ^", 0x1010, 0xBBBB),
        ("$rbp 3 *", None, 0x6000),
        ("$rbp 3 /", None, 0x0AAA),
        ("$rbp 7 %", None, 0x2000 % 7),
        ("$rbp 0x10", None, None),  # hex constants are not part of the syntax
        ("$rsp 33 + 16 @", None, 0x1020),
        ("x29 16 +", None, 0x3010),  # ARM: registers without "$"
        ("0 8 -", None, (1 << 64) - 8),  # 64-bit wrapping
        ("$rsp 0 /", None, None),
        ("$rsp 3 @", None, None),  # alignment must be a power of two
        ("$rsp +", None, None),  # stack underflow
        ("$rsp $rbp", None, None),  # two values left
        ("$rax", None, None),  # unknown register
        (".undef", None, None),
        (".cfa", None, None),  # the CFA cannot be used to compute itself
        ("$rsp 16 + ^", None, None),  # unreadable memory
        ("9223372036854775808", None, None),  # beyond i64
    ],
)
def test_cfi_expressions(expr, cfa, value) -> None:
    assert eval_cfi_expr(expr, _reg, _mem, cfa) == value


def test_cfi_rule_set_keeps_going_when_an_optional_register_fails() -> None:
    rules = split_cfi_rules(".cfa: $rsp 16 + .ra: .cfa -8 + ^ $rbp: .cfa -32 + ^ $rbx: $rsp 24 + ^")
    assert rules == {".cfa": "$rsp 16 +", ".ra": ".cfa -8 + ^", "rbp": ".cfa -32 + ^", "rbx": "$rsp 24 + ^"}
    result = eval_cfi_rules(rules, _reg, _mem)
    assert (result.cfa, result.ra) == (0x1010, 0xBBBB)
    assert result.registers == {"rbp": 0xCCCC, "rbx": None}
    assert eval_cfi_rules({".cfa": "$rsp 16 +", "rbp": "$rbp"}, _reg, _mem) is None  # no .ra
    assert eval_cfi_rules({".cfa": "$nope", ".ra": "0"}, _reg, _mem) is None


def test_cfi_rule_text_must_start_with_a_register() -> None:
    assert split_cfi_rules("$rsp 8 + .cfa: $rsp") is None
    assert split_cfi_rules(".cfa: .ra: 1") is None


def test_stack_win_program_standard_frame() -> None:
    """The classic ebp-frame program: T0 = ebp; eip = [T0 + 4]; ebp = [T0]; esp = T0 + 8."""
    out = eval_win_program("$T0 $ebp = $eip $T0 4 + ^ = $ebp $T0 ^ = $esp $T0 8 + =",
                           {"$ebp": 16, "$esp": 1600}, _mem)
    assert (out["$eip"], out["$ebp"], out["$esp"]) == (0xB3EF04CE, 0xFA1EF2E6, 24)


def test_stack_win_program_details() -> None:
    variables = {"$esp": 32, "$ebp": 1600, ".cbLocals": 8}
    # "=NEXT" glued tokens are split; .undef removes a variable; magic variables are readable
    out = eval_win_program("$T1 .cbLocals 4 + =$T2 5 = $ebp .undef =", variables, _mem)
    assert out["$T1"] == 12 and out["$T2"] == 5 and "$ebp" not in out
    assert eval_win_program("$esp 1 2 - =", variables, _mem)["$esp"] == 0xFFFFFFFF  # 32-bit wrapping
    assert eval_win_program("$esp 4294967295 =", variables, _mem) is None  # beyond i32
    assert eval_win_program("$esp $nope =", variables, _mem) is None
    assert eval_win_program("1 2 =", variables, _mem) is None  # assigning to a number
    assert eval_win_program("$esp 1 0 / =", variables, _mem) is None


@given(st.text(alphabet=st.sampled_from([*"0123456789+-x .", "\u0661", "\u00b2", "\n"]), max_size=8))
@settings(max_examples=300, deadline=None)
def test_an_integer_token_is_an_optional_sign_and_ascii_digits(token):
    """A program's integer literal: ``[+-]?[0-9]+`` and nothing else (read with string tests, no pattern)."""
    from crashdesk.engine.unwind.postfix import _parse_int

    expected = int(token) if re.fullmatch(r"[+-]?[0-9]+", token) else None
    assert _parse_int(token, -(1 << 70), 1 << 70) == expected
