"""The CrashDesk query language: parsing a query string into an AST that carries positions.

Pure: no database, no clock (relative dates stay relative until the compiler resolves them).

Grammar (informal)::

    query   := or_expr?
    or_expr := and_expr ("OR" and_expr)*
    and_expr:= unary (["AND"] unary)*      -- juxtaposition is AND; "AND" may be written, same meaning
    unary   := ("NOT" | "-" | "!") item | item
    item    := "(" or_expr ")" | term | text
    term    := FIELD ":" ["!"] [OP] VALUE   -- OP is one of = ~ ^ $ > >= < <=
    text    := WORD | "quoted phrase"      -- full text (signature, frame functions, annotation values)

``AND``, ``OR`` and ``NOT`` are operators only in capitals; written in lower case (``and``, ``or``, ``not``) they
are refused as ambiguous (quote them to search for the word). ``AND`` binds tighter than ``OR``: ``a b OR c`` is
``(a b) OR c``. ``NOT x``, ``-x`` and ``!x`` negate the term, word, phrase or group right after them (no space
after ``-``/``!``); negating twice is refused. ``FIELD`` is one of :data:`FIELDS` (or an alias) or ``ann.KEY``
for any annotation. ``VALUE`` is a bare run of non-space characters or a double-quoted string (``\\"`` and
``\\\\`` escape inside). A bare value may hold balanced parentheses (``function:foo(int)``); a ``)`` that closes
nothing, or a bare value starting with ``(`` (``product:(A OR B)``), is refused: quote such values. Without an
operator a keyword field matches exactly (case-insensitive) and a text field matches "contains". ``!`` negates and
combines with any operator (``signature:!~OOM``). Ordering a version (``version:>=120``) needs a value starting
with a digit. ``os:`` also takes the Crash Stats platform names ``Windows``, ``Mac OS X``/``macOS``, ``Linux``,
``Android`` (see :data:`OS_ALIASES`). ``module:NAME@VERSION`` matches a loaded module by file name
and, on the same module, version (``module:xul.dll@>=120``). ``field:__null__`` matches crashes without a
value. Dates take ISO dates/times (``2024-10-15``, ``2024-10-15T11:00:00Z``) or relative ages ``N[mhdw]``
(``date:>=7d`` = submitted in the last 7 days; ``date:7d`` means the same; a plain ISO day matches that day).

Bounds (hostile or runaway input gets a :class:`QueryTooLargeError` with the position, never a deep recursion
or an SQLite limit): :data:`MAX_DEPTH` nested groups, :data:`MAX_TERMS` terms and words, :data:`MAX_VALUE_LENGTH`
characters in one value, word or phrase.
"""

from __future__ import annotations

import dataclasses
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
    # every thread (see "thread scope" below)
    "thread": KEYWORD,
    "thread.name": KEYWORD,
    "stack": TEXT,
    "frame.module": KEYWORD,
    "frame.trust": KEYWORD,
    "frames": NUMBER,
    "server_stack": KEYWORD,   # differs | same: a synced crash's local re-walk against the server's stack
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

#: ``os:`` names (lower case) -> the operating-system names a processed crash carries (``system_info.os`` of
#: minidump-stackwalk, as Crash Stats stores them). Crash Stats' platform names, so ``os:Windows`` finds
#: "Windows NT" crashes.
OS_ALIASES: dict[str, tuple[str, ...]] = {
    "windows": ("Windows NT", "Windows"),
    "windows nt": ("Windows NT", "Windows"),
    "mac os x": ("Mac OS X", "macOS"),
    "macos": ("Mac OS X", "macOS"),
    "linux": ("Linux",),
    "android": ("Android",),
}

