"""Regeneration runs: sign stored crashes with a profile, report what would change, apply, undo.

Nothing is written until :func:`apply_run`; an applied run records each new signature in the signature
history under a run id, so :func:`undo_run` can put every crash back.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crashdesk.engine.signature import Profile, RegenerationReport, regenerate, resolve_profile
from crashdesk.store import CrashStore, codec
from crashdesk.store.crashes import SignatureRecord


def decode_stored(item: tuple[bytes, str | bytes]) -> dict[str, Any]:
    """Worker-side: (compressed JSON of the signature input or, for crashes stored before it existed, the whole
    processed crash; raw annotations, JSON text or compressed) -> generator input."""
    blob, raw = item
    return {"stackwalk": codec.unpack(blob), "annotations": json.loads(codec.text(raw))}


@dataclass
class StoredDecoder:
    """:func:`decode_stored` carrying the store's compression dictionaries to worker processes (a forked worker
    has them already; a spawned one registers them on its first crash)."""

    dictionaries: tuple[bytes, ...]
    registered: bool = False

    def __call__(self, item: tuple[bytes, str | bytes]) -> dict[str, Any]:
        if not self.registered:
            for data in self.dictionaries:
                codec.register_dictionary(data)
            self.registered = True
        return decode_stored(item)


@dataclass
class RegenerationRun:
    profile: Any  # a Profile, or a choice.ChoiceSpec ("auto": per crash by product)
    query: str
    report: RegenerationReport
    skipped: int  # matching crashes with no processed crash to sign
    run_id: str | None = None

    def to_dict(self, *, limit: int | None = 50) -> dict[str, Any]:
        out = self.report.to_dict(limit=limit)
        out.update(profile=self.profile.name, rule_set=self.profile.follows, query=self.query,
                   skipped_unprocessed=self.skipped, applied=self.run_id is not None, run_id=self.run_id)
        return out


def _inputs(store: CrashStore, query: str, counter: list[int]) -> Iterator[tuple[str, str | None, Any]]:
    from crashdesk.model.versions import version_key
    from crashdesk.store.search import compile_query

    where, params = compile_query(query or "")
    conn = store.db.conn
    conn.create_function("version_key", 1, version_key, deterministic=True)
    cursor = conn.execute(
        "SELECT c.crash_id, c.signature, coalesce(si.doc, c.processed), c.raw FROM crashes c "
        f"LEFT JOIN signature_inputs si ON si.crash = c.id WHERE {where} ORDER BY c.id", params)
    for crash_id, signature, processed, raw in cursor:
        if processed is None:
            counter[0] += 1
            continue
        yield crash_id, signature, (processed, raw)


def usual_profile(store: CrashStore, newest: int = 1000) -> str | None:
    """The signature profile most of the store's ``newest`` crashes were signed with (processing signs a Mozilla
    product's crash with ``mozilla`` and any other with ``generic``), None before any is signed: the profile a
    regeneration of this store most likely starts from."""
    row = store.db.conn.execute(
        "SELECT signature_profile, count(*) AS n FROM (SELECT signature_profile FROM crashes ORDER BY id DESC "
        "LIMIT ?) WHERE signature_profile IS NOT NULL AND signature_profile != '' GROUP BY signature_profile "
        "ORDER BY n DESC, signature_profile LIMIT 1", (newest,)).fetchone()
    return row[0] if row else None


def compute_run(store: CrashStore, profile: str | Profile, *, query: str = "", profiles_dir: Path | None = None,
                processes: int | None = None, progress: Callable[[int], None] | None = None) -> RegenerationRun:
    """Sign every processed crash matching ``query`` with ``profile`` (in ``processes`` worker processes,
    default every core) and report what would change. Changes nothing.

    ``profile`` ``"auto"`` (or None) signs each crash with the profile the product -> profile rule picks,
    as processing does (``crashdesk.engine.signature.choice``; the table of ``profiles_dir``'s data folder)."""
    if profile in (None, "", "auto"):
        from crashdesk.config.signature_profiles import load_choice
        from crashdesk.engine.signature.choice import ChoiceSpec

        data_dir = Path(profiles_dir).parent if profiles_dir else None
        prof = ChoiceSpec(load_choice(data_dir), str(profiles_dir) if profiles_dir else None, by="crash")
        prof.resolve_all()
    else:
        prof = profile if isinstance(profile, Profile) else resolve_profile(profile, profiles_dir)
    skipped = [0]
    decode = StoredDecoder(tuple(bytes(d) for (d,) in store.db.conn.execute("SELECT dict FROM codec_dictionaries")))
    report = regenerate(_inputs(store, query, skipped), prof, processes, decode=decode,
                        progress=progress, chunk_size=512)
    return RegenerationRun(prof, query, report, skipped[0])


def apply_run(store: CrashStore, run: RegenerationRun) -> str:
    """Write the run's changed signatures into the store (one transaction) and return its run id."""
    run_id = f"regen-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    items = []
    for crash_id, result in run.report.results.items():
        items.append((crash_id, SignatureRecord(result.signature, result.proto_signature, list(result.notes),
                                                result.profile or run.profile.name, run_id)))
    store.record_signatures(items)
    run.run_id = run_id
    return run_id


def undo_run(store: CrashStore, run_id: str) -> int:
    return store.undo_signature_run(run_id)


def applied_runs(store: CrashStore) -> list[dict[str, Any]]:
    """Applied regeneration runs, newest first: run id, profile, crashes, when."""
    rows = store.db.conn.execute(
        "SELECT run_id, profile, count(*), min(created_at) FROM signature_history WHERE run_id IS NOT NULL "
        "GROUP BY run_id ORDER BY min(created_at) DESC").fetchall()
    return [{"run_id": r, "profile": p, "crashes": n, "created_at": at} for r, p, n, at in rows]
