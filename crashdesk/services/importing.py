"""Importing crashes from files and exporting them as portable bundles.

What ``crashdesk import`` accepts (detected from the content, not the name):

* a minidump (``FILE.dmp``) with annotations from ``--annotations JSON``, ``--extra FILE`` (JSON object, or
  Breakpad ``key=value`` lines), a sibling ``FILE.extra``, or else the Crashpad annotations inside the dump;
  importing the same dump bytes again returns the crash already stored, whose annotations are kept as they
  arrived (the result lists the new or different ones that were not merged);
* a Socorro raw crash JSON (``RawCrash?format=meta``) or processed crash JSON (``ProcessedCrash``);
* a crash bundle: a folder or zip in the ``crashstats-tools fetch-data`` layout (see
  :mod:`crashdesk.store.bundles`), e.g. what ``crashdesk export`` or ``fetch-data --raw --dumps --processed``
  wrote.

Imported crashes get ``source = "import"`` and state ``received`` (the processing service picks them up), with
two exceptions that keep work a colleague already did: a bundle exported by CrashDesk restores its local
processed crash and signature, and a Socorro processed crash without any dump is stored as processed from its
``json_dump`` (nothing could reprocess it). A Socorro processed crash is kept whole as the crash's
``server_processed`` and its signature as ``server_signature``.

Every file is read and validated completely before anything is written; a corrupt or foreign file raises
:class:`ImportFailed` naming it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from crashdesk.errors import CrashDeskError, UsageError
from crashdesk.model.crash_id import is_crash_id, new_crash_id, normalize_crash_id
from crashdesk.model.jsonbound import JsonTooDeep
from crashdesk.model.jsonbound import loads as bounded_json
from crashdesk.store.bundles import (
    MAIN_DUMP,
    MAX_JSON,
    BundleCrash,
    BundleError,
    SpooledDump,
    dump_kind_error,
    is_bundle,
    read_bundle,
    read_packet_files,
    write_bundle,
)
from crashdesk.store.crashes import CrashStore, DumpRef, NewCrash, SignatureRecord

SOURCE = "import"
EXPORT_KEY = "crashdesk"   # CrashDesk's own block inside an exported processed crash
COLLECTOR_FIELDS = ("uuid", "submitted_timestamp", "metadata")
DERIVED_NOTE = "import: no raw crash; annotations derived from the processed crash"


class ImportFailed(CrashDeskError):
    """A file that cannot be imported (corrupt, foreign, unreadable); the message names the file."""


@dataclass(slots=True)
class ImportResult:
    """One crash that an import stored (or found already stored)."""

    crash_id: str
    file: str
    kind: str            # minidump | raw_crash | processed_crash | bundle
    state: str
    duplicate: bool = False
    # for a duplicate: the annotation keys the file brought that the stored crash lacks or holds with another
    # value. They are never merged: a stored crash keeps the annotations it arrived with (re-importing a dump
    # cannot rewrite what a crash said); this only says whether anything was left out.
    annotations_not_merged: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        """How the CLI reports it: ``imported (state)``, or ``already stored`` and what became of the
        annotations."""
        if not self.duplicate:
            return f"imported ({self.state})"
        if not self.annotations_not_merged:
            return "already stored (same annotations)"
        keys = ", ".join(self.annotations_not_merged[:5]) + (" ..." if len(self.annotations_not_merged) > 5
                                                             else "")
        return (f"already stored; its annotations were kept, {len(self.annotations_not_merged)} new or different "
                f"not merged: {keys}")


# ---------------------------------------------------------------------------------------------- annotations


def parse_annotations_text(text: str, where: str) -> dict[str, Any]:
    """A JSON object, or Breakpad ``key=value`` lines, as an annotation map."""
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            value = bounded_json(stripped)
        except JsonTooDeep as exc:
            raise ImportFailed(f"{where}: refused: {exc}") from None
        except json.JSONDecodeError as exc:
            raise ImportFailed(f"{where}: not valid JSON ({exc})") from exc
        if not isinstance(value, dict):
            raise ImportFailed(f"{where}: annotations must be a JSON object")
        return {str(k): v for k, v in value.items()}
    out: dict[str, Any] = {}
    for n, line in enumerate(stripped.splitlines(), start=1):
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ImportFailed(f"{where}: line {n} is neither JSON nor key=value")
        out[key.strip()] = value
    if not out:
        raise ImportFailed(f"{where}: no annotations")
    return out


def load_extra(path: Path) -> dict[str, Any]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportFailed(f"{path}: cannot read annotations: {exc}") from exc
    return parse_annotations_text(text, str(path))


def _dump_annotations(data: bytes, where: str) -> tuple[dict[str, str], list[str]]:
    """Validate a minidump; return its Crashpad annotations and notes about it."""
    try:
        from crashdesk.engine.minidump import Minidump, MinidumpError
    except ImportError:  # the reader is not available: check the signature only
        if data[:4] != b"MDMP":
            raise ImportFailed(f"{where}: not a minidump (no MDMP signature)") from None
        return {}, []
    try:
        dump = Minidump.from_bytes(data)
    except MinidumpError as exc:
        raise ImportFailed(f"{where}: {exc}") from exc
    notes = [f"import: {note}" for note in dump.notes]
    try:
        from crashdesk.engine.minidump.extras import annotations

        found = annotations(dump)
    except (ImportError, MinidumpError):
        found = {}
    finally:
        dump.close()
    return found, notes


# ---------------------------------------------------------------------------------------------- importing


def import_minidump(store: CrashStore, path: Path, *, annotations: Mapping[str, Any] | None = None
                    ) -> ImportResult:
    """Import one minidump file; see the module docstring for where its annotations come from."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImportFailed(f"{path}: cannot read: {exc.strerror or exc}") from exc
    found, notes = _dump_annotations(data, str(path))
    sha = hashlib.sha256(data).hexdigest()
    existing = store.db.conn.execute(
        "SELECT c.crash_id, c.state FROM dumps d JOIN crashes c ON c.id = d.crash WHERE d.sha256 = ? "
        "AND d.name = ? ORDER BY c.id LIMIT 1", (sha, MAIN_DUMP)).fetchone()
    if annotations is None:
        sibling = path.with_suffix(".extra")
        if sibling.is_file():
            annotations = load_extra(sibling)
        else:
            annotations = found
            if found:
                notes.append("import: annotations read from the minidump's Crashpad info")
    if existing:
        stored = store.annotations(existing[0])
        left_out = sorted(k for k, v in dict(annotations).items() if k not in stored or str(stored[k]) != str(v))
        return ImportResult(existing[0], str(path), "minidump", existing[1], duplicate=True,
                            annotations_not_merged=left_out)
    from crashdesk.model.crash_time import crash_date, minidump_header_time

    # dated by when it crashed (CrashTime, else the dump header), never by this import (that is "received")
    submitted = crash_date(annotations, minidump_header_time(data[:32]))
    crash_id = store.add_crash(dict(annotations), {MAIN_DUMP: data}, source=SOURCE, notes=notes,
                               submitted_at=submitted)
    return ImportResult(crash_id, str(path), "minidump", "received")


