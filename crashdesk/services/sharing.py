"""Sharing crashes safely: exports that apply the redaction policy, the preview of what leaves the machine,
and reproduction packets.

One code path computes both the preview and the bundle: :func:`prepare_export` builds every crash exactly as
it will be written (annotations redacted, dumps scrubbed, processed crashes stripped of protected fields) and
counts what happened; :func:`write_export` writes that prepared result. So the preview's counts are the
written bundle's by construction (and a test reads the bundle back to check).

A **reproduction packet** is a bundle with a ``crashdesk/`` folder beside the ``crashstats-tools`` layout::

    crashdesk/PACKET.json                       CrashDesk version, per crash: signature, its profile and the
                                                rule-set version, processing notes, symbol lookup info
    crashdesk/symbols/<debug file>/<ID>/<sym>   the Breakpad symbol files the crashes' modules were walked with

Importing a packet installs its symbol files in the receiver's symbol cache, so reprocessing there walks the
same frames without any symbol server.

The policy lives in ``<data-dir>/export-policy.json`` (Settings edits it; the CLI reads it and its flags
change it for one export). It changes exports only; the collector's read API protects
:mod:`crashdesk.model.protected_fields` whatever it says.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import crashdesk
from crashdesk.errors import CrashDeskError, UsageError
from crashdesk.model.crash_id import normalize_crash_id
from crashdesk.model.redaction import KEEP, MASK, REMOVE, SCRUB, RedactionPolicy
from crashdesk.store.bundles import PACKET_DIR, BundleCrash, BundleError, write_bundle
from crashdesk.store.crashes import CrashStore

POLICY_FILE = "export-policy.json"
PACKET_MANIFEST = f"{PACKET_DIR}/PACKET.json"
PACKET_SYMBOLS = f"{PACKET_DIR}/symbols"
MAX_PACKET_SYMBOL_BYTES = 512 << 20
_COLLECTOR_FIELDS = ("uuid", "submitted_timestamp", "metadata")


class ExportCancelled(CrashDeskError):
    """The user cancelled an export; nothing was written."""


class PolicyError(CrashDeskError):
    """The export policy file cannot be read."""


# -- the policy file ---------------------------------------------------------------------------------------


def policy_path(data_dir: Path) -> Path:
    return Path(data_dir) / POLICY_FILE


def load_policy(data_dir: Path | None) -> RedactionPolicy:
    """The export policy of ``data_dir`` (the default policy when there is no file)."""
    if data_dir is None or not policy_path(data_dir).is_file():
        return RedactionPolicy()
    path = policy_path(data_dir)
    try:
        return RedactionPolicy.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise PolicyError(f"{path}: cannot read the export policy: {exc}") from None


def save_policy(data_dir: Path, policy: RedactionPolicy) -> Path:
    path = policy_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(policy.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


# -- preview --------------------------------------------------------------------------------------------------


@dataclass
class ExportPreview:
    """What an export writes, counted over the whole export."""

    crash_ids: list[str] = field(default_factory=list)
    fields: dict[str, Counter] = field(default_factory=dict)        # annotation -> {action: crashes}
    reasons: dict[str, str] = field(default_factory=dict)           # annotation -> why (policy rule)
    dumps: Counter = field(default_factory=Counter)                 # included / scrubbed / left_out
    dump_annotations: dict[str, Counter] = field(default_factory=dict)
    memory: Counter = field(default_factory=Counter)                # bytes/regions kept and zeroed
    streams_zeroed: Counter = field(default_factory=Counter)
    streams_kept: Counter = field(default_factory=Counter)
    processed: Counter = field(default_factory=Counter)
    processed_fields_removed: Counter = field(default_factory=Counter)
    packet: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "crashes": len(self.crash_ids), "crash_ids": self.crash_ids,
            "annotations": {name: {"action": _main_action(c), "why": self.reasons.get(name, ""), **dict(c)}
                            for name, c in sorted(self.fields.items())},
            "dumps": dict(self.dumps),
            "dump_annotations": {k: dict(v) for k, v in sorted(self.dump_annotations.items())},
            "memory": dict(self.memory), "streams_zeroed": dict(self.streams_zeroed),
            "streams_kept": dict(self.streams_kept),
            "processed": dict(self.processed),
            "processed_fields_removed": dict(self.processed_fields_removed),
            "packet": self.packet, "notes": self.notes,
        }


def _main_action(c: Counter) -> str:
    for action in (REMOVE, MASK, SCRUB, KEEP):
        if c.get(action):
            return action
    return KEEP


@dataclass
class PreparedExport:
    crashes: list[BundleCrash]
    preview: ExportPreview
    extra: list[tuple[str, bytes]]


@dataclass
class ExportOptions:
    policy: RedactionPolicy = field(default_factory=RedactionPolicy)
    processed: bool = True
    packet: bool = False
    symbol_paths: Sequence[Path] = ()        # local symbol folders: for the walked ranges and the packet


Progress = Callable[[int, int], None]


def _check(cancel: Callable[[], bool] | None) -> None:
    if cancel is not None and cancel():
        raise ExportCancelled("export cancelled")


def resolve_ids(store: CrashStore, crash_ids: Iterable[str], query: str | None = None) -> list[str]:
    """Crash ids given directly plus every crash matching ``query`` (normalised, each once)."""
    ids = list(crash_ids)
    if query is not None:
        result = store.search(query, sort="date", limit=store.count() or 1)
        ids.extend(h["crash_id"] for h in result.hits)
    out = []
    for crash_id in ids:
        try:
            out.append(normalize_crash_id(crash_id.strip()))
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
    return list(dict.fromkeys(out))


def prepare_export(store: CrashStore, crash_ids: Sequence[str], options: ExportOptions, *,
                   progress: Progress | None = None, cancel: Callable[[], bool] | None = None) -> PreparedExport:
    """Every crash as it will be written, and the preview that counts it."""
    from crashdesk.services.importing import bundle_crash

    policy = options.policy
    preview = ExportPreview(crash_ids=list(crash_ids))
    crashes = []
    packet_crashes: dict[str, Any] = {}
    provider = None
    if policy.include_dumps and policy.scrub_dumps and options.symbol_paths:
        from crashdesk.symbols import build_provider

        # local folders only: the walked range of each stack is found with the symbols at hand, no network
        provider = build_provider([Path(p) for p in options.symbol_paths if Path(p).is_dir()], [], None)
    for done, crash_id in enumerate(crash_ids):
        _check(cancel)
        source = bundle_crash(store, crash_id, dumps=policy.include_dumps, processed=options.processed)
        crashes.append(_redact(source, policy, preview, provider))
        if options.packet:
            packet_crashes[crash_id] = store.get(crash_id)
        if progress is not None:
            progress(done + 1, len(crash_ids))
    extra: list[tuple[str, bytes]] = []
    if options.packet:
        extra = _packet_files(packet_crashes, crashes, options, preview)
    return PreparedExport(crashes, preview, extra)


def _redact(source: BundleCrash, policy: RedactionPolicy, preview: ExportPreview, provider: Any = None
            ) -> BundleCrash:
    from crashdesk.engine.minidump import MinidumpError
    from crashdesk.engine.minidump.scrub import scrub_minidump

    raw = source.raw_crash or {}
    schema_version = raw.get("version") if type(raw.get("version")) is int else None
    annotations = {k: v for k, v in raw.items() if k not in _COLLECTOR_FIELDS and not (
        k == "version" and schema_version is not None)}
    kept, actions = policy.redact_annotations(annotations)
    for name, (taken, why) in actions.items():
        preview.fields.setdefault(name, Counter())[taken] += 1
        preview.reasons.setdefault(name, why)
    dumps: dict[str, bytes] = {}
    for name, data in source.dumps.items():
        if not policy.scrub_dumps:
            dumps[name] = data
            preview.dumps["included_unscrubbed"] += 1
            continue
        try:
            scrubbed, report = scrub_minidump(data, policy, provider)
        except MinidumpError as exc:
            preview.dumps["left_out_unreadable"] += 1
            preview.notes.append(f"{source.crash_id}: dump {name} left out: it cannot be scrubbed ({exc})")
            continue
        dumps[name] = scrubbed
        preview.dumps["included_scrubbed"] += 1
        for ann, taken in report.annotations.items():
            preview.dump_annotations.setdefault(ann, Counter())[taken] += 1
        preview.memory.update({"bytes_kept": report.memory_bytes_kept,
                               "bytes_zeroed": report.memory_bytes_zeroed, "regions_kept": report.regions_kept,
                               "regions_partly_zeroed": report.regions_partly,
                               "regions_zeroed": report.regions_zeroed,
                               "path_names_masked": report.path_names_replaced})
        preview.streams_zeroed.update(report.streams_zeroed)
        preview.streams_kept.update(report.streams_kept)
    if not policy.include_dumps:
        preview.dumps["left_out_by_policy"] += 1
    new_raw = dict(kept)
    new_raw.update({"uuid": raw.get("uuid", source.crash_id), "submitted_timestamp": raw.get("submitted_timestamp"),
                    "metadata": {"collector_notes": [],
                                 "dump_checksums": {n: hashlib.sha256(d).hexdigest() for n, d in dumps.items()}}})
    if schema_version is not None:
        new_raw["version"] = schema_version
    processed = None
    if source.processed_crash is not None:
        removed = [k for k in source.processed_crash if policy.redact_processed({k: None}) == {}]
        preview.processed_fields_removed.update(removed)
        processed = policy.redact_processed(source.processed_crash)
        preview.processed["included"] += 1
    return BundleCrash(source.crash_id, new_raw, dumps, processed)


# -- packets ----------------------------------------------------------------------------------------------------


def _symbol_file(folders: Sequence[Path], debug_file: str, debug_id: str) -> tuple[str, Path] | None:
    from crashdesk.engine.symbols_api import ModuleKey
    from crashdesk.symbols.layout import UnsafeName, store_path

    try:
        rel = store_path(ModuleKey(debug_file, debug_id))
    except (UnsafeName, ValueError):
        return None
    rel_text = "/".join(rel.parts)
    for folder in folders:
        candidate = Path(folder).joinpath(*rel.parts)
        if candidate.is_file() and not candidate.is_symlink():
            return rel_text, candidate
    return None


def _masked_symbol_file(data: bytes, policy: RedactionPolicy) -> bytes:
    text = data.decode("utf-8", errors="surrogateescape")
    masked = policy.mask_paths(text)
    return data if masked == text else masked.encode("utf-8", errors="surrogateescape")


def _packet_files(stored: dict[str, dict], crashes: list[BundleCrash], options: ExportOptions,
                  preview: ExportPreview) -> list[tuple[str, bytes]]:
    from crashdesk.engine.signature.profiles import SIGGEN_RULE_SET

    files: dict[str, bytes] = {}
    manifest: dict[str, Any] = {"format": 1, "crashdesk_version": crashdesk.__version__, "crashes": {}}
    total = 0
    missing = 0
    for crash in crashes:
        row = stored[crash.crash_id]
        processed = row.get("processed") or {}
        modules = []
        for m in processed.get("modules") or []:
            if not isinstance(m, dict) or not m.get("debug_file") or not m.get("debug_id"):
                continue
            entry = {"filename": m.get("filename"), "debug_file": m["debug_file"], "debug_id": m["debug_id"],
                     "code_id": m.get("code_id"), "loaded_symbols": bool(m.get("loaded_symbols"))}
            if m.get("loaded_symbols"):
                found = _symbol_file(options.symbol_paths, m["debug_file"], m["debug_id"])
                if found is None:
                    entry["symbol_file"] = None
                    missing += 1
                else:
                    rel, path = found
                    name = f"{PACKET_SYMBOLS}/{rel}"
                    if name not in files:
                        # FILE records name build paths: user names there are masked as in the processed
                        # crash (same length), so frames walked with this file name the same masked paths
                        data = _masked_symbol_file(path.read_bytes(), options.policy)
                        total += len(data)
                        if total > MAX_PACKET_SYMBOL_BYTES:
                            raise BundleError(f"the packet's symbol files pass {MAX_PACKET_SYMBOL_BYTES >> 20} MB")
                        files[name] = data
                    entry["symbol_file"] = name
                    entry["sha256"] = hashlib.sha256(files[name]).hexdigest()
            modules.append(entry)
        policy = options.policy
        manifest["crashes"][crash.crash_id] = {
            "signature": row.get("signature"), "proto_signature": row.get("proto_signature"),
            "signature_profile": row.get("signature_profile"), "signature_rule_set": SIGGEN_RULE_SET,
            "notes": [policy.scrub_text(str(n), ips=False) for n in row.get("notes") or []],
            "modules": modules,
        }
    preview.packet = {"symbol_files": len(files), "symbol_bytes": total, "modules_without_symbol_file": missing,
                      "crashdesk_version": crashdesk.__version__}
    out = [(PACKET_MANIFEST, (json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode())]
    out.extend(sorted(files.items()))
    return out


# -- writing ----------------------------------------------------------------------------------------------------


def write_export(prepared: PreparedExport, dest: Path, *, as_zip: bool | None = None, overwrite: bool = False,
                 cancel: Callable[[], bool] | None = None) -> int:
    """Write a prepared export (atomically: the bundle appears whole or not at all)."""
    def crashes():
        for crash in prepared.crashes:
            _check(cancel)
            yield crash

    try:
        return write_bundle(crashes(), Path(dest), as_zip=as_zip, overwrite=overwrite, extra=prepared.extra)
    except OSError as exc:
        raise BundleError(f"{dest}: cannot write the bundle: {exc.strerror or exc}") from exc


def export(store: CrashStore, crash_ids: Sequence[str], dest: Path, options: ExportOptions, *,
           as_zip: bool | None = None, overwrite: bool = False, progress: Progress | None = None,
           cancel: Callable[[], bool] | None = None) -> ExportPreview:
    prepared = prepare_export(store, crash_ids, options, progress=progress, cancel=cancel)
    write_export(prepared, dest, as_zip=as_zip, overwrite=overwrite, cancel=cancel)
    return prepared.preview


__all__ = ["ExportCancelled", "ExportOptions", "ExportPreview", "PolicyError", "PreparedExport", "export",
           "load_policy", "policy_path", "prepare_export", "resolve_ids", "save_policy", "write_export"]
