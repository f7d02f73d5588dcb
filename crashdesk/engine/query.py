"""The CrashDesk query language: parsing a query string into an AST that carries positions.

Pure: no database, no clock (relative dates stay relative until the compiler resolves them).

Grammar (informal)::

    query   := or_expr?
    or_expr := and_expr ("OR" and_expr)*
    and_expr:= item+                       -- juxtaposition is AND
    item    := "(" or_expr ")" | term | text
    term    := FIELD ":" ["!"] [OP] VALUE   -- OP is one of = ~ ^ $ > >= < <=
    text    := WORD | "quoted phrase"      -- full text (signature, frame functions, annotation values)

``FIELD`` is one of :data:`FIELDS` (or an alias) or ``ann.KEY`` for any annotation. ``VALUE`` is a bare run of
non-space characters or a double-quoted string (``\\"`` and ``\\\\`` escape inside). Without an operator a
keyword field matches exactly (case-insensitive) and a text field matches "contains". ``!`` negates and
combines with any operator (``signature:!~OOM``); ``!field:...`` or ``-field:...`` negate too. ``module:NAME@VERSION`` matches a loaded module by file name
and, on the same module, version (``module:xul.dll@>=120``). ``field:__null__`` matches crashes without a
value. Dates take ISO dates/times (``2024-10-15``, ``2024-10-15T11:00:00Z``) or relative ages ``N[mhdw]``
(``date:>=7d`` = submitted in the last 7 days; ``date:7d`` means the same; a plain ISO day matches that day).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from crashdesk.errors import CrashDeskError

# ---------------------------------------------------------------------------------------------- field catalogue

TEXT = "text"          # default: contains
KEYWORD = "keyword"    # default: exact, case-insensitive
VERSION = "version"    # keyword + ordering as versions (120.0.1 > 99.0)
NUMBER = "number"      # keyword + numeric ordering (build ids)
DATE = "date"          # ordering only (plus "that day" / "within the last N")

FIELDS: dict[str, str] = {
    "signature": TEXT,
    "server_signature": TEXT,
    "proto_signature": TEXT,
    "reason": TEXT,
    "function": TEXT,
    "file": TEXT,
    "product": KEYWORD,
    "version": VERSION,
    "os": KEYWORD,
    "os_version": KEYWORD,
    "cpu": KEYWORD,
    "address": KEYWORD,
    "build_id": NUMBER,
    "channel": KEYWORD,
    "source": KEYWORD,
    "state": KEYWORD,
    "module": KEYWORD,
    "module_version": VERSION,
    "debug_id": KEYWORD,
    "debug_file": KEYWORD,
    "crash_id": KEYWORD,
    "date": DATE,
    "processed": DATE,
    "trend": KEYWORD,  # trend:spike: crashes of signatures spiking now (crashdesk.engine.spikes)
}
ALIASES = {"uuid": "crash_id", "platform": "os", "cpu_arch": "cpu", "release_channel": "channel",
           "build": "build_id", "submitted": "date"}
ANNOTATION = "ann"
ANN_KIND = "annotation"  # ann.KEY: contains by default; ordering compares as numbers when both are numbers

ORDERING = (">", ">=", "<", "<=")
STRING_OPS = ("=", "~", "^", "$")
ALLOWED_OPS: dict[str, tuple[str, ...]] = {
    TEXT: STRING_OPS,
    KEYWORD: STRING_OPS,
    VERSION: STRING_OPS + ORDERING,
    NUMBER: STRING_OPS + ORDERING,
    DATE: ("=",) + ORDERING,
    ANN_KIND: STRING_OPS + ORDERING,
}
DEFAULT_OP = {TEXT: "~", KEYWORD: "=", VERSION: "=", NUMBER: "=", DATE: "=", ANN_KIND: "~"}
NULL_VALUE = "__null__"
OP_NAMES = {"=": "is exactly", "~": "contains", "^": "starts with", "$": "ends with", ">": "greater than",
            ">=": "at least", "<": "less than", "<=": "at most"}


def canonical_field(name: str) -> str | None:
    """The canonical name of a field (aliases resolved), ``ann.KEY`` unchanged, or None when unknown."""
    if name.startswith(ANNOTATION + ".") and len(name) > len(ANNOTATION) + 1:
        return name
    name = ALIASES.get(name.lower(), name.lower())
    return name if name in FIELDS else None


def field_kind(name: str) -> str:
    if name.startswith(ANNOTATION + "."):
        return ANN_KIND
    return FIELDS[name]


# ---------------------------------------------------------------------------------------------- errors


class QueryError(CrashDeskError):
    """A query that cannot be parsed; ``position`` is the 0-based offset in ``query`` where the trouble is."""

    def __init__(self, message: str, query: str, position: int) -> None:
        self.reason = message
        self.query = query
        self.position = position
        super().__init__(f"{message} at column {position + 1} of the query")


class QuerySyntaxError(QueryError):
    """Misplaced parentheses, ``OR`` without operands, a field without a value..."""


class UnbalancedQuoteError(QueryError):
    """A ``"`` that is never closed."""