#: The syntax in brief, for ``crashdesk search --help`` and the search bar's help (one text, both places).
SYNTAX_HELP = """\
  field:value        keyword fields (product version os cpu source state module build_id channel ...) match
                     exactly, ignoring case; text fields (signature function reason file ann.KEY) contain
  operators          = exact  ~ contains  ^ starts  $ ends  ! not (combines: !~)  > >= < <= numbers, dates,
                     versions (120.0.1 > 99.0; a version to compare starts with a number)
  "quoted values"    signature:"OOM | small"; quote a value holding spaces, ( or ), or the words and/or/not
  bare words         full text over signature, frame functions and annotation values
  function:NAME      a function on the crashing thread's stack; thread:any / thread:main / thread.name:X
                     beside it searches those threads instead
  stack:"A > B"      A calls B on one thread (>> directly); =NAME for an exact function
  frame.trust:scan@5 in the crashing thread's top 5 frames; frame.module:NAME@VER; frames:>500
  server_stack:differs  synced crashes whose local re-walk differs from the server's stack (or :same)
  ann.KEY:value      any annotation, e.g. ann.URL:example.com
  module:NAME@VER    a loaded module, optionally with its version: module:xul.dll@>=120
  os:Windows         also Crash Stats' platform names: Windows, Mac OS X / macOS, Linux, Android
  date:>=7d          submitted in the last 7 days (also h, w, m; or ISO dates: date:>=2024-10-01)
  trend:spike        crashes of signatures spiking now (last 24 h far above their 7-day baseline)
  A B, A AND B       both (AND is optional); A OR B either; AND binds tighter: A B OR C = (A B) OR C
  NOT A, -A, !A      not A (a term, word, "phrase" or (group)); no space after - and !
  ( )                group, up to 8 deep; at most 300 terms and words, 4,096 characters a value
  Lower-case and/or/not, a ')' that closes nothing, field:(A OR B), version:>=abc, an operator without its
  field (version:>=120 <130): errors with their column
"""

MAX_DEPTH = 8             # nested parentheses (SQLite's parser stack holds about 9 of the costliest)
MAX_TERMS = 300           # field terms, words and phrases in one query
MAX_VALUE_LENGTH = 4096   # characters in one value, word or phrase
OPERATOR_WORDS = ("AND", "OR", "NOT")


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
    """A value of the wrong shape for its field (``date:>=yesterday``, ``build_id:>abc``, ``version:>=abc``)."""


class QueryTooLargeError(QueryError):
    """A query past one of the bounds: :data:`MAX_DEPTH`, :data:`MAX_TERMS`, :data:`MAX_VALUE_LENGTH`."""


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
    thread: Term | None = None       # the thread:/thread.name: term scoping a stack term (None: crashing thread)
    stack: StackPattern | None = None  # stack:"A > B >> C"
    top: int | None = None           # frame.trust:VALUE@N: within the top N frames

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


@dataclass(frozen=True, slots=True)
class Not:
    """``NOT x`` / ``-x`` / ``!x`` on a word, phrase or group (a negated field term is a :class:`Term` with
    ``negate``)."""

    item: Node
    pos: int = 0
    end: int = 0