def _crash_id_of(doc: Mapping[str, Any], where: str) -> str | None:
    for key in ("uuid", "crash_id"):
        value = doc.get(key)
        if isinstance(value, str) and value:
            try:
                return normalize_crash_id(value)
            except ValueError:
                raise ImportFailed(f"{where}: {key} {value!r} is not a crash id") from None
    return None


def classify_json(doc: Any) -> str | None:
    """``raw_crash``, ``processed_crash`` or None for a JSON document."""
    if not isinstance(doc, dict):
        return None
    if isinstance(doc.get("json_dump"), dict) or (
            "signature" in doc and ("date_processed" in doc or "processor_notes" in doc)):
        return "processed_crash"
    if "submitted_timestamp" in doc or isinstance(doc.get("metadata"), dict) or (
            isinstance(doc.get("uuid"), str) and ("ProductName" in doc or "Version" in doc)):
        return "raw_crash"
    return None


def _annotations_from_raw(raw: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in raw.items() if k not in COLLECTOR_FIELDS}
    if isinstance(out.get("version"), int) and not isinstance(out.get("version"), bool):
        del out["version"]  # the raw crash schema version, not an annotation
    return out


def _annotations_from_processed(doc: Mapping[str, Any]) -> dict[str, str]:
    out = {}
    for ann_key, key in (("ProductName", "product"), ("Version", "version"), ("BuildID", "build"),
                         ("ReleaseChannel", "release_channel")):
        value = doc.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            out[ann_key] = str(value)
    return out