class UnknownFieldError(QueryError):
    """``name:`` where ``name`` is not a field."""

    def __init__(self, name: str, query: str, position: int) -> None:
        self.field = name
        known = ", ".join(sorted(FIELDS))
        super().__init__(f"unknown field {name!r} (fields: {known}, ann.KEY)", query, position)


class BadOperatorError(QueryError):
    """An operator the field does not support (``signature:>x``, ``date:~7d``) or a malformed one."""


class BadValueError(QueryError):
    """A value of the wrong shape for its field (``date:>=yesterday``, ``build_id:>abc``)."""


# ---------------------------------------------------------------------------------------------- AST


@dataclass(frozen=True, slots=True)
class DateValue:
    """An absolute UTC time, or an age relative to "now" (resolved by the compiler). ``day`` marks a plain
    ISO day (``2024-10-15``), which ``=`` matches as a whole day."""

    absolute: dt.datetime | None = None
    age: dt.timedelta | None = None
    day: bool = False

    def resolve(self, now: dt.datetime) -> dt.datetime:
        if self.absolute is not None:
            return self.absolute
        assert self.age is not None
        return now - self.age


@dataclass(frozen=True, slots=True)
class Term:
    """``field:[!][op]value``. ``op`` is always resolved (defaults applied); ``explicit`` says whether the user
    wrote it. For ``module:NAME@VERSION`` the version condition is in ``module_version``."""

    field: str
    op: str
    value: str | DateValue | None      # None for __null__
    negate: bool = False
    explicit: bool = False
    module_version: tuple[str, str] | None = None  # (op, version) for module:NAME@[op]VERSION
    pos: int = 0
    end: int = 0

    @property
    def annotation_key(self) -> str | None:
        return self.field[len(ANNOTATION) + 1:] if self.field.startswith(ANNOTATION + ".") else None


@dataclass(frozen=True, slots=True)
class FullText:
    """A bare word (prefix match) or quoted phrase, searched with FTS5."""

    text: str
    phrase: bool = False
    pos: int = 0
    end: int = 0


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Node, ...]
    pos: int = 0
    end: int = 0


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Node, ...]
    pos: int = 0
    end: int = 0


