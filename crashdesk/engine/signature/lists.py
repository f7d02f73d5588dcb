"""Signature list files: reading, validating and compiling them.

A list file is UTF-8 text; each line is stripped; empty lines and lines starting with ``#`` are ignored;
every other line is one entry, which must compile as a Python regular expression (sentinels too, as in
siggen). Entries of a regex list are tested with ``re.match`` (anchored at the start only).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from crashdesk.engine.signature.errors import ListSyntaxError
from crashdesk.engine.signature.modules import MODULE_RULES_FILE, ModuleRule, parse_module_rules

#: List name -> file name (siggen's names, so a profile folder is also a valid siggen list directory).
LIST_FILES = {
    "sentinels": "signature_sentinels.txt",
    "irrelevant": "irrelevant_signature_re.txt",
    "prefix": "prefix_signature_re.txt",
    "line_numbers": "signatures_with_line_numbers_re.txt",
}
#: Shipped by siggen but read by no rule since 2019; copied into new profiles for completeness only.
UNUSED_LIST_FILES = ("trim_dll_signature_re.txt",)

_NEVER = re.compile(r"(?!)")


def parse_list_text(text: str | bytes, path: str) -> tuple[str, ...]:
    """Return the entries of one list file; a line that is not a valid regex raises :class:`ListSyntaxError`.

    ``path`` is only used in error messages (give the file's path, or a label such as ``builtin:...``).
    """
    return parse_list_lines(text, path)[0]


def parse_list_lines(text: str | bytes, path: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """Like :func:`parse_list_text`, also returning each entry's 1-based line number."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = text[: exc.start].count(b"\n") + 1
            raise ListSyntaxError(path, line, f"not UTF-8 text ({exc.reason})") from None
    if text.startswith("\ufeff"):
        text = text[1:]  # a byte-order mark left by some editors is not part of the first entry
    entries: list[str] = []
    numbers: list[int] = []
    for lineno, raw in enumerate(text.split("\n"), 1):
        entry = raw.strip()
        if not entry or entry.startswith("#"):
            continue
        try:
            re.compile(entry)
        except (re.error, RecursionError, OverflowError) as exc:
            raise ListSyntaxError(path, lineno, f"bad regular expression {entry!r}: {exc}") from None
        entries.append(entry)
        numbers.append(lineno)
    return tuple(entries), tuple(numbers)


def compile_entries(entries: tuple[str, ...], path: str, texts: str | None = None) -> re.Pattern[str]:
    """One alternation of all entries (as siggen builds it); an empty list matches nothing.

    siggen would compile an empty list to the empty pattern, which matches every frame; for an edited
    profile "no entries" meaning "nothing matches" is the only sensible reading, and the shipped lists are
    never empty, so this does not change any siggen-compatible result.
    """
    if not entries:
        return _NEVER
    try:
        return re.compile("|".join(entries))
    except (re.error, RecursionError, OverflowError) as exc:
        # Each entry compiled alone, so the alternation itself is at fault (e.g. a global flag not at the
        # start). Name the first entry whose addition breaks it.
        for i in range(1, len(entries)):
            try:
                re.compile("|".join(entries[: i + 1]))
            except (re.error, RecursionError, OverflowError):
                line = _line_of(texts, entries[i]) if texts is not None else 0
                raise ListSyntaxError(
                    path, line, f"entry {entries[i]!r} cannot be combined with the others: {exc}"
                ) from None
        raise ListSyntaxError(path, 0, f"list cannot be compiled: {exc}") from None


def _line_of(text: str, entry: str) -> int:
    for lineno, raw in enumerate(text.split("\n"), 1):
        if raw.strip() == entry:
            return lineno
    return 0


@dataclass(frozen=True)
class SignatureLists:
    """The four lists signature generation uses (entries, already validated)."""

    sentinels: tuple[str, ...] = ()
    irrelevant: tuple[str, ...] = ()
    prefix: tuple[str, ...] = ()
    line_numbers: tuple[str, ...] = ()
    #: ordered in-app / system module rules (``module_rules.txt``; only the generic walk reads them)
    module_rules: tuple[ModuleRule, ...] = ()
    #: where each list came from (file path or label), for error messages and explanations
    origins: dict[str, str] = field(default_factory=dict, compare=False)
    #: list name -> 1-based line number of each entry in its file
    entry_lines: dict[str, tuple[int, ...]] = field(default_factory=dict, compare=False)

    @classmethod
    def from_texts(cls, texts: dict[str, str | bytes], origins: dict[str, str] | None = None) -> SignatureLists:
        """Build from ``{list name: file text}``; a missing list is empty."""
        origins = dict(origins or {})
        values: dict[str, tuple[str, ...]] = {}
        lines: dict[str, tuple[int, ...]] = {}
        for name, filename in LIST_FILES.items():
            origin = origins.setdefault(name, filename)
            text = texts.get(name)
            values[name], lines[name] = parse_list_lines(text, origin) if text is not None else ((), ())
            if name != "sentinels" and text is not None:
                decoded = text.decode("utf-8") if isinstance(text, bytes) else text
                compile_entries(values[name], origin, decoded)
        rules_text = texts.get("module_rules")
        origin = origins.setdefault("module_rules", MODULE_RULES_FILE)
        rules = parse_module_rules(rules_text, origin) if rules_text is not None else ()
        return cls(origins=origins, entry_lines=lines, module_rules=rules, **values)

    def as_texts(self, header: str = "") -> dict[str, str]:
        """``{file name: text}`` for writing the lists out (one entry a line, optional comment header)."""
        out = {}
        for name, filename in LIST_FILES.items():
            lines = [f"# {h}".rstrip() for h in header.splitlines()] if header else []
            if lines:
                lines.append("")
            lines.extend(getattr(self, name))
            out[filename] = "\n".join(lines) + "\n"
        if self.module_rules:
            lines = [f"# {h}".rstrip() for h in header.splitlines()] if header else []
            out[MODULE_RULES_FILE] = "\n".join([*lines, *(r.text() for r in self.module_rules)]) + "\n"
        return out
