"""The persistent index file: a small JSON header followed by 8-byte-aligned arrays of unsigned 64-bit integers.

Layout (little-endian)::

    magic   8 bytes  b"CDSYMIX\\0"
    version u32
    hlen    u32      length of the JSON header
    header  hlen bytes, then zero padding to a multiple of 8
    arrays  each array's bytes, at the offsets the header gives
    crc     u32      crc32 of every byte before it (header included)

The header records the source file's real path, size, modification time and a CRC-32 of its first and last
64 KiB: an index whose source no longer matches, whose version is older, or whose bytes fail their checksum is not used
(the caller rebuilds it). Reading maps the file and hands out ``memoryview`` casts, so opening even a large
index costs one checksum pass and lookups bisect straight on the mapped pages.
"""

from __future__ import annotations

import json
import mmap
import os
import struct
import sys
import zlib
from array import array
from itertools import count

from crashdesk.engine.symfile.module_info import ModuleInfo

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~3 ms); type checkers read it as true
if TYPE_CHECKING:
    from crashdesk.engine.symfile.scan import ScanResult

MAGIC = b"CDSYMIX\x00"
VERSION = 5  # 2: ranges filtered like minidump-stackwalk; 3: checksum over the whole file; 4: field widths
# checked, malformed examples carry their line numbers; 5: the source's real path and sample CRC-32 (no hashlib)
_SAMPLE = 64 * 1024

# Names of the arrays an index holds; every one is an ``array('Q')``.
ARRAY_NAMES = (
    "func_addr", "func_size", "func_off", "func_end",
    "pub_addr", "pub_off",
    "cfi_addr", "cfi_size", "cfi_off", "cfi_end",
    "win4_addr", "win4_size", "win4_off",
    "win0_addr", "win0_size", "win0_off",
    "winx_addr", "winx_size", "winx_off",
    "file_id", "file_off",
    "origin_id", "origin_off",
)


class IndexInvalid(Exception):
    """The index file is missing, stale or damaged (internal: the caller rebuilds)."""


def name_key(text: str) -> str:
    """A short file name for ``text`` (a path): CRC-32 and Adler-32 in hex, from :mod:`zlib` (cheap; the
    interpreter's start has usually loaded it; ``hashlib`` costs ~3 ms to import, a tenth of a cold
    stackwalk). Not a security boundary: a file so named records what it describes (:func:`source_identity`, a folder index's
    ``folder``) and is checked against it, so two paths sharing a name only rebuild each other's file."""
    data = text.encode("utf-8", "surrogateescape")
    return f"{zlib.crc32(data):08x}{zlib.adler32(data):08x}"


