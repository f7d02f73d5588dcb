"""Function names as ``dump_syms`` writes them: demangled, without GCC's clone suffixes."""

from __future__ import annotations

import re
from functools import lru_cache

try:  # cxxfilt wraps the toolchain's libiberty demangler (C++ Itanium and Rust)
    import cxxfilt as _cxxfilt
except ImportError:  # pragma: no cover - a dependency of the project
    _cxxfilt = None

# GCC clone and split-part suffixes in symbol-table names: ``fill.constprop.0``, ``f.isra.0``, ``g.part.1``,
# ``h.cold``, ``k.lto_priv.0``; combinations such as ``scale.constprop.0.isra.0``.
_CLONE = re.compile(r"(?:\.(?:constprop|isra|part|cold|lto_priv|localalias)(?:\.\d+)?)+$")
# The demangler spells those as `` [clone .constprop.0]``.
_CLONE_DEMANGLED = re.compile(r"(?: \[clone \.[A-Za-z_]+(?:\.\d+)?\])+")


def strip_clone_suffix(name: str) -> str:
    return _CLONE.sub("", name)


@lru_cache(maxsize=65536)
def display_name(raw: str) -> str:
    """The name for a frame: demangled (with parameters, as ``dump_syms``), clone suffixes removed."""
    if not raw:
        return raw
    name = raw
    mangled = name.startswith(("_Z", "__Z", "_R"))
    if mangled:
        base = strip_clone_suffix(name)
        if _cxxfilt is not None:
            try:
                out = _cxxfilt.demangle(base)
            except Exception:  # cxxfilt.InvalidName: keep the raw name, as dump_syms does
                out = base
            name = _CLONE_DEMANGLED.sub("", out)
        else:
            name = base
    else:
        name = strip_clone_suffix(name)
    return name
