"""Version strings that sort as versions (120.0.1 > 99.0 > 99.0b3) inside SQLite.

:func:`version_key` maps a version to a string whose byte order is the version order, so the store can index
it and compare with ``<``/``>`` in SQL.
"""

from __future__ import annotations

import re

_PART = re.compile(r"(\d+)|([A-Za-z]+)")
# Pre-release tags sort before the release: 99.0a1 < 99.0b3 < 99.0 (release) < 99.0.1
_TAG_RANK = {"a": "1", "alpha": "1", "b": "2", "beta": "2", "rc": "3", "pre": "0", "esr": "5"}


def version_key(version: str | None) -> str:
    """Number parts become ``d`` + length + digits, pre-release tags ``b`` + rank, and the end ``c``, so that
    a tag < the end < a further number: 99.0b3 < 99.0 < 99.0.1 < 120.0."""
    if not version:
        return ""
    out: list[str] = []
    for num, word in _PART.findall(version):
        if num:
            n = (num.lstrip("0") or "0")[:30]
            out.append(f"d{len(n):02d}{n}")
        else:
            w = word.lower()
            rank = _TAG_RANK.get(w)
            out.append(f"b{rank}" if rank else f"b4{w[:10]}")
    return "".join(out) + "c"