def _valid_time(value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC).isoformat(timespec="microseconds")


@dataclass(slots=True)
class _Prepared:
    """A validated crash of a file or bundle, with what storing it takes (:func:`_prepare`)."""

    crash: BundleCrash
    where: str
    kind: str
    annotations: dict[str, Any]
    notes: list[str]
    submitted: str | None
    server_doc: dict[str, Any] | None
    server_signature: str | None
    local_processed: dict[str, Any] | None
    block: dict[str, Any] | None

    def signature(self) -> SignatureRecord | None:
        """The local signature an exported bundle carries, if any."""
        block = self.block
        if block is None or not isinstance(block.get("signature"), str) or not block["signature"]:
            return None
        return SignatureRecord(
            block["signature"], block.get("proto_signature") if isinstance(block.get("proto_signature"), str)
            else None, [str(n) for n in block.get("signature_notes") or [] if isinstance(n, str | int)],
            str(block.get("signature_profile") or "import"))

    def processed_notes(self) -> list[str]:
        """The crash's notes once its processed crash is stored: its own and the exported processing notes."""
        proc_notes = self.block.get("notes") if self.block is not None else None
        return [*self.notes, *([str(n) for n in proc_notes] if isinstance(proc_notes, list) else [])]

    def history(self) -> list[dict[str, Any]] | None:
        """The exported signature history (restored over the one storing the crash writes), if any."""
        if self.block is None or not isinstance(self.block.get("signature_history"), list):
            return None
        return [h for h in self.block["signature_history"] if isinstance(h, dict)]

    def new_result(self) -> ImportResult:
        """The result of storing it as a new crash."""
        return ImportResult(self.crash.crash_id, self.where, self.kind,
                            "received" if self.local_processed is None else "processed")


def _prepare(crash: BundleCrash, *, where: str, kind: str) -> _Prepared:
    """Validate one crash (raw and/or processed crash, dumps) and work out what to store; raises
    :class:`ImportFailed` before anything is written."""
    raw, doc = crash.raw_crash, crash.processed_crash
    block = doc.get(EXPORT_KEY) if isinstance(doc, dict) else None
    if block is not None and not isinstance(block, dict):
        raise ImportFailed(f"{where}: processed crash has a malformed {EXPORT_KEY!r} block")
    server_doc = None
    local_processed = None
    if doc is not None:
        if block is None:
            server_doc = doc
            if not crash.dumps and isinstance(doc.get("json_dump"), dict):
                local_processed = doc["json_dump"]
        else:
            if block.get("server_processed"):
                server_doc = {k: v for k, v in doc.items() if k != EXPORT_KEY}
                local_processed = block.get("processed")
            else:
                local_processed = doc.get("json_dump")
            if local_processed is not None and not isinstance(local_processed, dict):
                raise ImportFailed(f"{where}: the exported processed crash is not an object")
    if raw is not None:
        annotations = _annotations_from_raw(raw)
        notes: list[str] = []
    else:
        annotations = _annotations_from_processed(doc or {})
        notes = [DERIVED_NOTE]
    submitted = (_valid_time((raw or {}).get("submitted_timestamp"))
                 or _valid_time((doc or {}).get("submitted_timestamp"))
                 or _valid_time((doc or {}).get("date_processed")))
    server_signature = server_doc.get("signature") if server_doc else None
    if server_signature is not None and not isinstance(server_signature, str):
        raise ImportFailed(f"{where}: the processed crash's signature is not a string")
    return _Prepared(crash, where, kind, annotations, notes, submitted, server_doc, server_signature,
                     local_processed, block)


def _store_crash(store: CrashStore, crash: BundleCrash, *, where: str, kind: str) -> ImportResult:
    """Store one validated crash (raw and/or processed crash, dumps), one transaction after another."""
    return _store_prepared(store, _prepare(crash, where=where, kind=kind))