Node = Term | FullText | And | Or | Not


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed query; ``root`` is None for the empty query (which matches everything)."""

    text: str
    root: Node | None = None
    terms: tuple[Term, ...] = field(default=())


# ---------------------------------------------------------------------------------------------- lexer

_FIELD_RE = re.compile(r"(ann\.[^\s:\"()]+|[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?):(?!:)")
_OPS = (">=", "<=", ">", "<", "=", "~", "^", "$")
_REL_RE = re.compile(r"^(\d+)\s*([mhdw])$", re.IGNORECASE)
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


@dataclass(slots=True)
class _Tok:
    kind: str        # "(" ")" "OR" "AND" "NOT" "term" "word" "phrase"
    pos: int
    end: int
    text: str = ""
    field: str = ""
    field_pos: int = 0
    value_pos: int = 0
    quoted: bool = False
    negated: bool = False   # "!field:..." or "-field:..."


def _check_length(text: str, query: str, pos: int, what: str) -> None:
    if len(text) > MAX_VALUE_LENGTH:
        raise QueryTooLargeError(f"{what} is {len(text):,} characters long (at most {MAX_VALUE_LENGTH:,})",
                                 query, pos)


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
            text = "".join(out)
            _check_length(text, query, start, "a quoted value")
            return text, i + 1
        out.append(ch)
        i += 1
    raise UnbalancedQuoteError('unbalanced quote: this " is never closed', query, start)


def _read_bare(query: str, start: int, depth: int) -> tuple[str, int]:
    """A bare value or word: up to whitespace; trailing ")" close open groups. A ")" that closes nothing is an
    error (quote a value that holds one)."""
    i = start
    n = len(query)
    while i < n and not query[i].isspace():
        if query[i] == '"':
            raise UnbalancedQuoteError('a quote inside a bare word; quote the whole value', query, i)
        i += 1
    _check_length(query[start:i].lstrip("!=~^$<>"), query, start, "a value")
    text = query[start:i]
    # pair parentheses inside the value; the unpaired ")" at its end close open groups
    level = 0
    unpaired: list[int] = []
    for k, ch in enumerate(text):
        if ch == "(":
            level += 1
        elif ch == ")":
            if level:
                level -= 1
            else:
                unpaired.append(k)
    closes = 0
    while unpaired and unpaired[-1] == len(text) - 1 - closes and closes < depth:
        unpaired.pop()
        closes += 1
    if unpaired:
        raise QuerySyntaxError("')' without a matching '(' (quote a value that holds one)", query,
                               start + unpaired[0])
    return text[:len(text) - closes], i - closes


def _negation_follows(query: str, i: int) -> bool:
    """Whether ``-``/``!`` at ``i`` is a prefix negation: something other than space right after it."""
    return i + 1 < len(query) and not query[i + 1].isspace()


def _tokenize(query: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, depth, items = 0, 0, 0
    n = len(query)

    def count(pos: int) -> None:
        nonlocal items
        items += 1
        if items > MAX_TERMS:
            raise QueryTooLargeError(f"more than {MAX_TERMS} terms and words in one query", query, pos)

    while i < n:
        ch = query[i]
        if ch.isspace():
            i += 1
            continue
        if ch == "(":
            toks.append(_Tok("(", i, i + 1))
            depth += 1
            if depth > MAX_DEPTH:
                raise QueryTooLargeError(f"more than {MAX_DEPTH} nested groups", query, i)
            i += 1
            continue
        if ch == ")":
            toks.append(_Tok(")", i, i + 1))
            depth = max(0, depth - 1)
            i += 1
            continue
        if ch == '"':
            text, end = _read_quoted(query, i)
            count(i)
            toks.append(_Tok("phrase", i, end, text=text, quoted=True))
            i = end
            continue
        prefix_neg = ch in "!-" and _FIELD_RE.match(query, i + 1) is not None
        m = _FIELD_RE.match(query, i + 1 if prefix_neg else i)
        if m:
            count(i)
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
            if j < n and query[j] == "(":
                raise QuerySyntaxError("a value starting with '(' is ambiguous: quote it (field:\"(...)\"), or "
                                       "put the field inside the group: (field:A OR field:B)", query, j)
            text, end = _read_bare(query, vpos, depth)
            toks.append(_Tok("term", i, end, text=text, field=m.group(1),
                             field_pos=m.start(), value_pos=vpos, negated=prefix_neg))
            i = end
            continue
        if ch in "!-":
            if not _negation_follows(query, i):
                raise QuerySyntaxError(f"'{ch}' negates the term right after it (no space between); quote it "
                                       "to search for it", query, i)
            toks.append(_Tok("NOT", i, i + 1, text=ch))
            i += 1
            continue
        text, end = _read_bare(query, i, depth)
        if text in OPERATOR_WORDS:
            toks.append(_Tok(text, i, end, text=text))
        elif text.upper() in OPERATOR_WORDS:
            raise QuerySyntaxError(f"{text!r} is ambiguous: write {text.upper()} for the operator, or quote "
                                   f"\"{text}\" to search for the word", query, i)
        elif text[:1] in "<>=~^$:":
            # "version:>=120 <130" or ":value": an operator or a colon without its field
            raise QuerySyntaxError(f"{text[:1]!r} without a field before it (write field:{text}, or quote the "
                                   "word to search for it)", query, i)
        else:
            count(i)
            toks.append(_Tok("word", i, end, text=text))
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
    if name in THREAD_FIELDS and name != "frame.module":
        return _thread_term(name, tok, query, value, negate, op, off)
    if name in ("module", "frame.module") and "@" in value and value != NULL_VALUE:
        filename, _, version_spec = value.partition("@")
        vneg, vop, version, _ = _split_op(version_spec, query, tok.value_pos)
        if vneg:
            raise BadOperatorError("'!' is not allowed on the version part of module:NAME@VERSION", query,
                                   tok.value_pos)
        vop = vop or "="
        if vop not in ALLOWED_OPS[VERSION] or not version:
            raise BadValueError("module:NAME@VERSION needs a version after '@'", query, tok.value_pos)
        if vop in ORDERING:
            _check_version("the module version", version, query, tok.value_pos)
        module_version = (vop, version)
        value = filename
        if not value:
            raise BadValueError("module:NAME@VERSION needs a module file name before '@'", query, tok.value_pos)
    if value == NULL_VALUE and not tok.quoted:
        if op is not None:
            raise BadOperatorError("__null__ takes no operator (use field:__null__ or field:!__null__)",
                                   query, op_pos)
        if name == "trend":
            raise BadValueError("trend takes one value, spike (trend:spike)", query, tok.value_pos + off)
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
    elif kind == VERSION and op in ORDERING:
        _check_version(name, value, query, tok.value_pos + off)
    elif name == "trend" and (op != "=" or value.lower() != "spike"):
        raise BadValueError("trend takes one value, spike (trend:spike)", query, tok.value_pos + off)
    return Term(name, op, parsed, negate, explicit, module_version, tok.pos, tok.end)


def _check_version(name: str, value: str, query: str, pos: int) -> None:
    """Versions order by their numbers (120.0.1 > 99.0): a value that starts with none orders nowhere."""
    if not value[:1].isdigit():
        raise BadValueError(f"{name} compares as a version; {value!r} does not start with a number", query, pos)


# ---------------------------------------------------------------------------------------------- parser


class _Parser:
    def __init__(self, query: str) -> None:
        self.query = query
        self.toks = _tokenize(query)
        self.i = 0
        self.depth = 0
        self.terms: list[Term] = []

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def error(self, message: str, pos: int) -> QuerySyntaxError:
        return QuerySyntaxError(message, self.query, pos)

    def parse(self) -> Node | None:
        if not self.toks:
            return None
        node = self.or_expr()
        tok = self.peek()
        if tok is not None:
            raise self.error("')' without a matching '('", tok.pos)
        return node

    def or_expr(self) -> Node:
        start = self.peek()
        if start is not None and start.kind in ("OR", "AND"):
            raise self.error(f"{start.kind} needs something on its left", start.pos)
        items = [self.and_expr()]
        while (tok := self.peek()) is not None and tok.kind == "OR":
            self.i += 1
            nxt = self.peek()
            if nxt is None or nxt.kind in (")", "OR", "AND"):
                raise self.error("OR needs something on its right", tok.pos)
            items.append(self.and_expr())
        if len(items) == 1:
            return items[0]
        return Or(tuple(items), _pos(items[0]), _end(items[-1]))

    def and_expr(self) -> Node:
        items: list[Node] = []
        while (tok := self.peek()) is not None and tok.kind not in ("OR", ")"):
            if tok.kind == "AND":
                if not items:
                    raise self.error("AND needs something on its left", tok.pos)
                self.i += 1
                nxt = self.peek()
                if nxt is None or nxt.kind in (")", "OR", "AND"):
                    raise self.error("AND needs something on its right", tok.pos)
            items.append(self.unary())
        if not items:
            tok = self.peek()
            pos = tok.pos if tok else len(self.query)
            raise self.error("empty group", pos)
        if len(items) == 1:
            return items[0]
        return And(tuple(items), _pos(items[0]), _end(items[-1]))

    def unary(self) -> Node:
        tok = self.toks[self.i]
        if tok.kind != "NOT":
            return self.item()
        self.i += 1
        nxt = self.peek()
        what = "NOT" if tok.text == "NOT" else f"'{tok.text}'"
        if nxt is None or nxt.kind in (")", "OR", "AND"):
            raise self.error(f"{what} needs a term, word or group after it", tok.pos)
        if nxt.kind == "NOT" or (nxt.kind == "term" and nxt.negated):
            raise self.error("negated twice; write the term once, without negation", nxt.pos)
        node = self.item()
        if isinstance(node, Term):
            negated = _replace(node, negate=not node.negate, pos=tok.pos)
            self.terms[-1] = negated
            return negated
        return Not(node, tok.pos, _end(node))

    def item(self) -> Node:
        tok = self.toks[self.i]
        self.i += 1
        if tok.kind == "(":
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise QueryTooLargeError(f"more than {MAX_DEPTH} nested groups", self.query, tok.pos)
            inner_tok = self.peek()
            if inner_tok is None:
                raise self.error("'(' is never closed", tok.pos)
            if inner_tok.kind == ")":
                raise self.error("empty parentheses", tok.pos)
            node = self.or_expr()
            close = self.peek()
            if close is None or close.kind != ")":
                raise self.error("'(' is never closed", tok.pos)
            self.i += 1
            self.depth -= 1
            return node
        if tok.kind == "term":
            term = _make_term(tok, self.query)
            self.terms.append(term)
            return term
        if tok.kind == "phrase":
            return FullText(tok.text, True, tok.pos, tok.end)
        if tok.kind == "word":
            return FullText(tok.text, False, tok.pos, tok.end)
        raise self.error(f"unexpected {tok.kind}", tok.pos)  # pragma: no cover - and_expr/or_expr filter these


def _replace(term: Term, **changes) -> Term:
    return dataclasses.replace(term, **changes)


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
    if root is not None and any(t.field in ("thread", "thread.name") for t in parser.terms):
        root = scope_threads(root, query)
        return Query(query, root, tuple(_terms(root)))
    return Query(query, root, tuple(parser.terms))


# ---------------------------------------------------------------------------------------------- thread scope
#
# ``thread:crashing|main|any`` and ``thread.name:NAME`` say which threads the stack terms beside them look at:
# ``function:``, ``frame.module:`` and ``stack:`` in the same AND group (and in groups nested in it that name
# no thread of their own). Alone, they match crashes that have such a thread. Without one, stack terms look
# at the crashing thread (as ``function:`` always has). Each stack term is matched on its own against the
# threads in scope (``thread:any function:A function:B``: some thread calls A, some thread calls B); ``stack:``
# holds several functions on one thread. ``frame.trust:`` and ``frames:`` are about the crashing thread.

THREAD_FIELDS = ("thread", "stack", "frame.trust", "frame.module", "frames", "thread.name",  # frame.module: as module:
                 "server_stack")
SCOPED_FIELDS = ("function", "frame.module", "stack")
THREAD_ROLES = ("crashing", "main", "any")
TRUST_VALUES = ("none", "scan", "cfi_scan", "frame_pointer", "cfi", "context", "prewalked", "inline")
MAX_TOP = 64            # frame.trust:VALUE@N: N up to this
MAX_STACK_ELEMENTS = 16
_STACK_SPLIT = re.compile(r"(?:^|\s+)(>>|>)(?:\s+|$)")


@dataclass(frozen=True, slots=True)
class StackPattern:
    """``stack:"A > B >> C"``: functions from the outermost caller to the top; ``direct[k]`` says element
    ``k + 1`` is called right by element ``k`` (``>>``) instead of anywhere above it (``>``). Each element
    matches a function containing it (ignoring case), or equal to it when written ``=NAME``."""

    elements: tuple[tuple[str, str], ...]   # (op "~" or "=", text)
    direct: tuple[bool, ...]


def parse_stack(value: str, query: str, pos: int) -> StackPattern:
    parts = _STACK_SPLIT.split(value.strip())
    texts, seps = parts[0::2], parts[1::2]
    if len(texts) > MAX_STACK_ELEMENTS:
        raise QueryTooLargeError(f"more than {MAX_STACK_ELEMENTS} functions in one stack: pattern", query, pos)
    elements = []
    for text in texts:
        op = "~"
        if text.startswith("="):
            op, text = "=", text[1:]
        if not text or text in (">", ">>"):
            raise BadValueError('stack: needs a function on each side of > and >> (stack:"A > B"; spaces '
                                'around > and >>)', query, pos)
        elements.append((op, text))
    return StackPattern(tuple(elements), tuple(sep == ">>" for sep in seps))


def _thread_term(name: str, tok: _Tok, query: str, value: str, negate: bool, op: str | None, off: int) -> Term:
    vpos = tok.value_pos + off
    op_pos = vpos - len(op or "")
    explicit = op is not None
    if value == NULL_VALUE and not tok.quoted:
        raise BadValueError(f"{name} does not take __null__", query, vpos)
    if name == "thread":
        if op not in (None, "=") or value.lower() not in THREAD_ROLES:
            raise BadValueError(f"thread: is one of {', '.join(THREAD_ROLES)} (for a thread's name use "
                                "thread.name:)", query, vpos)
        return Term(name, "=", value.lower(), negate, explicit, None, tok.pos, tok.end)
    if name == "stack":
        if op not in (None, "~"):
            raise BadOperatorError('stack: takes no operator (stack:"A > B"; =NAME for an exact function)',
                                   query, op_pos)
        return Term(name, "~", value, negate, explicit, None, tok.pos, tok.end,
                    stack=parse_stack(value, query, vpos))
    if name == "server_stack":
        if op not in (None, "=") or value.lower() not in ("differs", "same"):
            raise BadValueError("server_stack: is differs or same (a synced crash's local re-walk against the "
                                "server's crashing thread)", query, vpos)
        return Term(name, "=", value.lower(), negate, explicit, None, tok.pos, tok.end)
    if name == "frames":
        op = op or "="
        if op not in ("=",) + ORDERING or not value.strip().isdigit():
            raise BadValueError("frames: takes a number of frames, with = > >= < <= (frames:>500)", query, vpos)
        return Term(name, op, value.strip(), negate, explicit, None, tok.pos, tok.end)
    if name == "frame.trust":
        trust, _, top = value.partition("@")
        if op not in (None, "=") or trust.lower() not in TRUST_VALUES:
            raise BadValueError(f"frame.trust: is one of {', '.join(TRUST_VALUES)}, optionally @N for the top "
                                "N frames (frame.trust:scan@5)", query, vpos)
        n = None
        if top or "@" in value:
            if not top.isdigit() or not 1 <= int(top) <= MAX_TOP:
                raise BadValueError(f"frame.trust:VALUE@N needs N from 1 to {MAX_TOP}", query,
                                    vpos + len(trust) + 1)
            n = int(top)
        return Term(name, "=", trust.lower(), negate, explicit, None, tok.pos, tok.end, top=n)
    # thread.name: keyword with string operators
    op = op or "="
    if op not in STRING_OPS:
        raise BadOperatorError(f"operator {op!r} does not apply to {name} (use {' '.join(STRING_OPS)})",
                               query, op_pos)
    return Term(name, op, value, negate, explicit, None, tok.pos, tok.end)


def _is_scope(node: Node) -> bool:
    return isinstance(node, Term) and node.field in ("thread", "thread.name") and not node.negate


def scope_threads(node: Node, query: str, scope: Term | None = None) -> Node:
    """Attach each AND group's thread scope to the stack terms under it (see the section comment)."""
    if isinstance(node, And):
        scopes = [item for item in node.items if _is_scope(item)]
        scoped = any(isinstance(item, Term) and item.field in SCOPED_FIELDS for item in node.items)
        if len(scopes) > 1 and not scoped:  # (thread:any) (thread.name:X): each alone, no stack term to scope
            scopes = []
        if len(scopes) > 1:
            raise QuerySyntaxError("one thread:/thread.name: per group (put other threads in their own "
                                   "group: (thread:main function:A) (thread:any function:B))", query,
                                   scopes[1].pos)
        inner = scopes[0] if scopes else scope
        return dataclasses.replace(node, items=tuple(scope_threads(i, query, inner) for i in node.items))
    if isinstance(node, Or):
        return dataclasses.replace(node, items=tuple(scope_threads(i, query, scope) for i in node.items))
    if isinstance(node, Not):
        return dataclasses.replace(node, item=scope_threads(node.item, query, scope))
    if isinstance(node, Term) and node.field in SCOPED_FIELDS and scope is not None:
        return dataclasses.replace(node, thread=scope)
    return node


def _terms(node: Node) -> list[Term]:
    if isinstance(node, Term):
        return [node]
    if isinstance(node, And | Or):
        return [t for item in node.items for t in _terms(item)]
    if isinstance(node, Not):
        return _terms(node.item)
    return []
