"""Where native debug files live on remote servers, and checking what came back.

* **debuginfod** (Linux): ``<server>/buildid/<build-id>/debuginfo`` and ``.../executable``. A module's ELF
  build id is its code id: Breakpad's debug id is the first 16 bytes of the build id read as a GUID (the first
  three fields byte-swapped) plus an age of 0, so a code id whose derived debug id equals the module's debug id
  is an ELF build id.
* **Microsoft-style symbol servers** (``symsrv``/``symstore`` layout): ``<pdb>/<GUID><age>/<pdb>`` for PDBs,
  whose key is exactly Breakpad's debug id, and ``<pe>/<TimeDateStamp><SizeOfImage>/<pe>`` for PE images,
  whose key is exactly Breakpad's code id. A server may answer with the CAB-compressed form (``crash.pd_``,
  ``crash.dl_``) or with ``file.ptr``, a one-line pointer to the file elsewhere (``PATH:\\\\share\\...`` or
  ``MSG:...``).

Nothing here touches the network: :class:`~crashdesk.symbols.chain.SymbolChain` downloads; this module names
paths, unpacks CAB answers (with the maintained ``cabarchive`` library, bounded) and checks a downloaded file
against the module it was asked for.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable

from crashdesk.engine.record_class import Record
from crashdesk.engine.symbols_api import ModuleKey
from crashdesk.errors import CrashDeskError
from crashdesk.symbols.layout import elf_build_id, leaf_name

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~3 ms); type checkers read it as true
if TYPE_CHECKING:
    from pathlib import Path

CAB_MAGIC = b"MSCF"
# cabarchive expands a whole CAB in memory: compressed answers are held to this many decoded bytes.
MAX_CAB_EXPANDED = 1024**3
_MSZIP_BLOCK = 32768


class RemoteFileRejected(CrashDeskError):
    """A downloaded native file is unusable: not an object file, another module's file, or an unsupported
    compressed answer. The message says which, for the per-module note."""


class RemoteTarget(Record, frozen=True, slots=True):
    """One file to ask a server for: the URL path under the base URL, what kind of file it is and the name it
    gets in the cache (``<cache>/symbols/<debug_file>/<DEBUG_ID>/<cache_name>``)."""

    path: str  # URL path below the server's base URL, already quoted
    role: str  # "debuginfo" | "executable" | "pdb" | "pe"
    cache_name: str


def debuginfod_targets(module: ModuleKey, debug_file: str) -> list[RemoteTarget]:
    """``debuginfo`` then ``executable`` for an ELF module, or nothing when the module has no build id."""
    build_id = elf_build_id(module)
    if build_id is None:
        return []
    return [RemoteTarget(f"buildid/{build_id}/debuginfo", "debuginfo", f"{debug_file}.debug"),
            RemoteTarget(f"buildid/{build_id}/executable", "executable", debug_file)]


def compressed_name(name: str) -> str:
    """``crash.pdb`` -> ``crash.pd_`` (the CAB-compressed form symstore writes)."""
    return name[:-1] + "_"


def parse_file_ptr(text: str) -> str:
    """What a ``file.ptr`` answer says, as a one-line note (``PATH:`` target or ``MSG:`` text)."""
    line = text.strip().splitlines()[0] if text.strip() else ""
    head, _, rest = line.partition(":")
    if head.upper() == "PATH" and rest:
        return f"the server points elsewhere (file.ptr PATH: {rest[:200]}); CrashDesk does not follow file.ptr " \
               "pointers: copy that file into a build folder or a store the chain can read"
    if head.upper() == "MSG" and rest:
        return f"the server says (file.ptr MSG): {rest[:200]}"
    return "the server answered with an unreadable file.ptr"


def _cab_expanded_bound(head: bytes) -> int:
    """An upper bound of the bytes a CAB can expand to, from its folder headers (raises on a bad header)."""
    if len(head) < 36 or head[:4] != CAB_MAGIC:
        raise RemoteFileRejected("not a CAB archive")
    cfolders, _cfiles, flags = struct.unpack_from("<HHH", head, 26)
    offset = 36
    folder_reserve = 0
    if flags & 0x0004:
        if len(head) < 40:
            raise RemoteFileRejected("truncated CAB header")
        header_reserve, folder_reserve, _data_reserve = struct.unpack_from("<HBB", head, 36)
        offset = 40 + header_reserve
    if flags & 0x0003:
        raise RemoteFileRejected("multi-part CAB archives are not supported")
    blocks = 0
    for i in range(cfolders):
        at = offset + i * (8 + folder_reserve)
        if at + 8 > len(head):
            raise RemoteFileRejected("truncated CAB folder table")
        _start, ndata, _compression = struct.unpack_from("<IHH", head, at)
        blocks += ndata
    return blocks * _MSZIP_BLOCK


def unpack_cab(path: str | os.PathLike[str], want_name: str, temp_factory: Callable[[], tuple[int, Path]],
               max_bytes: int) -> Path:
    """The file ``want_name`` out of the CAB archive at ``path``, written to a new temporary file.

    Raises :class:`RemoteFileRejected` for anything unusable: not a CAB, damaged, LZX/Quantum compression
    (``cabarchive`` reads stored and MSZIP archives only), more than one file, or more than
    ``min(max_bytes, MAX_CAB_EXPANDED)`` bytes once expanded (checked from the headers before expanding).
    """
    try:
        from cabarchive import CabArchive
        from cabarchive.errors import CorruptionError, NotSupportedError
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        raise RemoteFileRejected("compressed (CAB) answer, and the cabarchive library is not installed") from exc
    limit = min(max_bytes, MAX_CAB_EXPANDED)
    size = os.stat(path).st_size
    if size > limit:
        raise RemoteFileRejected(f"compressed (CAB) answer of {size} bytes is over the {limit} byte cap")
    with open(path, "rb") as f:
        data = f.read()
    bound = _cab_expanded_bound(data[:65536])
    if bound > limit:
        raise RemoteFileRejected(f"compressed (CAB) answer would expand past the {limit} byte cap")
    try:
        archive = CabArchive(data)
    except NotSupportedError as exc:
        raise RemoteFileRejected(f"compressed (CAB) answer not supported: {exc}") from exc
    except (CorruptionError, struct.error, ValueError, IndexError) as exc:
        raise RemoteFileRejected(f"damaged compressed (CAB) answer: {exc or type(exc).__name__}") from exc
    files = list(archive.values())
    if len(files) != 1:
        raise RemoteFileRejected(f"compressed (CAB) answer holds {len(files)} files, expected 1")
    member = files[0]
    if leaf_name(member.filename or "").lower() != want_name.lower():
        raise RemoteFileRejected(f"compressed (CAB) answer holds {member.filename!r}, expected {want_name!r}")
    buf = member.buf or b""
    if len(buf) > limit:
        raise RemoteFileRejected(f"compressed (CAB) answer expands past the {limit} byte cap")
    fd, out = temp_factory()
    with os.fdopen(fd, "wb") as f:
        f.write(buf)
    return out


def verify_native(path: str | os.PathLike[str], module: ModuleKey, role: str) -> tuple[frozenset, str]:
    """Check that the downloaded file at ``path`` belongs to ``module`` (its debug id; for a PE image its code
    id); return what the matching object holds (``unwind``, ``debug``, ``symtab``) and its architecture.
    Raises :class:`RemoteFileRejected` (the caller deletes the file)."""
    from crashdesk.engine.native import NativeFileError, identify

    try:
        objects = identify(path)
    except NativeFileError as exc:
        raise RemoteFileRejected(str(exc).replace(f"{path}: ", "")) from exc
    want_debug = (module.debug_id or "").upper()
    want_code = (module.code_id or "").upper()
    want_kind = {"pdb": "pdb", "pe": "pe"}.get(role, "elf")
    if not any(o.kind == want_kind for o in objects):
        raise RemoteFileRejected(f"expected a {want_kind.upper()} file, got {objects[0].kind.upper()}")
    for obj in objects:
        if obj.kind != want_kind:
            continue
        if (obj.code_id == want_code) if role == "pe" else (obj.debug_id == want_debug):
            features = {name for name, has in (("unwind", obj.has_unwind), ("debug", obj.has_debug_info),
                                               ("symtab", obj.has_symbols)) if has}
            return frozenset(features), obj.arch
    found = ", ".join(sorted({(o.code_id if role == "pe" else o.debug_id) or "none" for o in objects}))
    what = "code id" if role == "pe" else "debug id"
    raise RemoteFileRejected(f"{what} mismatch: the file is {found}, the module is "
                             f"{want_code if role == 'pe' else want_debug}")