def _store_prepared(store: CrashStore, prep: _Prepared) -> ImportResult:
    crash = prep.crash
    if store.exists(crash.crash_id):
        return _store_again(store, prep)
    crash_id = store.add_crash(prep.annotations, _adopt_dumps(store, crash), source=SOURCE,
                               crash_id=crash.crash_id, submitted_at=prep.submitted,
                               server_signature=prep.server_signature, server_processed=prep.server_doc,
                               notes=prep.notes)
    if prep.local_processed is not None:
        store.save_processed(crash_id, prep.local_processed, signature=prep.signature(),
                             notes=prep.processed_notes(), symbol_notes=_symbol_notes(prep.block))
        history = prep.history()
        if history is not None:
            store.restore_signature_history(crash_id, history)
    return prep.new_result()


def _store_again(store: CrashStore, prep: _Prepared) -> ImportResult:
    """A crash already stored: a raw crash replaces annotations derived from its processed crash, a processed
    crash refreshes the server-side fields; else it is reported as a duplicate."""
    crash, server_doc = prep.crash, prep.server_doc
    old_notes = store.get(crash.crash_id)["notes"]
    if crash.raw_crash is not None and DERIVED_NOTE in old_notes:
        # the raw crash arrives after its processed crash: its annotations replace the derived ones
        store.replace_annotations(crash.crash_id, prep.annotations,
                                  notes=[n for n in old_notes if n != DERIVED_NOTE])
        server_doc = server_doc or {}
    if server_doc:
        store.add_crash({}, source=SOURCE, crash_id=crash.crash_id, server_signature=prep.server_signature,
                        server_processed=server_doc, if_exists="update")
    state = store.db.conn.execute("SELECT state FROM crashes WHERE crash_id = ?",
                                  (crash.crash_id,)).fetchone()[0]
    return ImportResult(crash.crash_id, prep.where, prep.kind, state, duplicate=server_doc is None)


def _adopt_dumps(store: CrashStore, crash: BundleCrash) -> dict[str, bytes | DumpRef]:
    """The crash's dumps, those spooled to files moved into the blob folder."""
    return {name: DumpRef(store.blobs.adopt(d.path, d.sha256, d.size), d.size) if isinstance(d, SpooledDump)
            else d for name, d in crash.dumps.items()}


def _new_crash(store: CrashStore, prep: _Prepared) -> NewCrash:
    """What :func:`_store_prepared` writes for a new crash, as one crash of a batch (its dumps adopted)."""
    processed = prep.local_processed is not None
    return NewCrash(prep.annotations, _adopt_dumps(store, prep.crash), source=SOURCE, crash_id=prep.crash.crash_id,
                    submitted_at=prep.submitted, processed=prep.local_processed,
                    signature=prep.signature() if processed else None,
                    server_signature=prep.server_signature, server_processed=prep.server_doc,
                    notes=prep.processed_notes() if processed else prep.notes,
                    symbol_notes=_symbol_notes(prep.block) if processed else None,
                    signature_history=prep.history() if processed else None)


BATCH = 250  # new crashes of a bundle stored per transaction


def _store_crashes(store: CrashStore, crashes: Iterable[BundleCrash], *, where: Callable[[BundleCrash], str],
                   kind: str) -> list[ImportResult]:
    """Store crashes in order with what one :func:`_store_crash` after another stores and returns, the new ones
    in batches (:meth:`CrashStore.add_batches`, :data:`BATCH` crashes per transaction). A crash already stored,
    or given twice, goes the one-at-a-time way (after the batches before it). The first crash that cannot be
    stored raises, with every crash before it stored."""
    results: list[ImportResult] = []
    run: dict[str, _Prepared] = {}  # new crashes waiting for their batches, in order, by crash id
    for crash in crashes:
        try:
            prep = _prepare(crash, where=where(crash), kind=kind)
        except ImportFailed:
            _store_run(store, run, results)
            raise
        if crash.crash_id in run or store.exists(crash.crash_id):
            _store_run(store, run, results)
            results.append(_store_prepared(store, prep))
        else:
            run[crash.crash_id] = prep
    _store_run(store, run, results)
    return results


