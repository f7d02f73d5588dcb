"""Pygments highlighting for JSON and source files, rendered as HTML for a QTextBrowser."""

from __future__ import annotations

import html
import json
import re
from typing import Any

from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import JsonLexer, TextLexer, get_lexer_for_filename
from pygments.util import ClassNotFound

STYLE = "default"
MAX_CHARS = 2_000_000


def _formatter(**extra: Any) -> HtmlFormatter:
    return HtmlFormatter(style=STYLE, noclasses=True, nobackground=True, **extra)


def json_html(obj: Any) -> str:
    """``obj`` pretty-printed and highlighted (huge documents fall back to plain text)."""
    text = json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False)
    if len(text) > MAX_CHARS:
        return f"<pre>{html.escape(text)}</pre>"
    return highlight(text, JsonLexer(), _formatter())


#: common source languages looked up directly (pygments' generic lookup scans every installed plugin)
_LEXERS = {
    ".c": ("pygments.lexers.c_cpp", "CLexer"), ".h": ("pygments.lexers.c_cpp", "CLexer"),
    ".cc": ("pygments.lexers.c_cpp", "CppLexer"), ".cpp": ("pygments.lexers.c_cpp", "CppLexer"),
    ".cxx": ("pygments.lexers.c_cpp", "CppLexer"), ".hpp": ("pygments.lexers.c_cpp", "CppLexer"),
    ".hh": ("pygments.lexers.c_cpp", "CppLexer"), ".inl": ("pygments.lexers.c_cpp", "CppLexer"),
    ".m": ("pygments.lexers.objective", "ObjectiveCLexer"),
    ".mm": ("pygments.lexers.objective", "ObjectiveCppLexer"),
    ".rs": ("pygments.lexers.rust", "RustLexer"), ".py": ("pygments.lexers.python", "PythonLexer"),
    ".js": ("pygments.lexers.javascript", "JavascriptLexer"), ".java": ("pygments.lexers.jvm", "JavaLexer"),
    ".S": ("pygments.lexers.asm", "GasLexer"), ".s": ("pygments.lexers.asm", "GasLexer"),
}


def lexer_for(filename: str):
    import importlib
    from pathlib import PurePath

    suffix = PurePath(filename).suffix
    known = _LEXERS.get(suffix) or _LEXERS.get(suffix.lower())
    if known:
        return getattr(importlib.import_module(known[0]), known[1])(stripnl=False)
    try:
        return get_lexer_for_filename(filename, stripnl=False)
    except ClassNotFound:
        return TextLexer(stripnl=False)


def source_html(text: str, filename: str, line: int | None, context: int = 300) -> str:
    """Source ``text`` highlighted for ``filename``'s language around ``line`` (1-based), which is marked.

    Only ``context`` lines either side are rendered, so huge generated files stay quick."""
    lines = text.splitlines(keepends=True)
    first = max(1, (line or 1) - context)
    window = "".join(lines[first - 1:(line or 1) + context])
    hl = [line - first + 1] if line else []
    out = highlight(window, lexer_for(filename),
                    _formatter(linenos="inline", linenostart=first, hl_lines=hl, lineanchors="L"))
    # Qt's rich text ignores the padding pygments gives line numbers: right-align them and put two spaces
    # between number and code instead
    width = len(str(first + window.count("\n")))
    return _LINENO.sub(lambda m: f'<span style="color: #999999">{m.group(1):>{width}}  </span>', out)


_LINENO = re.compile(r'<span style="color: inherit; background-color: transparent; padding-left: 5px; '
                     r'padding-right: 5px;">\s*(\d+)</span>')
