"""Signatures for many crashes, in this process or in a pool of worker processes."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any

from crashdesk.engine.signature.generator import SignatureGenerator
from crashdesk.engine.signature.profiles import Profile
from crashdesk.engine.signature.result import SignatureResult

#: one item: (crash id, input) where input is any shape :meth:`SignatureGenerator.generate_from` accepts
Item = tuple[Any, Any]

_WORKER: SignatureGenerator | None = None


_DECODE: Callable[[Any], Any] | None = None


def _init_worker(profile, decode: Callable[[Any], Any] | None = None) -> None:
    global _WORKER, _DECODE
    _WORKER = _line_generator(profile)
    _DECODE = decode


def _sign_one(gen, obj, decode: Callable[[Any], Any] | None) -> SignatureResult:
    if decode is not None:
        try:
            obj = decode(obj)
        except Exception as exc:  # a stored document that cannot be decoded: a result with a note, not a crash
            profile = getattr(gen, "profile", None)
            return SignatureResult(notes=[f"input could not be decoded: {exc}"],
                                   profile=profile.name if profile else "", rule_set=profile.follows if profile else "")
    return gen.generate_from(obj)


def _sign_chunk(chunk: list[Item]) -> list[tuple[Any, str, str, list[str], str, str]]:
    gen = _WORKER
    assert gen is not None
    out = []
    for crash_id, obj in chunk:
        result = _sign_one(gen, obj, _DECODE)
        out.append((crash_id, result.signature, result.proto_signature, result.notes, result.profile,
                    result.rule_set))
    return out


def _chunks(items: Iterable[Item], size: int) -> Iterator[list[Item]]:
    it = iter(items)
    while True:
        chunk = list(islice(it, size))
        if not chunk:
            return
        yield chunk


def sign_many(
    items: Iterable[Item],
    profile: Profile | None = None,
    processes: int | None = 1,
    *,
    chunk_size: int = 256,
    progress: Callable[[int], None] | None = None,
    decode: Callable[[Any], Any] | None = None,
) -> Iterator[tuple[Any, SignatureResult]]:
    """Yield ``(crash id, result)`` for every item, in input order.

    ``profile`` may also be a ``choice.ChoiceSpec``: each crash is then signed with the profile the
    product -> profile rule picks for it (the result's ``profile`` names it).

    ``processes=1`` works in this process; ``None`` or ``0`` uses every CPU; more than one starts a pool
    whose workers each compile the profile once. Items are streamed in chunks, so a large iterable (e.g. a
    database cursor) is never held in memory at once. ``progress(n)`` is called after each chunk with the
    number of crashes it held. Results from workers carry signature, proto-signature and notes (not the
    normalised frame list or explanation, to keep inter-process traffic small).

    ``decode`` (a module-level function, so workers can use it) turns each item's input into an accepted
    shape *inside the worker*: give workers the stored bytes (e.g. compressed JSON straight from the database)
    and let them decode, because pickling parsed documents to the workers costs about as much as signing
    them. A decode failure gives a result with an empty signature and a note.
    """
    from crashdesk.engine.signature.profiles import mozilla_profile

    profile = profile if profile is not None else mozilla_profile()
    if not processes:
        processes = os.cpu_count() or 1
    if processes <= 1:
        gen = _line_generator(profile)
        for chunk in _chunks(items, chunk_size):
            for crash_id, obj in chunk:
                yield crash_id, _sign_one(gen, obj, decode)
            if progress:
                progress(len(chunk))
        return
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else None)
    with ctx.Pool(processes, initializer=_init_worker, initargs=(profile, decode)) as pool:
        for rows in pool.imap(_sign_chunk, _chunks(items, chunk_size)):
            for crash_id, signature, proto, notes, name, follows in rows:
                yield crash_id, SignatureResult(signature=signature, proto_signature=proto, notes=notes,
                                                profile=name or profile.name, rule_set=follows or profile.follows)
            if progress:
                progress(len(rows))


# -- JSON Lines ---------------------------------------------------------------------------------------------
_LINE_WORKER: tuple[SignatureGenerator, bool] | None = None


def _line_generator(profile):
    """A generator for a :class:`Profile`, or a per-crash choosing one for a ``choice.ChoiceSpec``."""
    build = getattr(profile, "build", None)
    return build() if build is not None else SignatureGenerator(profile)


def _init_line_worker(profile, explain: bool) -> None:
    global _LINE_WORKER
    _LINE_WORKER = (_line_generator(profile), explain)


def _error_record(lineno: int, crash_id, message: str) -> dict:
    return {"id": crash_id, "line": lineno, "error": message, "signature": None, "proto_signature": None,
            "notes": []}


def sign_json_line(gen: SignatureGenerator, lineno: int, raw: bytes | str, explain: bool = False) -> dict:
    """One JSON Lines record in (``{"id", "crash_data"}`` or ``{"id", "stackwalk", "annotations"}``), one
    output record out (``{"id", "signature", "proto_signature", "notes"}``); a line that cannot be read gives
    ``{"id", "line", "error", ...}`` instead of raising."""
    import json

    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return _error_record(lineno, None, f"line {lineno}: not UTF-8 ({exc.reason} at byte {exc.start})")
    if not raw.strip():
        return _error_record(lineno, None, f"line {lineno}: empty line")
    try:
        obj = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        return _error_record(lineno, None, f"line {lineno}: not JSON: {exc}")
    if not isinstance(obj, dict):
        return _error_record(lineno, None, f"line {lineno}: expected a JSON object, got {type(obj).__name__}")
    crash_id = obj.get("id")
    if "crash_data" in obj:
        payload = obj["crash_data"]
    elif "stackwalk" in obj:
        payload = {"stackwalk": obj["stackwalk"], "annotations": obj.get("annotations")}
    else:
        return _error_record(lineno, crash_id, f"line {lineno}: no 'crash_data' or 'stackwalk' field")
    try:
        result = gen.generate_from({"crash_data": payload} if "crash_data" in obj else payload, explain=explain)
    except RecursionError:
        return _error_record(lineno, crash_id, f"line {lineno}: input nested too deeply")
    record = {"id": crash_id}
    record.update(result.to_dict(explain=explain))
    return record


def _sign_line_chunk(chunk: list[tuple[int, bytes]]) -> list[dict]:
    assert _LINE_WORKER is not None
    gen, explain = _LINE_WORKER
    return [sign_json_line(gen, lineno, raw, explain) for lineno, raw in chunk]


def sign_json_lines(lines: Iterable[bytes | str], profile: Profile | None = None, processes: int | None = 1, *,
                    explain: bool = False, chunk_size: int = 256,
                    progress: Callable[[int], None] | None = None) -> Iterator[dict]:
    """Output records for JSON Lines input, one per line, in order (see :func:`sign_json_line`).

    ``lines`` should be split on ``\\n`` only (iterating a binary file does that); a final empty line after
    the last ``\\n`` is not a record.
    """
    from crashdesk.engine.signature.profiles import mozilla_profile

    profile = profile if profile is not None else mozilla_profile()
    numbered = ((n, raw) for n, raw in enumerate(lines, 1))
    if not processes:
        processes = os.cpu_count() or 1
    if processes <= 1:
        gen = _line_generator(profile)
        for chunk in _chunks(numbered, chunk_size):
            for lineno, raw in chunk:
                yield sign_json_line(gen, lineno, raw, explain)
            if progress:
                progress(len(chunk))
        return
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else None)
    with ctx.Pool(processes, initializer=_init_line_worker, initargs=(profile, explain)) as pool:
        for records in pool.imap(_sign_line_chunk, _chunks(numbered, chunk_size)):
            yield from records
            if progress:
                progress(len(records))