def _store_run(store: CrashStore, pending: dict[str, _Prepared], results: list[ImportResult]) -> None:
    """Store ``pending`` (new crashes) in batches, appending their results; emptied when done. When a batch
    fails its crashes are stored one at a time, so that a crash that cannot be stored raises its own error with
    the crashes before it stored."""
    if not pending:
        return
    run = list(pending.values())
    pending.clear()
    done = 0
    batches = ([_new_crash(store, p) for p in run[start:start + BATCH]] for start in range(0, len(run), BATCH))
    try:
        for ids in store.add_batches(batches, if_exists="error"):
            results.extend(p.new_result() for p in run[done:done + len(ids)])
            done += len(ids)
    except Exception:
        # run's crashes were new when they joined it: one stored by now was stored by a batch that committed
        # as the next one failed
        for prep in run[done:]:
            results.append(prep.new_result() if store.exists(prep.crash.crash_id) else _store_prepared(store, prep))


def _symbol_notes(block: Mapping[str, Any] | None) -> dict[tuple[str, str], str] | None:
    rows = block.get("symbol_notes") if block is not None else None
    if not isinstance(rows, list):
        return None
    out = {}
    for r in rows:
        if isinstance(r, dict) and all(isinstance(r.get(k), str) for k in ("debug_file", "debug_id", "note")):
            out[(r["debug_file"], r["debug_id"].upper())] = r["note"]
    return out or None


def install_packet_symbols(path: Path, symbols_dir: Path) -> list[str]:
    """Copy a reproduction packet's symbol files (``crashdesk/symbols/<debug file>/<ID>/<sym>``) into the
    symbol store ``symbols_dir`` (the receiver's cache); returns the store paths written. Files already there
    are left alone; a name that is not a safe store path or a file that is not a Breakpad symbol file fails
    the import before anything is written."""
    from crashdesk.symbols.layout import UnsafeName, check_component, check_id

    try:
        files = read_packet_files(Path(path))
    except BundleError as exc:
        raise ImportFailed(str(exc)) from exc
    todo = []
    for rel, data in sorted(files.items()):
        parts = rel.split("/")
        if parts[0] != "symbols":
            continue
        try:
            if len(parts) != 4:
                raise UnsafeName(rel)
            check_component(parts[1])
            check_id(parts[2])
            check_component(parts[3])
        except (UnsafeName, ValueError):
            raise ImportFailed(f"{path}: crashdesk/{rel}: not a symbol store path") from None
        if not data.startswith(b"MODULE "):
            raise ImportFailed(f"{path}: crashdesk/{rel}: not a Breakpad symbol file")
        todo.append((parts[1:], data))
    written = []
    for parts, data in todo:
        target = Path(symbols_dir).joinpath(*parts)
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".part")
        tmp.write_bytes(data)
        tmp.replace(target)
        written.append("/".join(parts))
    return written


