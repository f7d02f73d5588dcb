"""Reading one ``POST /submit`` body the way Antenna does: optional gzip, then multipart, then each part
classified by content type and filename (annotation field, JSON ``extra`` part, or dump/attachment).

Dumps are streamed into temporary files in a spool folder on the blob store's file system while they are
hashed; annotation values are buffered in memory within :class:`~crashdesk.collector.config.Limits`.
Every refusal raises :class:`~crashdesk.collector.errors.Discarded` and removes what was spooled.
"""

from __future__ import annotations

import json
import os
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import multipart

try:  # ISA-L's inflate: the same interface as zlib's, about 2-6 times faster (a dump's biggest CPU cost)
    from isal import isal_zlib as _gzip_impl
except ImportError:  # pragma: no cover - isal is a dependency; plain zlib is the fallback
    _gzip_impl = zlib

from crashdesk.collector.budget import BudgetHold, ByteBudget
from crashdesk.collector.config import Limits
from crashdesk.collector.errors import Discarded, malformed
from crashdesk.collector.spool import SpoolFile

#: annotation bytes all submissions in flight may hold together, beyond :data:`ANNOTATION_FREE_EACH` each:
#: parsed JSON takes a few times its size in memory, so this bounds what a burst of large (or gzipped) JSON
#: extras costs; a submission that finds it full is refused with 503 and retried later by its client
ANNOTATION_BUDGET = ByteBudget(48 * 1024 * 1024, free_each=256 * 1024)

#: bytes per read and per inflated piece (fewer, bigger pieces: fewer hand-overs of the GIL between the
#: request threads; :mod:`crashdesk.collector.memory` keeps such buffers on the heap)
READ_SIZE = 256 * 1024
RESERVED_DUMP_NAMES = frozenset({"dump_names", "processed_crash", "raw_crash"})
#: the name a dump part is stored under when its own name keeps nothing once sanitised (``name="-"``): Antenna
#: accepts such a report (its dump gets the empty name); a second such part gets ``unnamed_dump_2`` and so on
UNNAMED_DUMP = "unnamed_dump"
#: the Content-Encoding values whose body is inflated; Antenna inflates only ``gzip`` and reads a body with
#: any other encoding (``deflate``, ``br``...) as it is, so a mislabelled plain body is accepted
GZIP_ENCODINGS = ("gzip", "x-gzip")
#: Antenna's collector note for a form field whose value its charset cannot decode (the field is dropped);
#: ``{charset}`` is the part's charset parameter, else ``utf-8``
UNDECODABLE_NOTE = "extract payload text part exception: invalid text or charset: {charset}"
BOTH_STYLES_NOTE = "includes annotations in both json-encoded extra and formdata parts"
MULTIPART_TYPES = ("multipart/form-data", "multipart/mixed")
_NOT_DUMP_NAME_CHARS = re.compile(r"[^A-Za-z0-9_]")

#: URL query parameters Crashpad adds (from the ``prod``/``ver`` annotations and the client id): the annotation
#: each fills in, and the annotation keys that already carry the same fact. The URL's version goes to
#: ``Version``: a lower-case ``version`` key is the raw crash's schema version (2) in Antenna's raw crash.
QUERY_FALLBACKS = {
    "product": ("ProductName", ("ProductName", "product", "prod")),
    "version": ("Version", ("Version", "version", "ver")),
    "guid": ("guid", ("guid",)),
}


@dataclass
class SpooledDump:
    """A dump part written to a temporary file: its name, temp path, sha256 and size."""

    name: str
    path: Path
    sha256: str
    size: int


@dataclass
class Submission:
    """A parsed submission, before throttling and saving."""

    annotations: dict[str, Any] = field(default_factory=dict)
    dumps: dict[str, SpooledDump] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    quiet_notes: list[str] = field(default_factory=list)  # kept in the raw crash (Antenna parity), not shown
    payload: str = "multipart"
    compressed: bool = False
    payload_size: int = 0
    #: this submission's share of :data:`ANNOTATION_BUDGET` (released by the caller once it is answered)
    budget: BudgetHold | None = None

    def release(self) -> None:
        if self.budget is not None:
            self.budget.release()

    def discard_files(self) -> None:
        """Remove the spooled dump files (a refused or duplicate submission leaves nothing behind)."""
        for dump in self.dumps.values():
            _unlink(dump.path)
        self.dumps.clear()


