"""What a native file is: its objects (one per architecture slice) with their debug ids and what they hold."""

from __future__ import annotations

import os
import sys
from functools import cache

from crashdesk.engine.native.errors import NativeFileError, NativeSupportMissing
from crashdesk.engine.native.ids import SNIFF_BYTES, breakpad_debug_id, sniff_kind
from crashdesk.engine.record_class import Record

# symbolic reads debug sections in memory; refuse files that could not be a sane debug file.
MAX_NATIVE_BYTES = 8 << 30


@cache
def native_support() -> bool:
    """True when the ``symbolic`` library is installed (no wheel for Windows: .sym files keep working there).
    Only looked up, not imported: ``symbolic`` is imported where a native file is opened (ARCHITECTURE.md,
    "Imports and start-up"). The import system's finders are asked as :func:`importlib.util.find_spec` asks
    them for a top-level name, without importing :mod:`importlib.util` (with ``contextlib``: ~1 ms of every
    stackwalk with symbols)."""
    if "symbolic" in sys.modules:
        return True
    return any(finder.find_spec("symbolic", None) is not None
               for finder in sys.meta_path if hasattr(finder, "find_spec"))


class NativeObjectInfo(Record, frozen=True, slots=True):
    """One object inside a native file (a fat Mach-O holds one per architecture)."""

    path: str
    kind: str  # "elf" | "pe" | "pdb" | "macho" | "breakpad" | "wasm"...
    debug_id: str  # Breakpad form: 33 hex digits, e.g. D2554CDB926136C4B9766A086583B9B50
    code_id: str  # upper-case hex ("" when the format has none)
    arch: str
    object_kind: str  # symbolic's: "exe", "lib", "dbg", ...
    has_symbols: bool
    has_unwind: bool
    has_debug_info: bool
    index: int = 0  # position inside the archive (fat Mach-O slice)

    def to_json(self) -> dict:
        return {"path": self.path, "kind": self.kind, "debug_id": self.debug_id, "code_id": self.code_id,
                "arch": self.arch, "object_kind": self.object_kind, "has_symbols": self.has_symbols,
                "has_unwind": self.has_unwind, "has_debug_info": self.has_debug_info}


def _require_symbolic() -> None:
    if not native_support():
        raise NativeSupportMissing("native debug files need the 'symbolic' package, which is not installed")


def sniff_file(path: str | os.PathLike[str]) -> str | None:
    """The container kind from the first bytes of ``path`` (None: not a native or Breakpad file)."""
    try:
        with open(path, "rb") as f:
            return sniff_kind(f.read(SNIFF_BYTES))
    except OSError:
        return None


def open_archive(path: str | os.PathLike[str]):
    """``symbolic``'s archive for ``path``, after the cheap checks (magic bytes, size, the ELF sanity checks);
    returns (archive, container kind, executable ELF sections as (address, name))."""
    _require_symbolic()
    try:
        size = os.stat(path).st_size
        with open(path, "rb") as f:
            head = f.read(SNIFF_BYTES)
    except OSError as exc:
        raise NativeFileError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    kind = sniff_kind(head)
    if kind is None or kind == "breakpad":
        raise NativeFileError(f"{path}: not a native object file (ELF, PE, PDB or Mach-O)")
    if size > MAX_NATIVE_BYTES:
        raise NativeFileError(f"{path}: {size} bytes, larger than the {MAX_NATIVE_BYTES >> 30} GiB limit")
    sections: list[tuple[int, str]] = []
    if kind == "elf":
        from crashdesk.engine.native.elfcheck import check_elf

        sections = check_elf(path, size)
    from symbolic import SymbolicError
    from symbolic.debuginfo import Archive

    try:
        return Archive.open(str(path)), kind, sections
    except SymbolicError as exc:
        raise NativeFileError(f"{path}: not a usable {kind.upper()} file: {exc}") from exc
    except Exception as exc:  # a panic inside the library surfaces as another exception type
        raise NativeFileError(f"{path}: cannot read {kind.upper()} file: {exc}") from exc


def _objects(archive, path: str | os.PathLike[str], kind: str):
    try:
        count = archive.object_count
    except Exception as exc:
        raise NativeFileError(f"{path}: damaged {kind.upper()} file: {exc}") from exc
    if count > 64:
        raise NativeFileError(f"{path}: {count} objects in one file, more than a fat binary holds")
    for i in range(count):
        try:
            yield i, archive._get_object(i)
        except LookupError:
            continue
        except Exception as exc:
            raise NativeFileError(f"{path}: damaged object #{i}: {exc}") from exc


def identify(path: str | os.PathLike[str]) -> list[NativeObjectInfo]:
    """The objects in a native file, raising :class:`NativeFileError` for anything that is not a usable one.

    The file is read in a child process (see :mod:`crashdesk.engine.native.isolate`); a file that is not an
    object file by its first bytes is refused without one."""
    from crashdesk.engine.native.isolate import IDENTIFY_TIMEOUT, run_isolated

    kind = sniff_file(path)
    if kind is None:
        raise NativeFileError(f"{path}: not a native object file (ELF, PE, PDB or Mach-O) nor a Breakpad .sym file")
    if kind == "breakpad":
        return [_identify_breakpad(os.fspath(path))]
    _require_symbolic()
    return run_isolated(identify_in_process, (str(path),), what=str(path), timeout=IDENTIFY_TIMEOUT)


def _identify_breakpad(path: str) -> NativeObjectInfo:
    """A Breakpad .sym file: its MODULE (and INFO CODE_ID) line, and which record kinds it holds."""
    import mmap

    from crashdesk.engine.symfile import SymbolFileError, parse_module_line

    try:
        with open(path, "rb") as f:
            data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError) as exc:
        raise NativeFileError(f"{path}: cannot read: {exc}") from exc
    try:
        nl = data.find(b"\n", 0, 4096)
        try:
            mod = parse_module_line(data[: nl if nl >= 0 else 4096], str(path))
        except SymbolFileError as exc:
            raise NativeFileError(str(exc)) from exc
        code_id = ""
        head = data[:8192]
        at = head.find(b"\nINFO CODE_ID ")
        if at >= 0:
            code_id = head[at + 14:].split(b"\n", 1)[0].split(b" ", 1)[0].decode("ascii", "replace").strip()
        return NativeObjectInfo(
            path=str(path), kind="breakpad", debug_id=mod.debug_id.upper(), code_id=code_id.upper(), arch=mod.arch,
            object_kind="sym", has_symbols=data.find(b"\nFUNC ") >= 0 or data.find(b"\nPUBLIC ") >= 0,
            has_unwind=data.find(b"\nSTACK ") >= 0, has_debug_info=data.find(b"\nFILE ") >= 0)
    finally:
        data.close()


def identify_in_process(path: str | os.PathLike[str]) -> list[NativeObjectInfo]:
    """:func:`identify` in this process (only for code already running in an isolated child)."""
    p = os.fspath(path)
    archive, kind, _sections = open_archive(p)
    out = []
    for i, obj in _objects(archive, p, kind):
        try:
            features = obj.features
            out.append(NativeObjectInfo(
                path=str(p), kind=obj.file_format or kind, debug_id=breakpad_debug_id(obj.debug_id),
                code_id=(obj.code_id or "").upper(), arch=obj.arch, object_kind=obj.kind,
                has_symbols="symtab" in features, has_unwind="unwind" in features,
                has_debug_info="debug" in features, index=i))
        except Exception as exc:
            raise NativeFileError(f"{p}: damaged object #{i}: {exc}") from exc
    if not out:
        raise NativeFileError(f"{p}: no object inside this {kind.upper()} file")
    return out