def import_json(store: CrashStore, path: Path) -> ImportResult:
    """Import a Socorro raw crash or processed crash JSON file."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_JSON + 1)
        if len(data) > MAX_JSON:
            raise ImportFailed(f"{path}: refused: larger than {MAX_JSON} bytes for a crash JSON")
        doc = bounded_json(data)
    except OSError as exc:
        raise ImportFailed(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except JsonTooDeep as exc:
        raise ImportFailed(f"{path}: refused: {exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ImportFailed(f"{path}: not JSON ({exc})") from exc
    kind = classify_json(doc)
    if kind is None:
        raise ImportFailed(f"{path}: neither a Socorro raw crash nor a processed crash")
    crash_id = _crash_id_of(doc, str(path)) or new_crash_id()
    crash = BundleCrash(crash_id, raw_crash=doc if kind == "raw_crash" else None,
                        processed_crash=doc if kind == "processed_crash" else None)
    return _store_crash(store, crash, where=str(path), kind=kind)


def import_bundle(store: CrashStore, path: Path, *, symbols_dir: Path | None = None) -> list[ImportResult]:
    """Import every crash of a bundle (folder or zip); crashes already stored are reported as duplicates
    (a processed crash in the bundle still refreshes their server-side fields). A reproduction packet's symbol
    files go to ``symbols_dir`` (the symbol cache) when given."""
    # dumps stream into a spool folder beside the blobs (the same file system: they are moved, not copied)
    _remove_dead_spools(store.blobs.root)
    spool = Path(tempfile.mkdtemp(prefix=f"{SPOOL_PREFIX}{os.getpid()}-", dir=store.blobs.root))
    try:
        try:
            crashes = read_bundle(Path(path), spool_dir=spool)
        except BundleError as exc:
            raise ImportFailed(str(exc)) from None
        if symbols_dir is not None:
            install_packet_symbols(Path(path), Path(symbols_dir))
        return _store_crashes(store, crashes, where=lambda crash: f"{path}:{crash.crash_id}", kind="bundle")
    finally:
        shutil.rmtree(spool, ignore_errors=True)


SPOOL_PREFIX = ".import-"


def _remove_dead_spools(root: Path) -> None:
    """Remove spool folders that an import killed midway (SIGKILL, power cut) left behind."""
    try:
        names = [n for n in os.listdir(root) if n.startswith(SPOOL_PREFIX)]
    except OSError:
        return
    for name in names:
        pid = name[len(SPOOL_PREFIX):].split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid() or os.name != "posix":
            continue
        try:
            os.kill(int(pid), 0)
            continue  # still running
        except ProcessLookupError:
            shutil.rmtree(root / name, ignore_errors=True)
        except OSError:
            continue


def _looks_like_json(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(64).lstrip()
    except OSError:
        return False
    return head.startswith((b"{", b"\xef\xbb\xbf{"))


def _minidumps_in(folder: Path, limit: int = 10_000) -> int:
    """How many files directly in ``folder`` start like a minidump (at most ``limit`` entries looked at)."""
    count = 0
    try:
        with os.scandir(folder) as entries:
            for n, entry in enumerate(entries):
                if n >= limit:
                    break
                try:
                    if entry.is_file(follow_symlinks=False):
                        with open(entry.path, "rb") as fh:
                            count += fh.read(4) == b"MDMP"
                except OSError:
                    continue
    except OSError:
        return 0
    return count


def import_path(store: CrashStore, path: Path, *, annotations: Mapping[str, Any] | None = None,
                symbols_dir: Path | None = None) -> list[ImportResult]:
    """Import whatever ``path`` is (minidump, Socorro JSON, bundle folder or zip)."""
    path = Path(path)
    if not path.exists():
        raise ImportFailed(f"{path}: no such file or folder")
    if path.is_dir() or zipfile.is_zipfile(path):
        if annotations is not None:
            raise UsageError("--annotations/--extra apply to a minidump, not to a bundle")
        try:
            bundle = is_bundle(path)
        except BundleError as exc:  # refused while looking (a link out of it, a climbing name, too many files)
            raise ImportFailed(str(exc)) from None
        if not bundle:
            dumps = _minidumps_in(path) if path.is_dir() else 0
            hint = (f"; it holds {dumps} minidump{'s' if dumps != 1 else ''}: import them by name, e.g. "
                    f"crashdesk import {path / '*.dmp'}") if dumps else ""
            raise ImportFailed(f"{path}: not a crash bundle (no raw_crash/ or processed_crash/ inside){hint}")
        return import_bundle(store, path, symbols_dir=symbols_dir)
    if _looks_like_json(path):
        if annotations is not None:
            raise UsageError("--annotations/--extra apply to a minidump, not to a JSON crash")
        return [import_json(store, path)]
    return [import_minidump(store, path, annotations=annotations)]


# ---------------------------------------------------------------------------------------------- exporting


def bundle_crash(store: CrashStore, crash_id: str, *, dumps: bool = True, processed: bool = True
                 ) -> BundleCrash:
    """A stored crash as a bundle entry: the raw crash rebuilt from the annotations plus collector fields
    (``metadata.dump_checksums`` from the stored dumps), the dumps, and the processed crash: the server's when
    there is one, else a Socorro-shaped document around the local stackwalk output; a ``crashdesk`` block
    carries the local processing (signature, profile, notes) so that importing the bundle restores it."""
    crash = store.get(crash_id)
    dump_bytes = {d["name"]: store.blobs.read(d["sha256"]) for d in crash["dumps"]} if dumps else {}
    # a dump that is not what its name says (stored before imports checked signatures) never leaves as one
    left_out = {name: why for name, data in dump_bytes.items() if (why := dump_kind_error(name, data[:4]))}
    for name in left_out:
        del dump_bytes[name]
    raw = dict(crash["annotations"])
    raw.update({
        "uuid": crash["crash_id"],
        "submitted_timestamp": crash["submitted_at"],
        "metadata": {"collector_notes": [f"dump {name} left out: {why}" for name, why in left_out.items()],
                     "dump_checksums": {d["name"]: d["sha256"] for d in crash["dumps"]
                                        if d["name"] not in left_out}},
    })
    raw.setdefault("version", 2)  # the raw crash schema version, unless an annotation is called "version"
    doc = None
    if processed and (crash["processed"] is not None or crash["server_processed"] is not None):
        local = crash["processed"]
        if crash["server_processed"] is not None:
            doc = dict(crash["server_processed"])
            block: dict[str, Any] = {"server_processed": True}
            if local is not None:
                block["processed"] = local
        else:
            info = local.get("crash_info") if isinstance(local.get("crash_info"), dict) else {}
            system = local.get("system_info") if isinstance(local.get("system_info"), dict) else {}
            doc = {
                "uuid": crash["crash_id"], "crash_id": crash["crash_id"],
                "signature": crash["signature"] or "", "proto_signature": crash["proto_signature"],
                "product": crash["product"], "version": crash["version"], "build": crash["build_id"],
                "release_channel": crash["channel"], "os_name": system.get("os"),
                "os_version": system.get("os_ver"), "cpu_arch": system.get("cpu_arch"),
                "reason": info.get("type"), "address": info.get("address"),
                "crashing_thread": crash["crashing_thread"], "date_processed": crash["submitted_at"],
                "submitted_timestamp": crash["submitted_at"], "completed_datetime": crash["processed_at"],
                "processor_notes": "; ".join(str(n) for n in crash["notes"]), "json_dump": local,
            }
            block = {"server_processed": False}
        if local is not None:
            active = [h for h in crash["signature_history"] if h["active"] and
                      not str(h["profile"]).startswith("server:")]
            block.update({"signature": crash["signature"] if active else None,
                          "proto_signature": crash["proto_signature"],
                          "signature_profile": crash["signature_profile"],
                          "signature_notes": active[-1]["notes"] if active else [],
                          "notes": crash["notes"]})
        # kept across export/import: every signature the crash had, and why modules lacked symbols
        block["signature_history"] = crash["signature_history"]
        block["symbol_notes"] = [{"debug_file": m["debug_file"], "debug_id": m["debug_id"], "note": m["symbol_note"]}
                                 for m in crash["modules"] if m.get("symbol_note")]
        doc[EXPORT_KEY] = block
    return BundleCrash(crash["crash_id"], raw, dump_bytes, doc)


def export_crashes(store: CrashStore, crash_ids: Iterable[str], dest: Path, *, as_zip: bool | None = None,
                   dumps: bool = True, processed: bool = True, overwrite: bool = False) -> int:
    """Write the given crashes as a bundle at ``dest`` (folder, or zip); returns how many."""
    ids = []
    for crash_id in crash_ids:
        try:
            ids.append(normalize_crash_id(crash_id))
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
    crashes = [bundle_crash(store, crash_id, dumps=dumps, processed=processed) for crash_id in ids]
    try:
        return write_bundle(crashes, Path(dest), as_zip=as_zip, overwrite=overwrite)
    except OSError as exc:
        raise ImportFailed(f"{dest}: cannot write the bundle: {exc.strerror or exc}") from exc


__all__ = ["ImportFailed", "ImportResult", "bundle_crash", "classify_json", "export_crashes", "import_bundle",
           "import_json", "import_minidump", "import_path", "is_crash_id", "load_extra",
           "parse_annotations_text"]