@dataclass(frozen=True)
class RequestInfo:
    """What the parser needs from the HTTP request (the server has already undone chunked framing)."""

    content_type: str | None
    content_encoding: str | None
    content_length: int | None
    query: dict[str, list[str]] = field(default_factory=dict)


def sanitize_dump_name(name: str) -> str:
    """Antenna's dump-name rule: keep ``[A-Za-z0-9_]``, cut to 30 characters."""
    return _NOT_DUMP_NAME_CHARS.sub("", name)[:30]


def boundary_of(content_type: str | None) -> str:
    """Check the request's ``Content-Type`` and return its multipart boundary."""
    if not content_type or not content_type.strip():
        raise malformed("no_content_type")
    mime, options = multipart.parse_options_header(content_type)
    if mime.lower() not in MULTIPART_TYPES:
        raise malformed("wrong_content_type", mime)
    boundary = options.get("boundary", "")
    if not boundary:
        raise malformed("no_boundary")
    return boundary


def _unlink(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _inflate(chunks: Iterator[bytes], limit: int) -> Iterator[bytes]:
    """Gunzip a stream, refusing more than ``limit`` inflated bytes without ever holding more."""
    inflater = _gzip_impl.decompressobj(16 + zlib.MAX_WBITS)
    total = 0

    def counted(out: bytes) -> bytes:
        nonlocal total
        total += len(out)
        if total > limit:
            raise Discarded(413, "too_large_decompressed", f"more than {limit} bytes once inflated")
        return out

    try:
        for chunk in chunks:
            data = chunk
            while data:
                out = counted(inflater.decompress(data, READ_SIZE))
                if out:
                    yield out
                data = inflater.unconsumed_tail
                if inflater.eof:
                    break
            if inflater.eof:
                break
        while not inflater.eof:  # output the inflater still holds once the input is all in
            out = counted(inflater.decompress(b"", READ_SIZE))
            if not out:
                break
            yield out
        if not inflater.eof:
            raise malformed("bad_gzip", "the gzip stream ends early")
    except (zlib.error, _gzip_impl.error) as exc:
        raise malformed("bad_gzip", str(exc)) from exc


def _read(body: BinaryIO, length: int | None) -> Iterator[bytes]:
    remaining = length
    while remaining is None or remaining > 0:
        want = READ_SIZE if remaining is None else min(READ_SIZE, remaining)
        chunk = body.read(want)
        if not chunk:
            break
        if remaining is not None:
            remaining -= len(chunk)
        yield chunk


class _Part:
    """The part being read: where its bytes go."""

    def __init__(self, kind: str, name: str, content_type: str | None, charset: str | None,
                 file: SpoolFile | None = None) -> None:
        self.kind = kind  # ignore | field | json | dump
        self.name = name
        self.content_type = content_type
        self.charset = charset
        self.buffer = bytearray()
        self.file = file


def parse_submission(info: RequestInfo, body: BinaryIO, limits: Limits, spool_dir: Path) -> Submission:
    """Parse one submission; raise :class:`Discarded` (and leave nothing in ``spool_dir``) when refused."""
    boundary = boundary_of(info.content_type)
    if not info.content_length:
        raise malformed("no_content_length")
    if info.content_length > limits.max_request_size:
        raise Discarded(413, "too_large", f"{info.content_length} bytes on the wire")
    encoding = (info.content_encoding or "").strip().lower()
    sub = Submission(compressed=encoding in GZIP_ENCODINGS, payload_size=info.content_length,
                     budget=ANNOTATION_BUDGET.hold())
    stream = _read(body, info.content_length)
    if sub.compressed:
        stream = _inflate(stream, inflate_limit(limits, info.content_length))
    try:
        _parse_multipart(stream, boundary, limits, spool_dir, sub)
    except BaseException:
        sub.discard_files()
        sub.release()
        raise
    _add_query_fallbacks(sub, info.query)
    try:
        if not sub.annotations:
            raise malformed("no_annotations")
        check_storable(sub.annotations)
    except Discarded:
        sub.discard_files()
        sub.release()
        raise
    return sub


def inflate_limit(limits: Limits, wire_size: int) -> int:
    """The most a gzipped body of ``wire_size`` bytes may inflate to: ``max_inflate_ratio`` times its size,
    at least ``max_request_size`` (what an uncompressed upload may store), at most ``max_decompressed_size``."""
    return min(limits.max_decompressed_size,
               max(limits.max_request_size, limits.max_inflate_ratio * max(wire_size, 0)))


def json_text(data: bytes) -> tuple[str, bytes]:
    """A JSON extra's text, read as Antenna reads it (``json.loads`` on bytes: UTF-8 with or without a BOM,
    UTF-16 or UTF-32, told apart by the first bytes), and its UTF-8 bytes for :func:`check_json_shape`, whose
    byte scan would be misled by UTF-16's or UTF-32's bytes (a character such as U+0122 holds a quote byte)."""
    encoding = json.detect_encoding(data)
    text = data.decode(encoding)
    if encoding == "utf-8":
        return text, data
    return text, text.encode("utf-8", "surrogatepass")


def check_storable(annotations: dict[str, Any]) -> None:
    """Refuse annotations the store could not write as UTF-8 JSON (a lone surrogate such as ``"\\ud800"``
    from a JSON escape or an exotic charset) before anything is published."""
    try:
        json.dumps(annotations, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise malformed("invalid_unicode", f"a lone surrogate at {exc.start} of an annotation") from exc
    except (TypeError, ValueError, RecursionError) as exc:
        raise malformed("invalid_json", str(exc)[:200]) from exc


#: a JSON string (the unrolled form: fast on long strings). The closing quote is optional so that a match never
#: fails: a failing match at every quote of an unterminated run such as ``"\"\"\"...`` rescans to the end each
#: time (quadratic: 40 KB took 10 s); unterminated, the rest is taken as the string and json.loads refuses it
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_JSON_BRACKET = re.compile(rb"[\[\]{}]")


#: what one parsed JSON value costs in memory, roughly (measured: ~190 bytes per value for small objects,
#: with the stored copy): the annotation budget is charged this much per value besides the JSON's bytes
JSON_VALUE_COST = 200


def check_json_shape(data: bytes, limits: Limits) -> int:
    """Refuse a JSON document nested deeper than ``max_json_depth`` or holding more than ``max_json_values``
    values, before it is parsed (so neither the parser's recursion nor the parsed objects' memory depend on
    what the client sent). Looks only at the bytes outside strings. Returns the number of values."""
    structure = _JSON_STRING.sub(b"", data)
    values = structure.count(b",") + 1
    if values > limits.max_json_values:
        raise Discarded(413, "json_too_large", f"more than {limits.max_json_values} JSON values")
    depth = brackets = 0
    for match in _JSON_BRACKET.finditer(structure):  # at most 2 x max_json_values turns
        brackets += 1
        if match.group() in (b"[", b"{"):
            depth += 1
            values += 1
            if depth > limits.max_json_depth:
                raise malformed("json_too_deep", f"JSON nested deeper than {limits.max_json_depth} levels")
            if values > limits.max_json_values:
                raise Discarded(413, "json_too_large", f"more than {limits.max_json_values} JSON values")
        else:
            depth -= 1
            if brackets > 2 * limits.max_json_values:
                raise Discarded(413, "json_too_large", f"more than {limits.max_json_values} JSON values")
    return values


def _parse_multipart(stream: Iterator[bytes], boundary: str, limits: Limits, spool_dir: Path,
                     sub: Submission) -> None:
    parser = multipart.PushMultipartParser(
        boundary, max_header_size=limits.max_part_header_size, max_header_count=16,
        max_segment_count=limits.max_fields + limits.max_files + 1)
    state = _State(limits, spool_dir, sub)
    total = 0
    try:
        for chunk in stream:
            total += len(chunk)
            if not sub.compressed and total > limits.max_decompressed_size:
                raise Discarded(413, "too_large_decompressed")
            for event in parser.parse(chunk):
                state.event(event)
            if parser.closed:
                break
        for event in parser.parse(b""):
            state.event(event)
    except multipart.ParserLimitReached as exc:
        state.abort()
        raise malformed("too_many_parts", str(exc)) from exc
    except multipart.MultipartError as exc:
        state.abort()
        raise malformed("invalid_payload_structure", str(exc)) from exc
    except BaseException:
        state.abort()
        raise
    if state.part is not None:
        state.abort()
        raise malformed("invalid_payload_structure", "the last part is not terminated")
    if state.has_json and state.has_form:  # Antenna's test and its note, once, after the parts' own notes
        sub.notes.append(BOTH_STYLES_NOTE)


class _State:
    """Turns parser events into annotations, dumps and notes."""

    def __init__(self, limits: Limits, spool_dir: Path, sub: Submission) -> None:
        self.limits = limits
        self.spool_dir = spool_dir
        self.sub = sub
        self.part: _Part | None = None
        self.fields = 0
        self.annotation_bytes = 0
        self.has_json = False
        self.has_form = False
        #: original part name -> the name its dump is stored under, for names that sanitise to nothing
        self.aliases: dict[str, str] = {}

    def event(self, event) -> None:
        if isinstance(event, multipart.MultipartSegment):
            self.part = self._open(event)
        elif event is None:
            part, self.part = self.part, None
            if part is not None:
                self._close(part)
        else:
            self._data(event)

    def abort(self) -> None:
        part, self.part = self.part, None
        if part is not None and part.file is not None:
            part.file.discard()

    def _open(self, seg) -> _Part:
        name = seg.name or ""
        ctype = seg.content_type
        if not name:
            return _Part("ignore", name, ctype, None)
        # Antenna classifies by the Content-Type header as sent (a part without one counts as text/plain),
        # by prefix and case-sensitively: "application/json; charset=utf-8" is the JSON extra, "TEXT/PLAIN"
        # a dump; an empty filename is no filename
        raw_type = (seg.header("Content-Type") or "").strip() or "text/plain"
        if raw_type.startswith("application/json"):
            return self._annotation_part("json", name, ctype, seg.charset)
        if raw_type.startswith("text/plain") and not seg.filename:
            return self._annotation_part("field", name, ctype, seg.charset)
        dump_name = sanitize_dump_name(name)
        if dump_name in RESERVED_DUMP_NAMES:
            raise malformed("invalid_dump_name", name)
        if dump_name in self.aliases.values():
            self._move_alias(dump_name)
        if not dump_name:
            dump_name = self._alias(name)
        if len(self.sub.dumps) >= self.limits.max_files and dump_name not in self.sub.dumps:
            raise malformed("too_many_files", f"more than {self.limits.max_files} dump parts")
        if raw_type != "application/octet-stream":
            note = f"unknown content type: {name} {raw_type}"
            self.sub.notes.append(note)  # in the raw crash's collector_notes, word for word as Antenna stores it
            if seg.header("Content-Type") is None:
                # Crashpad sends its dump part without a Content-Type (text/plain by RFC 7578) on every upload:
                # normal, so it is not one of the crash's own notes that the list and the crash view show
                self.sub.quiet_notes.append(note)
        return _Part("dump", dump_name, ctype, None, SpoolFile(self.spool_dir))

    def _free_name(self) -> str:
        taken = set(self.sub.dumps) | set(self.aliases.values())
        number = 1  # at most max_files + 1 turns: every taken name is a dump or an alias
        while (candidate := UNNAMED_DUMP if number == 1 else f"{UNNAMED_DUMP}_{number}") in taken:
            number += 1
        return candidate

    def _alias(self, original: str) -> str:
        """The safe name for a dump part whose name sanitises to nothing (the same name again: the same alias,
        so a repeated part replaces the earlier one, as a repeated named part does)."""
        alias = self.aliases.get(original)
        if alias is None:
            alias = self.aliases[original] = self._free_name()
            self.sub.notes.append(f"dump part name {original[:60]!r} has no letter, digit or underscore; "
                                  f"stored as {alias}")
        return alias

    def _move_alias(self, name: str) -> None:
        """A part named ``name`` arrives after an unnamed part was stored under that alias: the unnamed one
        moves to a free alias instead of being replaced."""
        original = next(o for o, a in self.aliases.items() if a == name)
        del self.aliases[original]
        alias = self.aliases[original] = self._free_name()
        dump = self.sub.dumps.pop(name, None)
        if dump is not None:
            dump.name = alias
            self.sub.dumps[alias] = dump
        self.sub.notes.append(f"dump part name {original[:60]!r} is stored as {alias} instead of {name}")

    def _annotation_part(self, kind: str, name: str, ctype: str | None, charset: str | None) -> _Part:
        self.fields += 1
        if self.fields > self.limits.max_fields:
            raise malformed("too_many_fields", f"more than {self.limits.max_fields} annotation parts")
        return _Part(kind, name, ctype, charset)

    def _data(self, chunk) -> None:
        part = self.part
        if part is None or part.kind == "ignore":
            return
        if part.kind == "dump":
            part.file.write(chunk)
            return
        self.annotation_bytes += len(chunk)
        if len(part.buffer) + len(chunk) > self.limits.max_annotation_size or \
                self.annotation_bytes > self.limits.max_annotation_size:
            raise Discarded(413, "annotation_too_large",
                            f"annotations exceed {self.limits.max_annotation_size} bytes")
        if self.sub.budget is not None and not self.sub.budget.grow(self.annotation_bytes):
            raise Discarded(503, "busy_annotation_memory",
                            "large annotations of other submissions fill the collector's memory budget")
        part.buffer += chunk

    def _close(self, part: _Part) -> None:
        sub = self.sub
        if part.kind == "dump":
            spool = part.file
            try:
                digest = spool.finish()
            except BaseException:
                spool.discard()
                raise
            old = sub.dumps.get(part.name)
            if old is not None:
                _unlink(old.path)
            sub.dumps[part.name] = SpooledDump(part.name, spool.path, digest, spool.size)
        elif part.kind == "json":
            data = bytes(part.buffer)
            part.buffer = bytearray()
            try:
                text, utf8 = json_text(data)
            except UnicodeDecodeError as exc:
                raise malformed("invalid_json", str(exc)[:200]) from exc
            del data
            values = check_json_shape(utf8, self.limits)
            del utf8
            if self.sub.budget is not None and not self.sub.budget.grow(
                    self.annotation_bytes + values * JSON_VALUE_COST):
                raise Discarded(503, "busy_annotation_memory",
                                "large JSON extras of other submissions fill the collector's memory budget")
            try:
                value = json.loads(text)
            except ValueError as exc:
                raise malformed("invalid_json", str(exc)[:200]) from exc
            except RecursionError as exc:  # check_json_shape keeps this from happening
                raise malformed("json_too_deep", "JSON nested too deeply") from exc
            if not isinstance(value, dict):
                raise malformed("invalid_json_value", type(value).__name__)
            sub.annotations = dict(value)
            self.has_json = True
            sub.payload = "json"
        elif part.kind == "field":
            self.has_form = True  # a field that cannot be decoded still counts, as in Antenna
            try:
                text = bytes(part.buffer).decode(_codec(part.charset))
            except (UnicodeError, LookupError, ValueError, TypeError):  # punycode raises a bare UnicodeError
                # dropped, with Antenna's note (which does not name the field)
                sub.notes.append(UNDECODABLE_NOTE.format(charset=_codec(part.charset)))
                return
            sub.annotations[part.name] = text


def _codec(charset: str | None) -> str:
    return charset or "utf-8"


def _add_query_fallbacks(sub: Submission, query: dict[str, list[str]]) -> None:
    """Crashpad repeats ``prod``/``ver``/the client id in the URL; use them only where no annotation says it."""
    for param, (key, keys) in QUERY_FALLBACKS.items():
        values = query.get(param)
        if values and values[-1] and not any(k in sub.annotations for k in keys) and sub.annotations:
            sub.annotations[key] = values[-1]
            sub.notes.append(f"{key} taken from the URL query ({param}=)")
