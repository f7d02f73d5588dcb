"""Evaluators for the postfix programs in Breakpad symbol files.

``STACK CFI`` rules: each register's rule is an expression over the callee's registers (``$rsp``, or bare
``sp``/``x29`` on ARM), the ``.cfa`` and constants, with ``+ - * / % @`` (align) and ``^`` (dereference).
Arithmetic wraps at 64 bits. ``.undef`` makes a rule fail.

``STACK WIN`` programs (x86 FrameData): a sequence of assignments ``$var expr =`` over 32-bit values, with
the magic variables ``.cbParams``, ``.cbCalleeParams``, ``.cbSavedRegs``, ``.cbLocals``, ``.raSearch`` and
``.raSearchStart``.

Both evaluators return None for anything malformed or unreadable; they never raise on bad input.
"""

from __future__ import annotations

from collections.abc import Callable

U64 = (1 << 64) - 1
U32 = (1 << 32) - 1
_I64_MIN, _I64_MAX = -(1 << 63), (1 << 63) - 1
_I32_MIN, _I32_MAX = -(1 << 31), (1 << 31) - 1

ReadWord = Callable[[int], "int | None"]
GetRegister = Callable[[str], "int | None"]


def _parse_int(token: str, lo: int, hi: int) -> int | None:
    digits = token[1:] if token[:1] in ("+", "-") else token
    if not (digits.isascii() and digits.isdigit()):  # [+-]?[0-9]+
        return None
    value = int(token)
    if value < lo or value > hi:
        return None
    return value