Node = Term | FullText | And | Or


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed query; ``root`` is None for the empty query (which matches everything)."""

    text: str
    root: Node | None = None
    terms: tuple[Term, ...] = field(default=())


# ---------------------------------------------------------------------------------------------- lexer

_FIELD_RE = re.compile(r"(ann\.[^\s:\"()]+|[A-Za-z_][A-Za-z0-9_]*):(?!:)")
_OPS = (">=", "<=", ">", "<", "=", "~", "^", "$")
_REL_RE = re.compile(r"^(\d+)\s*([mhdw])$", re.IGNORECASE)
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


@dataclass(slots=True)
class _Tok:
    kind: str        # "(" ")" "OR" "term" "word" "phrase"
    pos: int
    end: int
    text: str = ""
    field: str = ""
    field_pos: int = 0
    value_pos: int = 0
    quoted: bool = False
    negated: bool = False   # "!field:..." or "-field:..."


def _read_quoted(query: str, start: int) -> tuple[str, int]:
    """Read a double-quoted string starting at ``start`` (the quote); return (text, end offset)."""
    out: list[str] = []
    i = start + 1
    while i < len(query):
        ch = query[i]
        if ch == "\\" and i + 1 < len(query) and query[i + 1] in "\"\\":
            out.append(query[i + 1])
            i += 2
            continue
        if ch == '"':
            return "".join(out), i + 1
        out.append(ch)
        i += 1
    raise UnbalancedQuoteError('unbalanced quote: this " is never closed', query, start)


def _read_bare(query: str, start: int, depth: int) -> tuple[str, int]:
    """A bare value or word: up to whitespace; a trailing ")" closes an open group when unbalanced."""
    i = start
    while i < len(query) and not query[i].isspace():
        if query[i] == '"':
            raise UnbalancedQuoteError('a quote inside a bare word; quote the whole value', query, i)
        i += 1
    text = query[start:i]
    while depth > 0 and text.endswith(")") and text.count(")") > text.count("("):
        text = text[:-1]
        i -= 1
        depth -= 1
    return text, i


def _tokenize(query: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, depth = 0, 0
    n = len(query)
    while i < n:
        ch = query[i]
        if ch.isspace():
            i += 1
            continue
        if ch == "(":
            toks.append(_Tok("(", i, i + 1))
            depth += 1
            i += 1
            continue
        if ch == ")":
            toks.append(_Tok(")", i, i + 1))
            depth = max(0, depth - 1)
            i += 1
            continue
        if ch == '"':
            text, end = _read_quoted(query, i)
            toks.append(_Tok("phrase", i, end, text=text, quoted=True))
            i = end
            continue
        prefix_neg = ch in "!-" and _FIELD_RE.match(query, i + 1) is not None
        m = _FIELD_RE.match(query, i + 1 if prefix_neg else i)
        if m:
            vpos = m.end()
            j = vpos
            while j < n and query[j] in "!=~^$<>":
                j += 1
            if j < n and query[j] == '"':
                text, end = _read_quoted(query, j)
                toks.append(_Tok("term", i, end, text=query[vpos:j] + "\0" + text, field=m.group(1),
                                 field_pos=m.start(), value_pos=vpos, quoted=True, negated=prefix_neg))
                i = end
                continue
            text, end = _read_bare(query, vpos, depth)
            closed = len(query[vpos:end]) - len(text)
            toks.append(_Tok("term", i, end - closed if closed > 0 else end, text=text, field=m.group(1),
                             field_pos=m.start(), value_pos=vpos, negated=prefix_neg))
            i = end
            continue
        text, end = _read_bare(query, i, depth)
        toks.append(_Tok("OR" if text == "OR" else "word", i, end, text=text))
        i = end
    return toks


# ---------------------------------------------------------------------------------------------- values


def parse_date(text: str, query: str, pos: int) -> DateValue:
    """An ISO date/time (naive = UTC) or a relative age ``N[mhdw]``."""
    m = _REL_RE.match(text.strip())
    if m:
        return DateValue(age=dt.timedelta(**{_UNITS[m.group(2).lower()]: int(m.group(1))}))
    value = text.strip()
    try:
        if len(value) == 10:
            day = dt.date.fromisoformat(value)
            return DateValue(absolute=dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC), day=True)
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace(" ", "T", 1))
    except ValueError:
        raise BadValueError(f"not a date: {text!r} (use YYYY-MM-DD, an ISO time, or an age like 7d, 24h, 2w)",
                            query, pos) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return DateValue(absolute=when.astimezone(dt.UTC))


def _split_op(spec: str, query: str, pos: int) -> tuple[bool, str | None, str, int]:
    """Split ``[!][op]value`` into (negate, op or None, value, offset of the value within spec)."""
    i = 0
    negate = False
    if spec.startswith("!"):
        negate, i = True, 1
        if spec[i:i + 1] == "!":
            raise BadOperatorError("'!!' is not an operator (use a single '!')", query, pos + i)
    for bad, good in (("=>", ">="), ("=<", "<="), ("!=", "!")):
        if spec.startswith(bad, i) and not (bad == "!=" and negate):
            raise BadOperatorError(f"'{bad}' is not an operator; did you mean '{good}'?", query, pos + i)
    op = None
    for candidate in _OPS:
        if spec.startswith(candidate, i):
            op = candidate
            i += len(candidate)
            break
    return negate, op, spec[i:], i


def _make_term(tok: _Tok, query: str) -> Term:
    name = canonical_field(tok.field)
    if name is None:
        raise UnknownFieldError(tok.field, query, tok.field_pos)
    kind = field_kind(name)
    if tok.quoted:
        spec, quoted_value = tok.text.split("\0", 1)
        negate, op, rest, off = _split_op(spec, query, tok.value_pos)
        if rest:
            raise BadOperatorError(f"unknown operator {spec[off - len(op or ''):]!r}", query, tok.value_pos + off)
        value = quoted_value
    else:
        if not tok.text:
            raise QuerySyntaxError(f"field {tok.field!r} has no value", query, tok.value_pos)
        negate, op, value, off = _split_op(tok.text, query, tok.value_pos)
        if not value:
            raise QuerySyntaxError(f"field {tok.field!r} has an operator but no value", query,
                                   tok.value_pos + off)
    op_pos = tok.value_pos + (1 if negate else 0)
    negate = negate != tok.negated
    module_version = None
    if name == "module" and "@" in value and value != NULL_VALUE:
        filename, _, version_spec = value.partition("@")
        vneg, vop, version, _ = _split_op(version_spec, query, tok.value_pos)
        if vneg:
            raise BadOperatorError("'!' is not allowed on the version part of module:NAME@VERSION", query,
                                   tok.value_pos)
        vop = vop or "="
        if vop not in ALLOWED_OPS[VERSION] or not version:
            raise BadValueError("module:NAME@VERSION needs a version after '@'", query, tok.value_pos)
        module_version = (vop, version)
        value = filename
        if not value:
            raise BadValueError("module:NAME@VERSION needs a module file name before '@'", query, tok.value_pos)
    if value == NULL_VALUE and not tok.quoted:
        if op is not None:
            raise BadOperatorError("__null__ takes no operator (use field:__null__ or field:!__null__)",
                                   query, op_pos)
        return Term(name, "null", None, negate, False, None, tok.pos, tok.end)
    explicit = op is not None
    if op is None:
        op = DEFAULT_OP[kind]
    if op not in ALLOWED_OPS[kind]:
        what = "dates" if kind == DATE else f"{kind} fields like {name!r}"
        allowed = " ".join(ALLOWED_OPS[kind])
        raise BadOperatorError(f"operator {op!r} ({OP_NAMES[op]}) does not apply to {what} (use {allowed})",
                               query, op_pos)
    parsed: str | DateValue = value
    if kind == DATE:
        parsed = parse_date(value, query, tok.value_pos + off)
        if not explicit and parsed.age is not None:
            op = ">="
    elif kind == NUMBER and op in ORDERING and not value.strip().isdigit():
        raise BadValueError(f"{name} compares as a number; {value!r} is not one", query, tok.value_pos + off)
    return Term(name, op, parsed, negate, explicit, module_version, tok.pos, tok.end)


# ---------------------------------------------------------------------------------------------- parser


class _Parser:
    def __init__(self, query: str) -> None:
        self.query = query
        self.toks = _tokenize(query)
        self.i = 0
        self.terms: list[Term] = []

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def parse(self) -> Node | None:
        if not self.toks:
            return None
        node = self.or_expr()
        tok = self.peek()
        if tok is not None:
            raise QuerySyntaxError("')' without a matching '('", self.query, tok.pos)
        return node

    def or_expr(self) -> Node:
        start = self.peek()
        if start is not None and start.kind == "OR":
            raise QuerySyntaxError("OR needs something on its left", self.query, start.pos)
        items = [self.and_expr()]
        while (tok := self.peek()) is not None and tok.kind == "OR":
            self.i += 1
            nxt = self.peek()
            if nxt is None or nxt.kind in (")", "OR"):
                raise QuerySyntaxError("OR needs something on its right", self.query, tok.pos)
            items.append(self.and_expr())
        if len(items) == 1:
            return items[0]
        return Or(tuple(items), _pos(items[0]), _end(items[-1]))

    def and_expr(self) -> Node:
        items: list[Node] = []
        while (tok := self.peek()) is not None and tok.kind not in ("OR", ")"):
            items.append(self.item())
        if not items:
            tok = self.peek()
            pos = tok.pos if tok else len(self.query)
            raise QuerySyntaxError("empty group", self.query, pos)
        if len(items) == 1:
            return items[0]
        return And(tuple(items), _pos(items[0]), _end(items[-1]))

    def item(self) -> Node:
        tok = self.toks[self.i]
        self.i += 1
        if tok.kind == "(":
            inner_tok = self.peek()
            if inner_tok is None:
                raise QuerySyntaxError("'(' is never closed", self.query, tok.pos)
            if inner_tok.kind == ")":
                raise QuerySyntaxError("empty parentheses", self.query, tok.pos)
            node = self.or_expr()
            close = self.peek()
            if close is None or close.kind != ")":
                raise QuerySyntaxError("'(' is never closed", self.query, tok.pos)
            self.i += 1
            return node
        if tok.kind == "term":
            term = _make_term(tok, self.query)
            self.terms.append(term)
            return term
        if tok.kind == "phrase":
            return FullText(tok.text, True, tok.pos, tok.end)
        return FullText(tok.text, False, tok.pos, tok.end)


def _pos(node: Node) -> int:
    return node.pos


def _end(node: Node) -> int:
    return node.end


def parse_query(query: str) -> Query:
    """Parse ``query`` into a :class:`Query`; raise a :class:`QueryError` subclass with the position."""
    if not isinstance(query, str):
        raise TypeError("query must be a string")
    parser = _Parser(query)
    root = parser.parse()
    return Query(query, root, tuple(parser.terms))
