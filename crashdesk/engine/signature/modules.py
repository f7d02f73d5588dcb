"""In-app versus system frames, decided by the frame's module (its file name, and its path when known).

A profile may carry ordered module rules in ``module_rules.txt``, one a line::

    # comment
    -app libc.so*            a module whose file name matches the glob is a system module
    +app /opt/myapp/*        a module whose path matches the glob is the application's own code
    -app name:libfoo.so      "name:" / "path:" say explicitly what the glob is matched against

A glob holding ``/`` or ``\\`` is matched against the module's path, any other glob against its file name;
matching is case-insensitive (``fnmatch`` rules: ``*`` also crosses ``/``). The first matching rule decides;
a module no rule matches is **app** code. A line that is not a rule raises :class:`ListSyntaxError` naming the
file and the line.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field

from crashdesk.engine.signature.errors import ListSyntaxError

MODULE_RULES_FILE = "module_rules.txt"
_LINE = re.compile(r"^([+-])app\s+(?:(name|path):)?(\S.*)$")


@dataclass(frozen=True)
class ModuleRule:
    in_app: bool
    glob: str
    #: "name" (file name) or "path" (full path)
    target: str
    line: int = field(default=0, compare=False)
    origin: str = field(default="", compare=False)

    def text(self) -> str:
        implied = "path" if ("/" in self.glob or "\\" in self.glob) else "name"
        target = "" if implied == self.target else f"{self.target}:"
        return f"{'+' if self.in_app else '-'}app {target}{self.glob}"

    def where(self) -> str:
        return f"{self.origin}:{self.line}" if self.line else self.origin


def parse_module_rules(text: str | bytes, origin: str) -> tuple[ModuleRule, ...]:
    """Rules of one ``module_rules.txt``; a bad line raises :class:`ListSyntaxError` (file, line)."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ListSyntaxError(origin, text[: exc.start].count(b"\n") + 1, f"not UTF-8 text ({exc.reason})") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    rules = []
    for lineno, raw in enumerate(text.split("\n"), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = _LINE.match(line)
        if m is None:
            raise ListSyntaxError(origin, lineno, f"expected '+app GLOB' or '-app GLOB', got {line!r}")
        sign, target, glob = m.groups()
        glob = glob.strip()
        if "#" in glob:  # a trailing comment
            glob = glob.split("#", 1)[0].strip()
        if not glob:
            raise ListSyntaxError(origin, lineno, "empty module glob")
        if target is None:
            target = "path" if ("/" in glob or "\\" in glob) else "name"
        rules.append(ModuleRule(sign == "+", glob.lower(), target, lineno, origin))
    return tuple(rules)


def _basename(path: str) -> str:
    return re.split(r"[\\/]", path.rstrip("\\/"))[-1]


class _FirstMatch:
    """The first of ``rules`` whose glob matches a subject (``fnmatch.fnmatchcase`` semantics), by one regular
    expression: an alternation of the globs' translations, each in its own group, tried in order."""

    def __init__(self, rules: list[ModuleRule]) -> None:
        self.rules = rules
        self.pattern: re.Pattern | None = None
        if rules:
            pattern = re.compile("|".join(f"({fnmatch.translate(r.glob)})" for r in rules))
            # a translation holding a group of its own would shift the numbering: match rule by rule then
            self.pattern = pattern if pattern.groups == len(rules) else None

    def first(self, subject: str) -> ModuleRule | None:
        if not subject or not self.rules:
            return None
        if self.pattern is not None:
            m = self.pattern.match(subject)
            return None if m is None else self.rules[m.lastindex - 1]
        return next((r for r in self.rules if fnmatch.fnmatchcase(subject, r.glob)), None)


class ModuleClassifier:
    """``classify(name, path)`` -> ``(in_app, rule or None)``, cached per module."""

    def __init__(self, rules: tuple[ModuleRule, ...]) -> None:
        self.rules = rules
        self._cache: dict[tuple[str, str], tuple[bool, ModuleRule | None]] = {}
        # (name rules, path rules), each one alternation of the globs in order (built on first use): a new
        # module costs one match per subject, not one fnmatch per rule (issue 24: a worker's first pass)
        self._matchers: tuple[_FirstMatch, _FirstMatch] | None = None

    def prepare(self) -> tuple[_FirstMatch, _FirstMatch]:
        """Compile the rules' matchers now (a worker does it before its first crash)."""
        if self._matchers is None:
            self._matchers = (_FirstMatch([r for r in self.rules if r.target == "name"]),
                              _FirstMatch([r for r in self.rules if r.target != "name"]))
        return self._matchers

    def _first_rule(self, lname: str, lpath: str) -> ModuleRule | None:
        by_name, by_path = self.prepare()
        name_hit, path_hit = by_name.first(lname), by_path.first(lpath)
        if name_hit is None or path_hit is None:
            return name_hit or path_hit
        order = {id(r): i for i, r in enumerate(self.rules)}  # both matched: the earlier rule decides
        return name_hit if order[id(name_hit)] < order[id(path_hit)] else path_hit

    def classify(self, name: str | None, path: str | None = None) -> tuple[bool, ModuleRule | None]:
        if not name and not path:
            return True, None
        key = ((name or "").lower(), (path or "").lower())
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        lname, lpath = key
        if not lname and lpath:
            lname = _basename(lpath)
        lname = lname.strip("[]")
        rule = self._first_rule(lname, lpath)
        result: tuple[bool, ModuleRule | None] = (True, None) if rule is None else (rule.in_app, rule)
        if len(self._cache) > 50_000:
            self._cache.clear()
        self._cache[key] = result
        return result