def _binary(op: str, lhs: int, rhs: int, mask: int) -> int | None:
    if op == "+":
        return (lhs + rhs) & mask
    if op == "-":
        return (lhs - rhs) & mask
    if op == "*":
        return (lhs * rhs) & mask
    if op == "/":
        return None if rhs == 0 else (lhs // rhs) & mask
    if op == "%":
        return None if rhs == 0 else (lhs % rhs) & mask
    # "@": align down to a power of two
    if rhs == 0 or rhs & (rhs - 1):
        return None
    return lhs & (mask ^ (rhs - 1))


_BINARY_OPS = frozenset("+-*/%@")


def eval_cfi_expr(expr: str, get_register: GetRegister, read_word: ReadWord, cfa: int | None) -> int | None:
    """Evaluate one ``STACK CFI`` expression; None if it fails (unknown token, stack underflow, unreadable
    memory, an explicitly undefined value, or not exactly one value left)."""
    stack: list[int] = []
    for token in expr.split():
        if token in _BINARY_OPS and len(token) == 1:
            if len(stack) < 2:
                return None
            rhs = stack.pop()
            lhs = stack.pop()
            value = _binary(token, lhs, rhs, U64)
            if value is None:
                return None
            stack.append(value)
        elif token == "^":
            if not stack:
                return None
            value = read_word(stack.pop())
            if value is None:
                return None
            stack.append(value)
        elif token == ".cfa":
            if cfa is None:
                return None
            stack.append(cfa)
        elif token == ".undef":
            return None
        elif "$" in token:
            value = get_register(token.split("$", 1)[1])
            if value is None:
                return None
            stack.append(value)
        else:
            const = _parse_int(token, _I64_MIN, _I64_MAX)
            if const is not None:
                stack.append(const & U64)
                continue
            value = get_register(token)  # ARM syntax: bare register names
            if value is None:
                return None
            stack.append(value)
    return stack[0] if len(stack) == 1 else None


def split_cfi_rules(text: str) -> dict[str, str] | None:
    """``".cfa: $rsp 8 + .ra: .cfa -8 + ^"`` -> ``{".cfa": "$rsp 8 +", ".ra": ".cfa -8 + ^"}``; register
    keys lose a leading ``$``. None when malformed (an expression before any register, an empty rule)."""
    out: dict[str, str] = {}
    current: str | None = None
    tokens: list[str] = []
    for token in text.split():
        if token.endswith(":"):
            if current is not None:
                if not tokens:
                    return None
                out[current] = " ".join(tokens)
            current = normalize_rule_key(token)
            tokens = []
        else:
            if current is None:
                return None
            tokens.append(token)
    if current is None or not tokens:
        return None
    out[current] = " ".join(tokens)
    return out


def normalize_rule_key(key: str) -> str:
    """``"$rbp:"``/``"$rbp"``/``"rbp"`` -> ``"rbp"``; ``.cfa``/``.ra`` unchanged."""
    if key.endswith(":"):
        key = key[:-1]
    if key.startswith("$"):
        key = key[1:]
    return key


class CfiResult:
    """What a ``STACK CFI`` evaluation produced: the CFA (caller's stack pointer), the return address
    (caller's pc) and every other register rule (value None when that rule failed)."""

    __slots__ = ("cfa", "ra", "registers")

    def __init__(self, cfa: int, ra: int, registers: dict[str, int | None]) -> None:
        self.cfa = cfa
        self.ra = ra
        self.registers = registers


def eval_cfi_rules(rules: dict[str, str], get_register: GetRegister, read_word: ReadWord) -> CfiResult | None:
    """Evaluate a complete rule set (INIT plus deltas already merged). ``.cfa`` and ``.ra`` must both exist
    and evaluate, else None; other registers that fail are reported as None."""
    normalized = {normalize_rule_key(k): v for k, v in rules.items()}
    cfa_expr = normalized.pop(".cfa", None)
    ra_expr = normalized.pop(".ra", None)
    if cfa_expr is None or ra_expr is None:
        return None
    cfa = eval_cfi_expr(cfa_expr, get_register, read_word, None)
    if cfa is None:
        return None
    ra = eval_cfi_expr(ra_expr, get_register, read_word, cfa)
    if ra is None:
        return None
    regs = {name: eval_cfi_expr(expr, get_register, read_word, cfa) for name, expr in normalized.items()}
    return CfiResult(cfa, ra, regs)


_UNDEF = object()


def eval_win_program(
    program: str, variables: dict[str, int], read_word: ReadWord
) -> dict[str, int] | None:
    """Run a ``STACK WIN`` FrameData program over ``variables`` (``$esp``, ``$ebp``, ``.cbLocals``, ...;
    32-bit values) and return the final variables, or None if it fails. Tokens written ``=NEXT`` (a known
    toolchain bug) are split. ``.undef`` assigned to a variable removes it."""
    vars_ = dict(variables)
    stack: list[object] = []

    def as_int(item: object) -> int | None:
        if isinstance(item, int):
            return item
        if isinstance(item, str):
            return vars_.get(item)
        return None

    tokens: list[str] = []
    for raw in program.split():
        if raw.startswith("=") and len(raw) > 1:
            tokens.extend(("=", raw[1:]))
        else:
            tokens.append(raw)

    for token in tokens:
        if token in _BINARY_OPS and len(token) == 1:
            if len(stack) < 2:
                return None
            rhs = as_int(stack.pop())
            lhs = as_int(stack.pop())
            if rhs is None or lhs is None:
                return None
            value = _binary(token, lhs, rhs, U32)
            if value is None:
                return None
            stack.append(value)
        elif token == "=":
            if len(stack) < 2:
                return None
            rhs_item = stack.pop()
            lhs_item = stack.pop()
            if not isinstance(lhs_item, str):
                return None
            if rhs_item is _UNDEF:
                vars_.pop(lhs_item, None)
            else:
                value = as_int(rhs_item)
                if value is None:
                    return None
                vars_[lhs_item] = value
        elif token == "^":
            if not stack:
                return None
            ptr = as_int(stack.pop())
            if ptr is None:
                return None
            value = read_word(ptr)
            if value is None:
                return None
            stack.append(value & U32)
        elif token == ".undef":
            stack.append(_UNDEF)
        elif token.startswith(("$", ".")):
            stack.append(token)
        else:
            const = _parse_int(token, _I32_MIN, _I32_MAX)
            if const is None:
                return None
            stack.append(const & U32)
    return vars_
