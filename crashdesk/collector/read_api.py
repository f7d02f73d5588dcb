"""The Crash Stats API subset served by the collector: ``RawCrash``, ``ProcessedCrash``, ``SuperSearch``
(socorro-api.md §5–7), in Crash Stats' shapes and error bodies, so ``crashstats-tools`` and a colleague's
CrashDesk sync can read from it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from crashdesk.collector import supersearch
from crashdesk.model.crash_id import CRASH_ID_RE
from crashdesk.model.protected_fields import annotation_is_protected, processed_field_is_protected
from crashdesk.store.bundles import dump_kind_error
from crashdesk.store.crashes import MAIN_DUMP, CrashStore
from crashdesk.store.errors import CrashNotFound, StoreError

RAW_CRASH_VERSION = 2


class ApiResponse:
    def __init__(self, status: int, body: bytes, content_type: str = "application/json; charset=UTF-8",
                 headers: list[tuple[str, str]] | None = None) -> None:
        self.status = status
        self.body = body
        self.content_type = content_type
        self.headers = headers or []


def json_response(status: int, obj: Any, *, pretty: bool = False, cache: bool = False) -> ApiResponse:
    text = json.dumps(obj, indent=2 if pretty else None, ensure_ascii=False).replace("</", "<\\/")
    headers = [("Cache-Control", "private, max-age=300")] if cache else []
    ctype = "application/json; charset=UTF-8" if status < 400 else "application/json"
    return ApiResponse(status, text.encode("utf-8"), ctype, headers)


def bad_request(message: str) -> ApiResponse:
    return json_response(400, {"error": f"Bad request: BadArgumentError: {message}"})


def not_found(crash_id: str) -> ApiResponse:
    return json_response(404, {"error": f"Not found: CrashIDNotFound {crash_id}"})


def _last(params: dict[str, list[str]], name: str, default: str | None = None) -> str | None:
    values = params.get(name)
    return values[-1] if values else default


def _crash_id(params: dict[str, list[str]]) -> tuple[str | None, ApiResponse | None]:
    value = _last(params, "crash_id")
    if not value:
        return None, json_response(400, {"errors": {"crash_id": ["This field is required."]}})
    value = value.strip()
    if not CRASH_ID_RE.match(value):
        return None, bad_request("Bad value for parameter(s) 'uuid'")
    return value, None


class ReadApi:
    """Dispatches ``/api/<Name>/`` requests; ``full`` says whether the caller may see protected data."""

    def __init__(self, store: CrashStore) -> None:
        self.store = store
        self.services: dict[str, Callable[[dict[str, list[str]], bool], ApiResponse]] = {
            "RawCrash": self.raw_crash,
            "ProcessedCrash": self.processed_crash,
            "SuperSearch": self.super_search,
        }

    def handle(self, name: str, query_string: str, full: bool) -> ApiResponse:
        service = self.services.get(name)
        if service is None:
            return json_response(404, {"error": f"No service called '{name}'"})
        params = parse_qs(query_string, keep_blank_values=True)
        try:
            return service(params, full)
        except StoreError as exc:
            return json_response(500, {"error": str(exc)})

    # ------------------------------------------------------------------ RawCrash

    def raw_crash(self, params: dict[str, list[str]], full: bool) -> ApiResponse:
        fmt = _last(params, "format", "meta") or "meta"
        if fmt not in ("meta", "raw"):
            return bad_request("Bad value for parameter(s) 'format'")
        crash_id, error = _crash_id(params)
        if error:
            return error
        try:
            raw = self.store.annotations(crash_id)
            dumps = self.store.dumps(crash_id)
        except CrashNotFound:
            return not_found(crash_id)
        if fmt == "meta":
            return json_response(200, self._raw_meta(crash_id, raw, dumps, full),
                                 pretty=_last(params, "pretty") == "print")
        name = _last(params, "name", "") or ""
        stored_name = MAIN_DUMP if name in ("", "dump", MAIN_DUMP) else name
        if stored_name not in dumps:
            return not_found(crash_id)
        if not full:
            return json_response(403, {"error": "Binary response requires permissions: View Raw Dumps"})
        data = self.store.blobs.read(dumps[stored_name].sha256)
        if dump_kind_error(stored_name, data[:4]):  # stored before imports checked it: never served as a dump
            return not_found(crash_id)
        if stored_name == MAIN_DUMP:
            filename = f"{crash_id}.dmp"
        elif stored_name == "memory_report":
            filename = "memory_report.json.gz"
        else:
            filename = f"{crash_id}-{stored_name}.dmp"
        return ApiResponse(200, data, "application/octet-stream",
                           [("Content-Disposition", f'attachment; filename="{filename}"')])

    @staticmethod
    def _raw_meta(crash_id: str, raw: dict[str, Any], dumps: dict, full: bool) -> dict[str, Any]:
        out = dict(raw)
        # Antenna sets both over any annotation of the same name: "version" is the raw crash schema version
        out["uuid"] = crash_id
        out["version"] = RAW_CRASH_VERSION
        metadata = dict(out.get("metadata") or {}) if isinstance(out.get("metadata"), dict) else {}
        # crashes that did not come through this collector (imports, syncs) get their checksums from the store
        checksums = dict(metadata.get("dump_checksums") or {})
        for name, ref in dumps.items():
            checksums.setdefault(name, ref.sha256)
        metadata["dump_checksums"] = checksums
        out["metadata"] = metadata
        if not full:
            for key in list(out):
                if annotation_is_protected(key):
                    del out[key]
        return out

    # ------------------------------------------------------------------ ProcessedCrash

    def processed_crash(self, params: dict[str, list[str]], full: bool) -> ApiResponse:
        crash_id, error = _crash_id(params)
        if error:
            return error
        try:
            row = self.store.get(crash_id)
        except CrashNotFound:
            return not_found(crash_id)
        if row.get("processed") is not None:
            doc = processed_document(row)
        elif isinstance(row.get("server_processed"), dict):
            doc = dict(row["server_processed"])  # a synced crash not processed here: its server's document
        else:
            return not_found(crash_id)
        if not full:
            for key in [k for k in doc if processed_field_is_protected(k)]:
                del doc[key]
        return json_response(200, doc, pretty=_last(params, "pretty") == "print")

    # ------------------------------------------------------------------ SuperSearch

    def super_search(self, params: dict[str, list[str]], full: bool) -> ApiResponse:
        from crashdesk.engine.query import QueryError

        try:
            result = supersearch.run(self.store, params, full=full)
        except supersearch.SuperSearchError as exc:
            return bad_request(str(exc))
        except QueryError as exc:
            return bad_request(str(exc))
        return json_response(200, result, pretty=_last(params, "pretty") == "print", cache=True)


def processed_document(row: dict[str, Any]) -> dict[str, Any]:
    """Crash Stats' processed-crash shape from a stored crash (``CrashStore.get``): top-level fields, and
    the stackwalk document under ``json_dump``."""
    processed = row.get("processed") or {}
    annotations = row.get("annotations") or {}
    system = processed.get("system_info") or {}
    crash_info = processed.get("crash_info") or {}
    dumps = {d["name"]: d for d in row.get("dumps", [])}
    metadata = annotations.get("metadata") if isinstance(annotations.get("metadata"), dict) else {}
    main = dumps.get(MAIN_DUMP)
    threads = processed.get("threads") if isinstance(processed.get("threads"), list) else []
    index = row.get("crashing_thread")
    crashing = threads[index] if isinstance(index, int) and 0 <= index < len(threads) else {}
    doc: dict[str, Any] = {
        "uuid": row["crash_id"],
        "crash_id": row["crash_id"],
        "signature": row.get("signature"),
        "proto_signature": row.get("proto_signature"),
        "product": row.get("product"),
        "version": row.get("version"),
        "release_channel": row.get("channel"),
        "build": row.get("build_id"),
        "os_name": row.get("os") or system.get("os"),
        "os_version": row.get("os_version") or system.get("os_ver"),
        "os_pretty_version": system.get("os_ver"),
        "cpu_arch": row.get("cpu") or system.get("cpu_arch"),
        "cpu_info": system.get("cpu_info"),
        "cpu_count": system.get("cpu_count"),
        "reason": row.get("reason") or crash_info.get("type"),
        "address": row.get("address") or crash_info.get("address"),
        "crashing_thread": row.get("crashing_thread"),
        "crashing_thread_name": crashing.get("thread_name") if isinstance(crashing, dict) else None,
        "thread_count": processed.get("thread_count", len(threads)),
        "process_type": annotations.get("ProcessType") or "parent",
        "date_processed": row.get("submitted_at"),
        "submitted_timestamp": row.get("submitted_at"),
        "completed_datetime": row.get("processed_at"),
        "processor_notes": "\n".join(str(n) for n in row.get("notes") or []),
        "success": row.get("state") == "processed",
        "crash_report_keys": sorted({k for k in annotations if k not in ("metadata",)} | set(dumps)),
        "additional_minidumps": sorted(n for n in dumps if n != MAIN_DUMP),
        "minidump_sha256_hash": main["sha256"] if main else None,
        "json_dump": processed,
        "user_comments": annotations.get("Comments"),
        "url": annotations.get("URL"),
        "collector_metadata": metadata or None,
    }
    return doc
