"""Side-by-side comparison of two crashes, two signatures, or a stored and a regenerated signature.

Everything here works on what the store returns (``CrashStore.get``) and returns plain data for the UI and
the command line: aligned frame rows with the fields that differ, annotation and module differences, and
which frames the signature used or skipped.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from crashdesk.engine.signature import Profile, SignatureGenerator, SignatureResult, resolve_profile
from crashdesk.store import CrashStore

FRAME_FIELDS = ("module", "function", "module_offset", "trust")


@dataclass(slots=True)
class FrameRow:
    left: dict | None
    right: dict | None
    status: str  # "same" | "changed" | "left-only" | "right-only"
    differs: tuple[str, ...] = ()
    left_role: str = ""  # "signature" | "skipped" | "" (below the signature)
    right_role: str = ""


@dataclass(slots=True)
class CrashComparison:
    left_id: str
    right_id: str
    left_signature: str | None
    right_signature: str | None
    frames: list[FrameRow]
    annotations: list[tuple[str, Any, Any]]  # (key, left value or None, right value or None), differing only
    modules: list[tuple[str, dict | None, dict | None]]  # (filename, left, right), differing only
    identical_frames: int = 0
    notes: list[str] = field(default_factory=list)


def crashing_frames(crash: dict) -> list[dict]:
    """Frames of the crashing thread from a stored crash's processed document (empty when unprocessed)."""
    processed = crash.get("processed") or {}
    frames = (processed.get("crashing_thread") or {}).get("frames")
    if frames is None:
        threads = processed.get("threads") or []
        index = (processed.get("crash_info") or {}).get("crashing_thread")
        if isinstance(index, int) and 0 <= index < len(threads):
            frames = threads[index].get("frames")
    return [f for f in frames or [] if isinstance(f, dict)]


def _frame_key(frame: dict) -> tuple:
    return (frame.get("module"), frame.get("function") or frame.get("module_offset"))


def signature_roles(frames: list[dict], signature: str | None, normalized: list[str] | None = None) -> list[str]:
    """For each frame: ``signature`` if its (normalised) function is part of the signature, ``skipped`` if it
    lies above the last frame the signature used, else ``""``."""
    parts = {p.strip() for p in (signature or "").split("|") if p.strip()}
    names = normalized if normalized and len(normalized) == len(frames) else [
        f.get("function") or "" for f in frames]
    used = [bool(name) and name in parts for name in names]
    last = max((i for i, u in enumerate(used) if u), default=-1)
    return ["signature" if u else ("skipped" if i < last else "") for i, u in enumerate(used)]


def align_frames(left: list[dict], right: list[dict]) -> list[FrameRow]:
    """Rows pairing equal frames (by module and function, else module offset) with the differing fields."""
    matcher = difflib.SequenceMatcher(a=[_frame_key(f) for f in left], b=[_frame_key(f) for f in right],
                                      autojunk=False)
    rows: list[FrameRow] = []
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "equal":
            for i, j in zip(range(a0, a1), range(b0, b1), strict=True):
                differs = tuple(k for k in FRAME_FIELDS if left[i].get(k) != right[j].get(k))
                rows.append(FrameRow(left[i], right[j], "changed" if differs else "same", differs))
            continue
        # replace / delete / insert: pair up position by position, the rest stands alone
        n = min(a1 - a0, b1 - b0) if op == "replace" else 0
        for k in range(n):
            a, b = left[a0 + k], right[b0 + k]
            rows.append(FrameRow(a, b, "changed", tuple(f for f in FRAME_FIELDS if a.get(f) != b.get(f))))
        for i in range(a0 + n, a1):
            rows.append(FrameRow(left[i], None, "left-only"))
        for j in range(b0 + n, b1):
            rows.append(FrameRow(None, right[j], "right-only"))
    return rows


def compare_crashes(left: dict, right: dict) -> CrashComparison:
    """Compare two stored crashes (``CrashStore.get`` dictionaries)."""
    lf, rf = crashing_frames(left), crashing_frames(right)
    rows = align_frames(lf, rf)
    lroles = iter(signature_roles(lf, left.get("signature")))
    rroles = iter(signature_roles(rf, right.get("signature")))
    for row in rows:
        if row.left is not None:
            row.left_role = next(lroles)
        if row.right is not None:
            row.right_role = next(rroles)
    la, ra = left.get("annotations") or {}, right.get("annotations") or {}
    annotations = [(k, la.get(k), ra.get(k)) for k in sorted(set(la) | set(ra)) if la.get(k) != ra.get(k)]
    lm = {m["filename"]: m for m in left.get("modules") or []}
    rm = {m["filename"]: m for m in right.get("modules") or []}
    modules = []
    for name in sorted(set(lm) | set(rm), key=str.lower):
        a, b = lm.get(name), rm.get(name)
        if a is None or b is None or any(a.get(k) != b.get(k) for k in ("version", "debug_id", "code_id",
                                                                          "symbol_status")):
            modules.append((name, a, b))
    notes = []
    if not lf:
        notes.append(f"{left['crash_id']} has no processed stack")
    if not rf:
        notes.append(f"{right['crash_id']} has no processed stack")
    return CrashComparison(left["crash_id"], right["crash_id"], left.get("signature"), right.get("signature"),
                           rows, annotations, modules, sum(1 for r in rows if r.status == "same"), notes)


def representative(store: CrashStore, signature: str) -> dict | None:
    """The newest processed crash with ``signature`` (the one a signature comparison shows)."""
    row = store.db.conn.execute(
        "SELECT crash_id FROM crashes WHERE signature = ? AND processed IS NOT NULL ORDER BY submitted_at DESC "
        "LIMIT 1", (signature,)).fetchone()
    return store.get(row[0]) if row else None


def compare_signatures(store: CrashStore, left: str, right: str) -> CrashComparison | None:
    """Compare the representative crashes of two signatures; None when either has no processed crash."""
    a, b = representative(store, left), representative(store, right)
    if a is None or b is None:
        return None
    return compare_crashes(a, b)


@dataclass(slots=True)
class SignatureExplanation:
    crash_id: str
    stored: str | None
    stored_profile: str | None
    server: str | None
    regenerated: SignatureResult
    profile: str
    roles: list[str]


def explain_signature(store: CrashStore, crash_id: str, profile: str | Profile,
                      profiles_dir=None) -> SignatureExplanation:
    """The crash's stored signature next to the one ``profile`` gives now, with the generator's notes."""
    crash = store.get(crash_id)
    prof = profile if isinstance(profile, Profile) else resolve_profile(profile, profiles_dir)
    processed = crash.get("processed") or (crash.get("server_processed") or {}).get("json_dump") or {}
    result = SignatureGenerator(prof).generate_from(
        {"stackwalk": processed, "annotations": crash.get("annotations") or {}}, explain=True)
    frames = crashing_frames({"processed": processed})
    return SignatureExplanation(crash_id, crash.get("signature"), crash.get("signature_profile"),
                                crash.get("server_signature"), result, prof.name,
                                signature_roles(frames, result.signature, result.normalized_frames))
