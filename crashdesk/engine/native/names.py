"""Function names as ``dump_syms`` writes them: demangled with parameters, without a template function's return
type, without GCC's clone suffixes, MSVC's anonymous namespace spelled as Itanium's.

Demangling uses ``cpp_demangle`` (the Rust demangler ``dump_syms`` itself uses, through Python bindings); where
it is missing, ``cxxfilt`` (libstdc++'s ``__cxa_demangle``).
"""

from __future__ import annotations

import re
from functools import lru_cache

# GCC clone and split-part suffixes in symbol-table names: ``fill.constprop.0``, ``f.isra.0``, ``g.part.1``,
# ``h.cold``, ``k.lto_priv.0``; combinations such as ``scale.constprop.0.isra.0``.
_CLONE = re.compile(r"(?:\.(?:constprop|isra|part|cold|lto_priv|localalias)(?:\.\d+)?)+$")
# Demanglers spell those as `` [clone .constprop.0]``.
_CLONE_DEMANGLED = re.compile(r"(?: \[clone \.[A-Za-z_]+(?:\.\d+)?\])+")
_OPERATOR = re.compile(r"operator(?:<<=|>>=|<<|>>|<=>|<=|>=|->\*|->|<|>|\(\)|\[\])")
_RUST_HASH = re.compile(r"::h[0-9a-f]{16}$")


def strip_clone_suffix(name: str) -> str:
    return _CLONE.sub("", name)


@lru_cache(maxsize=1)
def _demanglers() -> tuple:
    """The installed demanglers' ``demangle`` functions, best first (imported on the first mangled name:
    ``cxxfilt`` loads libstdc++ through ctypes)."""
    found = []
    try:
        import cpp_demangle

        found.append(cpp_demangle.demangle)
    except ImportError:  # pragma: no cover - optional, cxxfilt is the fallback
        pass
    try:
        import cxxfilt

        found.append(cxxfilt.demangle)
    except ImportError:  # pragma: no cover - a dependency of the project
        pass
    return tuple(found)


def _demangle(mangled: str) -> str | None:
    for demangle in _demanglers():
        try:
            return demangle(mangled)
        except Exception:
            pass
    return None


def _params_start(name: str) -> int:
    """Index of the ``(`` opening the outermost parameter list, or -1."""
    end = len(name)
    while end and name[end - 1] != ")":  # trailing " const", " &&"...
        end -= 1
    if end == 0:
        return -1
    depth = 0
    for i in range(end - 1, -1, -1):
        c = name[i]
        if c == ")":
            depth += 1
        elif c == "(":
            depth -= 1
            if depth == 0:
                return i
    return -1


_SPECIAL = ("transaction clone for ", "non-virtual thunk to ", "virtual thunk to ", "covariant return thunk to ")


def drop_return_type(name: str) -> str:
    if name.startswith("{"):  # "{virtual override thunk(...)}": no return type
        return name
    for prefix in _SPECIAL:
        if name.startswith(prefix):
            return prefix + drop_return_type(name[len(prefix):])
    return _drop_return_type(name)


def _drop_return_type(name: str) -> str:
    """``int const& std::max<int>(int const&, int const&)`` -> ``std::max<int>(int const&, int const&)``: the
    demangled form of a template function carries its return type; ``dump_syms`` leaves it out."""
    p = _params_start(name)
    if p <= 0:
        return name
    head = _OPERATOR.sub(lambda m: "operator" + "@" * (len(m.group(0)) - 8), name[:p])
    stop = head.rfind("operator")
    if stop < 0:
        stop = len(head)
    depth = 0
    cut = -1
    for i in range(stop):
        c = head[i]
        if c in "<([":
            depth += 1
        elif c in ">)]":
            depth -= 1
        elif c == " " and depth == 0:
            cut = i
    return name[cut + 1:] if cut >= 0 else name


@lru_cache(maxsize=65536)
def display_name(raw: str) -> str:
    """The name for a frame, as ``dump_syms`` writes it."""
    if not raw:
        return raw
    if raw.startswith(("_Z", "__Z")):
        base = strip_clone_suffix(raw)
        out = _demangle(base[1:] if base.startswith("__Z") else base)
        if out is None:
            return base
        out = drop_return_type(_CLONE_DEMANGLED.sub("", out))
        if _RUST_HASH.search(out) and raw.endswith("E"):
            out = _RUST_HASH.sub("", out)
        return out
    name = strip_clone_suffix(raw)
    if "`anonymous namespace'" in name:
        name = name.replace("`anonymous namespace'", "(anonymous namespace)")
    return name
