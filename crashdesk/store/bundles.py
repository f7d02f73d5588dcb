"""Portable crash bundles in the folder layout ``crashstats-tools fetch-data`` writes (a folder or a zip of it).

Layout, per crash id (files have no extension)::

    raw_crash/<20YYMMDD>/<crash_id>     raw crash JSON (annotations + collector fields, metadata.dump_checksums)
    dump_names/<crash_id>               JSON list of dump names, e.g. ["upload_file_minidump"]
    <dump name>/<crash_id>              the dump's bytes (the main minidump under upload_file_minidump/)
    processed_crash/<crash_id>          processed crash JSON (Socorro shape; the stackwalk output in json_dump)

The date folder comes from the crash id's last six characters, as fetch-data does. Reading also accepts the
GCS spelling ``dump/<crash_id>`` for the main minidump and a ``v1/`` prefix, and ignores a single top-level
folder wrapping everything in a zip. Reading validates every file first and raises :class:`BundleError`
naming the offending file; writing goes to a temporary sibling that is renamed into place at the end, so a
failure leaves nothing half-written.

Bundles come from other people, so reading trusts nothing in them: a symbolic link that leads out of a bundle
folder (or any link to a folder, or anything but a regular file) is refused, as is a zip member name that is
absolute, climbs with ``..`` or is otherwise not a plain relative path; dump names are plain words; every dump
must start with the minidump signature ``MDMP`` (``memory_report``, a gzipped JSON report, with the gzip
one); JSON files are bounded in size and nesting depth. A zip is read member by member in 1 MiB pieces and
the bytes actually inflated are counted against caps (per member, and in total: at most :data:`MAX_RATIO`
times the zip's own size, at least :data:`MIN_BUDGET`, never over :data:`MAX_TOTAL`), and the member count is
checked from the zip's end record before its directory is loaded, so a zip bomb is refused after a bounded
amount of work and memory. With a ``spool_dir``, dumps are streamed to files there instead of memory.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from crashdesk.model.crash_id import is_crash_id
from crashdesk.model.jsonbound import JsonTooDeep
from crashdesk.model.jsonbound import loads as bounded_json
from crashdesk.store.errors import StoreError

MAIN_DUMP = "upload_file_minidump"
MEMORY_REPORT = "memory_report"  # Firefox's gzipped JSON memory report: the one dump that is no minidump
RAW, DUMP_NAMES, PROCESSED = "raw_crash", "dump_names", "processed_crash"
PACKET_DIR = "crashdesk"   # CrashDesk's own parts of a bundle (reproduction packets), beside the layout
_RESERVED = {RAW, DUMP_NAMES, PROCESSED, PACKET_DIR}
MAX_MEMBER = 1 << 30  # one dump: at most 1 GiB inflated
MAX_JSON = 64 << 20  # one raw / processed crash or dump-name list
MAX_MEMBERS = 100_000  # files in one bundle (a 10,000-crash fetch-data folder has about 40,000)
MAX_TOTAL = 8 << 30  # bytes inflated from one bundle, at most
MAX_RATIO = 200  # ... and at most this many times the zip's size (minidumps deflate 5-50:1; bombs 1000:1 and up)
MIN_BUDGET = 256 << 20  # ... but always at least this much
_PIECE = 1 << 20
DUMP_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}\Z")
MINIDUMP_SIGNATURE = b"MDMP"
GZIP_SIGNATURE = b"\x1f\x8b"


class BundleError(StoreError):
    """A bundle (or a file inside it) that cannot be read or written."""


class BundleRefused(BundleError):
    """A bundle refused as unsafe or oversized (a link out of it, a climbing name, a bomb, not a minidump)."""


@dataclass(slots=True)
class SpooledDump:
    """A dump read from a bundle into a file of the reader's spool folder (see :func:`read_bundle`)."""

    path: Path
    sha256: str
    size: int


@dataclass(slots=True)
class BundleCrash:
    """One crash of a bundle: its raw crash, dumps (name -> bytes, or :class:`SpooledDump` when read with a
    spool folder) and processed crash, any of which may be missing (fetch-data without ``--dumps`` or
    ``--processed``)."""

    crash_id: str
    raw_crash: dict[str, Any] | None = None
    dumps: dict[str, bytes | SpooledDump] = field(default_factory=dict)
    processed_crash: dict[str, Any] | None = None


