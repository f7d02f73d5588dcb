"""Turning one stack frame's symbol into the normalised text used in signatures.

Behaviour follows siggen 2.2.20241029 as described in ``shared/protocols/signatures.md`` section 4. The
helpers are written for speed: the common case (no spaces, no brackets) returns after a few ``in`` tests.

Deliberately, non-string inputs are *not* type-checked here: siggen fails the whole rule when a frame holds
a number where text belongs, and the rule runner reproduces that by catching the resulting exception.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# Trailing member-function qualifiers, tested in this order, each at most once.
_CV_REF_SUFFIXES = ("const", "const&", "const &", "&&", "&")

# Brackets the prefix/return-type splitter keeps together.
_PAIRS = {"(": ")", "{": "}", "[": "]", "<": ">", "`": "'"}
_SPLIT_SCAN = re.compile(r"[(){}\[\]<>`' ]")

_SPACE_BEFORE = re.compile(r" (?=[*&,])")
_COMMA_NO_SPACE = re.compile(r",(?! )")
_RUST_HASH = re.compile(r"::h[0-9a-fA-F]+$")
_LAMBDA_NUMBER = re.compile(r"::\$_\d+::")

CPP_ANGLE_EXCEPTIONS = ("name omitted", "IPC::ParamTraits", " in ")
CPP_PAREN_EXCEPTIONS = ("anonymous namespace", "operator")
RUST_ANGLE_EXCEPTIONS = (" as ",)

# Rust 1.34 emitted some panic symbols without their module path; (source path, function) -> full name.
RUST_134_FUNCTIONS = {
    ("src/liballoc/raw_vec.rs", "capacity_overflow"): "alloc::raw_vec::capacity_overflow",
    ("src/libcore/option.rs", "expect_failed"): "core::option::expect_failed",
    ("src/libcore/panicking.rs", "panic_bounds_check"): "core::panicking::panic_bounds_check",
    ("src/libcore/panicking.rs", "panic_fmt"): "core::panicking::panic_fmt",
    ("src/libcore/panicking.rs", "panic"): "core::panicking::panic",
    ("src/libcore/slice/mod.rs", "slice_index_order_fail"): "core::slice::slice_index_order_fail",
    ("src/libstd/panicking.rs", "begin_panic_fmt"): "std::panicking::begin_panic_fmt",
    ("src/libstd/panicking.rs", "continue_panic_fmt"): "std::panicking::continue_panic_fmt",
    ("src/libstd/panicking.rs", "rust_panic_with_hook"): "std::panicking::rust_panic_with_hook",
}


def source_path(file):
    """The source path inside a frame's ``file`` value, or ``None`` when it cannot be told.

    ``vcs:root:path:rev`` gives ``path``; ``C:\\dir\\f.rs`` gives the part after the drive letter; an
    absolute POSIX path is returned whole; anything else (relative paths, odd shapes) gives ``None``.
    """
    if not file:
        return None
    parts = file.split(":")
    n = len(parts)
    if n == 4:
        return parts[2]
    if n == 2:
        return parts[1]
    if file.startswith("/"):
        return file
    return None


def _excepted(text: str, end: int, group: str, exceptions: Iterable[str]) -> bool:
    for word in exceptions:
        if text.endswith(word, 0, end) or word in group:
            return True
    return False


def collapse(text: str, opener: str, closer: str, replacement: str, exceptions: Iterable[str] = ()) -> str:
    """Replace every outermost ``opener…closer`` group with ``replacement``.

    A group stays verbatim when the text before it ends with, or the group contains, one of
    ``exceptions``. An unclosed group at the end counts as a group. Stray closers outside a group are
    kept as ordinary characters.
    """
    if opener not in text:
        return text
    out: list[str] = []
    depth = 0
    start = 0  # start of the pending plain text, or of the open group
    pos = 0
    n = len(text)
    while pos < n:
        if depth == 0:
            i = text.find(opener, pos)
            if i < 0:
                break
            if exceptions and _excepted(text, i, "", exceptions):
                pos = i + 1
                continue
            out.append(text[start:i])
            start = i
            depth = 1
            pos = i + 1
        else:
            i_open = text.find(opener, pos)
            i_close = text.find(closer, pos)
            if i_close < 0:
                pos = n
                break
            if 0 <= i_open < i_close:
                depth += 1
                pos = i_open + 1
                continue
            depth -= 1
            pos = i_close + 1
            if depth == 0:
                group = text[start:pos]
                if exceptions and _excepted(text, i_close, group, exceptions):
                    out.append(group)
                else:
                    out.append(replacement)
                start = pos
    if depth:
        group = text[start:]
        if exceptions and _excepted(text, n - 1, group, exceptions):
            out.append(group)
        else:
            out.append(replacement)
    else:
        out.append(text[start:])
    return "".join(out)


def drop_prefix_and_return_type(function: str) -> str:
    """Keep the last space-separated piece of a symbol, ignoring spaces inside brackets.

    ``static void * A<B>::f(int)`` gives ``A<B>::f(int)``. A trailing piece starting with ``(`` or
    ``[clone`` is glued back to the piece before it.
    """
    if type(function) is not str:
        iter(function)  # a number fails here with the same error siggen's character loop gives
    if " " not in function:
        if not function:  # siggen's splitter has no token to return for "" (e.g. a symbol that was just "const")
            raise IndexError("list index out of range")
        return function
    tokens: list[str] = []
    levels: list[str] = []
    start = 0
    for match in _SPLIT_SCAN.finditer(function):
        char = match.group()
        if char in _PAIRS:
            levels.append(char)
        elif char == " ":
            if not levels:
                i = match.start()
                tokens.append(function[start:i])
                start = i + 1
        elif levels and _PAIRS[levels[-1]] == char:
            levels.pop()
    if start < len(function):
        tokens.append(function[start:])
    while len(tokens) > 1 and tokens[-1].startswith(("(", "[clone")):
        last = tokens.pop()
        tokens[-1] = tokens[-1] + " " + last
    return tokens[-1]


def fix_spacing(text: str) -> str:
    """No space before ``*``, ``&`` or ``,``; a space after every ``,``."""
    if " *" in text or " &" in text or " ," in text:
        text = _SPACE_BEFORE.sub("", text)
    if "," in text:
        text = _COMMA_NO_SPACE.sub(", ", text)
    return text


def normalize_cpp_base(function: str) -> str:
    """C/C++ normalisation up to (not including) the line-number and spacing steps."""
    for suffix in _CV_REF_SUFFIXES:
        if function.endswith(suffix):
            function = function[: -len(suffix)].strip()
    if "::operator" not in function:
        function = drop_prefix_and_return_type(function)
    if "`" in function:
        function = function.replace("`anonymous namespace'", "(anonymous namespace)")
    if "$_" in function:
        function = _LAMBDA_NUMBER.sub("::$::", function)
    if "<" in function:
        function = collapse(function, "<", ">", "<T>", CPP_ANGLE_EXCEPTIONS)
    if "(" in function:
        function = collapse(function, "(", ")", "", CPP_PAREN_EXCEPTIONS)
    if "clone .cold" in function:
        function = collapse(function, "[", "]", "")
    return function


def normalize_rust_base(function: str) -> str:
    """Rust normalisation up to (not including) the line-number, spacing and hash steps."""
    function = drop_prefix_and_return_type(function)
    if "<" in function:
        function = collapse(function, "<", ">", "<T>", RUST_ANGLE_EXCEPTIONS)
    if "(" in function:
        function = collapse(function, "(", ")", "")
    return function


def strip_rust_hash(text: str) -> str:
    """Remove a trailing ``::h<hex>`` uniqueness hash."""
    if "::h" in text:
        return _RUST_HASH.sub("", text)
    return text


def file_line_text(file: str, line) -> str:
    """``<basename>#<line>`` for a frame with a source file and line but no function."""
    trimmed = file.rstrip("/\\")
    if "\\" in trimmed:
        base = trimmed.rsplit("\\")[-1]
    else:
        base = trimmed.rsplit("/")[-1]
    return f"{base}#{line}"


def offset_text(offset) -> str:
    """``@`` plus the offset as lowercase hex without leading zeros (text kept as is if not hex)."""
    try:
        return "@" + hex(int(offset, 16))
    except (TypeError, ValueError):
        return f"@{offset}"