def source_identity(path: str, data, real_path: str | None = None) -> dict:
    """Real path, size, mtime and a sample checksum of the source ``.sym`` file that an index describes (the
    checksum detects a file changed in place, as the size and mtime usually do already). ``real_path``: the
    caller's ``os.path.realpath(path)``, when it has it already."""
    st = os.stat(path)
    crc = zlib.crc32(data[:_SAMPLE])
    if len(data) > _SAMPLE:
        crc = zlib.crc32(data[-_SAMPLE:], crc)
    return {"path": real_path or os.path.realpath(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns,
            "sample_crc32": crc}


def write_index(target: str, scan: ScanResult, identity: dict) -> None:
    """Write ``scan`` to ``target`` atomically (temporary file in the same folder, then rename)."""
    blobs = []
    table = {}
    offset = 0
    for name in ARRAY_NAMES:
        arr = scan.arrays[name]
        if sys.byteorder != "little":
            arr = array("Q", arr)
            arr.byteswap()
        raw = arr.tobytes()
        table[name] = [offset, len(arr)]
        blobs.append(raw)
        offset += len(raw)
    header = {
        "source": identity,
        "module": scan.module.to_json(),
        "malformed_lines": scan.malformed_lines,
        "malformed_examples": scan.malformed_examples,
        "arrays": table,
        "arrays_bytes": offset,
    }
    hbytes = json.dumps(header, separators=(",", ":")).encode()
    pad = (-(16 + len(hbytes))) % 8
    try:
        fd, tmp = _new_temp(os.path.dirname(target))
    except FileNotFoundError:  # the folder is made on the first index in it, not checked on every one
        os.makedirs(os.path.dirname(target), exist_ok=True)
        fd, tmp = _new_temp(os.path.dirname(target))
    try:
        with os.fdopen(fd, "wb") as f:
            crc = 0
            for part in (MAGIC, struct.pack("<II", VERSION, len(hbytes)), hbytes, b"\x00" * pad, *blobs):
                f.write(part)
                crc = zlib.crc32(part, crc)
            f.write(struct.pack("<I", crc))
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


_temp_numbers = count()


def _new_temp(folder: str) -> tuple[int, str]:
    """A new file ``.tmp-<pid>-<n>.idx`` in ``folder``, created exclusively and private as
    :func:`tempfile.mkstemp` creates its files, without importing :mod:`tempfile` (it imports ``random`` and
    ``weakref``: ~2 ms of a cold stackwalk, which writes an index for every ``.sym`` it opens)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    while True:
        name = os.path.join(folder, f".tmp-{os.getpid()}-{next(_temp_numbers)}.idx")
        try:
            return os.open(name, flags, 0o600), name
        except FileExistsError:  # left by a killed process that had this process id
            continue


class MappedIndex:
    """An index file opened read-only; ``arrays`` are ``memoryview`` casts into the mapping."""

    def __init__(self, path: str, identity: dict) -> None:
        try:
            with open(path, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                if size < 20:
                    raise IndexInvalid("too short")
                mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except OSError as exc:
            raise IndexInvalid(str(exc)) from exc
        try:
            if mm[:8] != MAGIC:
                raise IndexInvalid("bad magic")
            version, hlen = struct.unpack("<II", mm[8:16])
            if version != VERSION:
                raise IndexInvalid(f"version {version}")
            if 16 + hlen > size:
                raise IndexInvalid("header past end")
            header = json.loads(bytes(mm[16 : 16 + hlen]))
            if header.get("source") != identity:
                raise IndexInvalid("source changed")
            base = 16 + hlen + ((-(16 + hlen)) % 8)
            total = int(header["arrays_bytes"])
            if base + total + 4 != size:
                raise IndexInvalid("size mismatch")
            whole = memoryview(mm)[: size - 4]
            ok = zlib.crc32(whole) == struct.unpack("<I", mm[size - 4 : size])[0]
            whole.release()
            if not ok:
                raise IndexInvalid("checksum mismatch")
            region = memoryview(mm)[base : base + total]
            self.arrays = {}
            for name in ARRAY_NAMES:
                off, count = header["arrays"][name]
                if off < 0 or count < 0 or off + 8 * count > total or off % 8:
                    raise IndexInvalid(f"bad table entry {name}")
                view = region[off : off + 8 * count]
                self.arrays[name] = view.cast("Q") if sys.byteorder == "little" else array("Q", view)
            self.module = ModuleInfo.from_json(header["module"])
            self.malformed_lines = int(header["malformed_lines"])
            self.malformed_examples = list(header.get("malformed_examples", []))
            self._region = region
            self._mm = mm
            try:
                os.utime(path)  # last use, for the cache's least-recently-used eviction
            except OSError:
                pass
        except IndexInvalid:
            self._close_quietly(mm)
            raise
        except (ValueError, KeyError, TypeError, AttributeError, struct.error) as exc:
            self._close_quietly(mm)
            raise IndexInvalid(f"unreadable header: {exc}") from exc

    @staticmethod
    def _close_quietly(mm: mmap.mmap) -> None:
        try:
            mm.close()
        except BufferError:
            pass  # views still alive; the mapping goes when they do

    def close(self) -> None:
        for view in self.arrays.values():
            if isinstance(view, memoryview):
                view.release()
        self.arrays = {}
        self._region.release()
        self._close_quietly(self._mm)