def dump_kind_error(name: str, head: bytes) -> str | None:
    """Why a dump called ``name`` whose bytes start with ``head`` is refused, or None when it is what its name
    says (a minidump; ``memory_report``: gzip)."""
    if name == MEMORY_REPORT:
        return None if head[:2] == GZIP_SIGNATURE else "not a gzipped memory report (no gzip signature)"
    return None if head[:4] == MINIDUMP_SIGNATURE else "not a minidump (no MDMP signature)"


def unsafe_member_name(name: str) -> str | None:
    """Why a zip member name is not a plain relative path, or None."""
    if not name:
        return "empty name"
    if "\\" in name or any(ord(c) < 32 or ord(c) == 127 for c in name):
        return "a backslash or control character in the name"
    if name.startswith("/") or re.match(r"[A-Za-z]:", name):
        return "an absolute path"
    parts = name.rstrip("/").split("/")
    if any(p in ("", ".", "..") for p in parts):
        return "an empty, '.' or '..' path component"
    return None


def date_folder(crash_id: str) -> str:
    """``20YYMMDD`` from the crash id's trailing date, as fetch-data names the raw crash folder."""
    return "20" + crash_id[-6:]


# ---------------------------------------------------------------------------------------------- reading


class _Source:
    """A folder or a zip, seen as relative POSIX paths whose bytes are read in bounded pieces."""

    def __init__(self, path: Path, spool_dir: Path | None = None) -> None:
        self.path = path
        self.spool_dir = spool_dir
        self.zip: zipfile.ZipFile | None = None
        self.prefix = ""
        self.inflated = 0
        self.files: dict[str, Path] = {}
        if path.is_dir():
            self.budget = MAX_TOTAL
            self._walk(path)
            self.names = sorted(self.files)
        else:
            try:
                size = path.stat().st_size
                _check_zip_directory(path)
                self.zip = zipfile.ZipFile(path)
            except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
                raise BundleError(f"{path}: not a crash bundle (neither a folder nor a readable zip: {exc})") \
                    from exc
            self.budget = min(MAX_TOTAL, max(MIN_BUDGET, MAX_RATIO * size))
            infos = [i for i in self.zip.infolist() if not i.is_dir()]
            if len(infos) > MAX_MEMBERS:
                self.zip.close()
                raise BundleRefused(f"{path}: refused: {len(infos)} members (more than {MAX_MEMBERS})")
            for info in infos:
                why = unsafe_member_name(info.filename)
                if why is not None:
                    self.zip.close()
                    shown = info.filename.encode("unicode_escape").decode("ascii")
                    raise BundleRefused(f"{path}!{shown}: refused: {why}")
            self.names = sorted(i.filename for i in infos)
        self._strip_wrappers()

    def _walk(self, path: Path) -> None:
        root = Path(os.path.realpath(path))
        count = 0
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            here = Path(dirpath)
            for d in dirnames:
                if (here / d).is_symlink():
                    rel = (here / d).relative_to(root).as_posix()
                    raise BundleRefused(f"{path}/{rel}: refused: a symbolic link to a folder (bundles are read "
                                      f"without following links)")
            for f in filenames:
                full = here / f
                rel = full.relative_to(root).as_posix()
                if any(ord(c) < 32 or ord(c) == 127 for c in rel):
                    shown = rel.encode("unicode_escape").decode("ascii")
                    raise BundleRefused(f"{path}/{shown}: refused: a control character in the name")
                real = Path(os.path.realpath(full))
                if real != full and not real.is_relative_to(root):
                    raise BundleRefused(f"{path}/{rel}: refused: a symbolic link to {real}, outside the bundle")
                try:
                    mode = os.stat(real, follow_symlinks=False).st_mode
                except OSError as exc:
                    raise BundleError(f"{path}/{rel}: cannot read: {exc.strerror or exc}") from exc
                if not stat.S_ISREG(mode):
                    raise BundleRefused(f"{path}/{rel}: refused: not a regular file")
                count += 1
                if count > MAX_MEMBERS:
                    raise BundleRefused(f"{path}: refused: more than {MAX_MEMBERS} files")
                self.files[rel] = real

    def _strip_wrappers(self) -> None:
        def tops(names: list[str]) -> set[str]:
            return {n.split("/", 1)[0] for n in names}

        for _ in range(2):
            top = tops(self.names)
            if top & _RESERVED:
                return
            if len(top) == 1 and all("/" in n for n in self.names):
                (only,) = top
                self.prefix += only + "/"
                self.names = [n.split("/", 1)[1] for n in self.names]

    def where(self, name: str) -> str:
        return f"{self.path}/{self.prefix}{name}" if self.zip is None else f"{self.path}!{self.prefix}{name}"

    def _pieces(self, name: str, cap: int) -> Iterator[bytes]:
        """The member's bytes in pieces of at most 1 MiB, counted against ``cap`` and the bundle's budget as
        they are inflated (the sizes a zip declares are not trusted)."""
        full = self.prefix + name
        try:
            if self.zip is not None:
                fh = self.zip.open(self.zip.getinfo(full))
            else:
                fd = os.open(self.files[full], os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
                fh = os.fdopen(fd, "rb")
            with fh:
                size = 0
                while piece := fh.read(_PIECE):
                    size += len(piece)
                    self.inflated += len(piece)
                    if size > cap:
                        raise BundleRefused(f"{self.where(name)}: refused: larger than {cap} bytes")
                    if self.inflated > self.budget:
                        raise BundleRefused(f"{self.where(name)}: refused: the bundle inflates to more than "
                                          f"{self.budget} bytes (a zip bomb?)")
                    yield piece
        except (OSError, KeyError, zipfile.BadZipFile, RuntimeError, ValueError, EOFError) as exc:
            raise BundleError(f"{self.where(name)}: cannot read: {exc}") from exc

    def read(self, name: str, cap: int = MAX_JSON) -> bytes:
        return b"".join(self._pieces(name, cap))

    def dump(self, name: str, dump_name: str) -> bytes | SpooledDump:
        """A dump member: checked for its signature, in memory or (with a spool folder) in a file there."""
        pieces = self._pieces(name, MAX_MEMBER)
        first = next(pieces, b"")
        why = dump_kind_error(dump_name, first)
        if why is not None:
            pieces.close()
            raise BundleRefused(f"{self.where(name)}: refused: {why}")
        if self.spool_dir is None:
            return first + b"".join(pieces)
        h = hashlib.sha256(first)
        fd, tmp = tempfile.mkstemp(dir=self.spool_dir, prefix="dump-")
        size = len(first)
        with os.fdopen(fd, "wb") as out:
            out.write(first)
            for piece in pieces:
                h.update(piece)
                out.write(piece)
                size += len(piece)
        return SpooledDump(Path(tmp), h.hexdigest(), size)

    def json(self, name: str, kind: type) -> Any:
        data = self.read(name)
        try:
            value = bounded_json(data)
        except JsonTooDeep as exc:
            raise BundleRefused(f"{self.where(name)}: refused: {exc}") from exc
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BundleError(f"{self.where(name)}: not JSON ({exc})") from exc
        if not isinstance(value, kind):
            raise BundleError(f"{self.where(name)}: expected a JSON {kind.__name__}, got {type(value).__name__}")
        return value

    def close(self) -> None:
        if self.zip is not None:
            self.zip.close()


def _check_zip_directory(path: Path) -> None:
    """Refuse a zip whose end record announces more members, or a bigger central directory, than a bundle may
    have, before :class:`zipfile.ZipFile` loads the directory into memory (a ZipInfo per entry)."""
    try:  # CPython's zipfile reads the end record with these (private, but unchanged for many releases)
        endrec, entries_at, size_at = zipfile._EndRecData, zipfile._ECD_ENTRIES_TOTAL, zipfile._ECD_SIZE
    except AttributeError:  # elsewhere the count is checked after loading
        return
    with open(path, "rb") as fh:
        rec = endrec(fh)
    if not rec:
        return  # ZipFile reports it
    entries, cd_size = rec[entries_at], rec[size_at]
    if entries > MAX_MEMBERS or cd_size > MAX_MEMBERS * 1024:
        raise BundleRefused(f"{path}: refused: {entries} members in {cd_size} bytes of zip directory (more than "
                          f"{MAX_MEMBERS})")


def is_bundle(path: Path) -> bool:
    """Whether ``path`` looks like a bundle (a folder or zip with raw_crash/ or processed_crash/)."""
    path = Path(path)
    if not (path.is_dir() or zipfile.is_zipfile(path)):
        return False
    try:
        src = _Source(path)
    except BundleRefused:
        raise
    except BundleError:
        return False
    try:
        return any(n.split("/", 1)[0] in (RAW, PROCESSED) for n in src.names)
    finally:
        src.close()


def read_bundle(path: Path, *, spool_dir: Path | None = None) -> list[BundleCrash]:
    """Read every crash of a bundle, validating all files before returning anything. With ``spool_dir`` the
    dumps are streamed into files there (:class:`SpooledDump`) instead of held in memory; the caller removes
    the folder."""
    path = Path(path)
    if not path.exists():
        raise BundleError(f"{path}: no such file or folder")
    src = _Source(path, spool_dir)
    try:
        return list(_read(src))
    finally:
        src.close()


def _read(src: _Source) -> Iterator[BundleCrash]:
    if any(n.startswith("v1/") for n in src.names):
        src.prefix += "v1/"
        src.names = [n[3:] for n in src.names if n.startswith("v1/")]
    crashes: dict[str, BundleCrash] = {}
    dump_files: dict[str, dict[str, str]] = {}   # crash id -> dump name -> member name
    for name in src.names:
        parts = PurePosixPath(name).parts
        leaf = parts[-1]
        if leaf.startswith(".") or leaf in ("README", "README.md", "MANIFEST.json") or parts[0] == PACKET_DIR:
            continue
        crash_id = leaf.removesuffix(".json")
        if not is_crash_id(crash_id):
            raise BundleError(f"{src.where(name)}: not a crash bundle file (the name is not a crash id)")
        top = parts[0]
        if top == RAW:
            if len(parts) != 3 or parts[1] != date_folder(crash_id):
                raise BundleError(f"{src.where(name)}: raw crashes belong in raw_crash/<20YYMMDD>/<crash id>")
            crashes.setdefault(crash_id, BundleCrash(crash_id)).raw_crash = src.json(name, dict)
        elif top == PROCESSED and len(parts) == 2:
            crashes.setdefault(crash_id, BundleCrash(crash_id)).processed_crash = src.json(name, dict)
        elif top == DUMP_NAMES and len(parts) == 2:
            names = src.json(name, list)
            if not all(isinstance(n, str) and DUMP_NAME.match(n) for n in names):
                raise BundleError(f"{src.where(name)}: dump names must be a list of plain names")
            crashes.setdefault(crash_id, BundleCrash(crash_id))
        elif len(parts) == 2:
            dump_name = MAIN_DUMP if top == "dump" else top
            if not DUMP_NAME.match(dump_name) or dump_name in _RESERVED:
                raise BundleRefused(f"{src.where(name)}: refused: {dump_name!r} is not a dump name")
            dump_files.setdefault(crash_id, {})[dump_name] = name
        else:
            raise BundleError(f"{src.where(name)}: not part of the fetch-data layout")
    for crash_id, files in dump_files.items():
        crash = crashes.setdefault(crash_id, BundleCrash(crash_id))
        for dump_name, member in sorted(files.items()):
            crash.dumps[dump_name] = src.dump(member, dump_name)
    for crash in crashes.values():
        if crash.raw_crash is None and crash.processed_crash is None:
            raise BundleError(f"{src.where(crash.crash_id)}: crash {crash.crash_id} has dumps but neither a raw "
                              f"nor a processed crash")
        if crash.raw_crash is not None:
            checksums = crash.raw_crash.get("metadata", {}).get("dump_checksums") if isinstance(
                crash.raw_crash.get("metadata"), dict) else None
            if isinstance(checksums, dict):
                for dump_name, data in crash.dumps.items():
                    want = checksums.get(dump_name)
                    got = data.sha256 if isinstance(data, SpooledDump) else hashlib.sha256(data).hexdigest()
                    if isinstance(want, str) and want and got != want.lower():
                        raise BundleError(f"{src.where(files_for(dump_name, crash.crash_id))}: sha256 does not "
                                          f"match metadata.dump_checksums in the raw crash")
    if not crashes:
        raise BundleError(f"{src.path}: not a crash bundle (no raw_crash/ or processed_crash/ files)")
    yield from (crashes[k] for k in sorted(crashes))


MAX_PACKET_FILE = 256 << 20
MAX_PACKET_TOTAL = 1 << 30


def read_packet_files(path: Path) -> dict[str, bytes]:
    """The files under ``crashdesk/`` of a bundle (a reproduction packet's manifest and symbol files), by
    path relative to that folder. Paths must be plain relative names (no ``..``, no absolute or drive paths, no
    backslashes); symbolic links in a folder bundle, members over 256 MB or more than 1 GB in all are refused
    with :class:`BundleError`."""
    path = Path(path)
    src = _Source(path)
    out: dict[str, bytes] = {}
    total = 0
    try:
        for name in src.names:
            parts = PurePosixPath(name).parts
            if not parts or parts[0] != PACKET_DIR or len(parts) < 2:
                continue
            rel = "/".join(parts[1:])
            if any(p in ("", ".", "..") or "\\" in p or ":" in p for p in parts[1:]) or name.startswith("/"):
                raise BundleError(f"{src.where(name)}: unsafe path in the packet folder")
            if src.zip is None:
                full = src.path / (src.prefix + name)
                if any(p.is_symlink() for p in [full, *full.parents][:len(parts) + 1]):
                    raise BundleError(f"{src.where(name)}: a symbolic link in the packet folder")
                size = full.stat().st_size
            else:
                size = src.zip.getinfo(src.prefix + name).file_size
            if size > MAX_PACKET_FILE or total + size > MAX_PACKET_TOTAL:
                raise BundleError(f"{src.where(name)}: packet file too large ({size} bytes)")
            data = src.read(name)
            if len(data) > MAX_PACKET_FILE:
                raise BundleError(f"{src.where(name)}: packet file too large")
            total += len(data)
            out[rel] = data
    finally:
        src.close()
    return out


def files_for(dump_name: str, crash_id: str) -> str:
    return f"{dump_name}/{crash_id}"


# ---------------------------------------------------------------------------------------------- writing


def _dumps_json(obj: Any) -> bytes:
    return (json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def bundle_files(crash: BundleCrash) -> Iterator[tuple[str, bytes]]:
    """The (relative path, bytes) pairs one crash contributes to a bundle."""
    if crash.raw_crash is not None:
        yield f"{RAW}/{date_folder(crash.crash_id)}/{crash.crash_id}", _dumps_json(crash.raw_crash)
    if crash.dumps or crash.raw_crash is not None:
        yield f"{DUMP_NAMES}/{crash.crash_id}", json.dumps(sorted(crash.dumps)).encode()
    for name, data in sorted(crash.dumps.items()):
        if not name or "/" in name or name in _RESERVED or name.startswith("."):
            raise BundleError(f"crash {crash.crash_id}: cannot export a dump named {name!r}")
        yield f"{name}/{crash.crash_id}", data
    if crash.processed_crash is not None:
        yield f"{PROCESSED}/{crash.crash_id}", _dumps_json(crash.processed_crash)


def _umask() -> int:
    """The process's umask (read by setting it and putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_bundle(crashes: Iterable[BundleCrash], dest: Path, *, as_zip: bool | None = None,
                 overwrite: bool = False, extra: Iterable[tuple[str, bytes]] = ()) -> int:
    """Write ``crashes`` to ``dest`` (a folder, or a zip when ``as_zip`` or ``dest`` ends in ``.zip``).

    Everything is written to a temporary sibling first and renamed into place, so ``dest`` either appears
    complete or not at all. An existing ``dest`` is an error unless ``overwrite``. ``extra`` files (relative
    paths under ``crashdesk/``) are written after the crashes. Returns the crash count."""
    extra = list(extra)
    for rel, _data in extra:
        parts = PurePosixPath(rel).parts
        if len(parts) < 2 or parts[0] != PACKET_DIR or any(p in (".", "..") for p in parts) or rel.startswith("/"):
            raise BundleError(f"{rel}: extra bundle files belong under {PACKET_DIR}/")
    dest = Path(dest)
    if as_zip is None:
        as_zip = dest.suffix.lower() == ".zip"
    if dest.exists() and not overwrite:
        raise BundleError(f"{dest}: already exists")
    dest.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    if as_zip:
        fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
        os.chmod(tmp_name, 0o666 & ~_umask())  # mkstemp makes it 0600; a new file's mode follows the umask
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                for crash in crashes:
                    for rel, data in bundle_files(crash):
                        zf.writestr(rel, data)
                    count += 1
                for rel, data in extra:
                    zf.writestr(rel, data)
            if dest.exists():
                _remove(dest)
            os.replace(tmp, dest)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return count
    tmpdir = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp"))
    os.chmod(tmpdir, 0o777 & ~_umask())  # mkdtemp makes it 0700; a new folder's mode follows the umask
    try:
        for crash in crashes:
            for rel, data in bundle_files(crash):
                target = tmpdir / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            count += 1
        for rel, data in extra:
            target = tmpdir / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        if dest.exists():
            _remove(dest)
        os.replace(tmpdir, dest)
    except BaseException:
        shutil.rmtree(tmpdir, ignore_errors=True)
        raise
    return count


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink()
