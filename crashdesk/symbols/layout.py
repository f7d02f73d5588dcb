"""The symbol-store layout ``<debug_file>/<DEBUG_ID>/<sym_file>``, the native debug file a module wants from a
store, and checks on untrusted names.

A module's native debug file (:func:`native_kind`, asked for every module without a ``.sym`` file): a PDB under
its symstore key (``<pdb>/<GUID><age>/<pdb>``, exactly Breakpad's debug id) and its PE image
(``<pe>/<TimeDateStamp><SizeOfImage>/<pe>``, Breakpad's code id), or an ELF file by build id (debuginfod; the
code id, when the debug id derived from it is the module's). Fetching and checking the files themselves is
:mod:`crashdesk.symbols.native_fetch` and :mod:`crashdesk.symbols.remote_native`, imported only when a module's
cache folder exists or a server is asked.

Debug file names and ids come from minidumps and servers, so they are untrusted: before one becomes part of a
path or URL it must be a single plain path component (no ``..``, separators, drive letters, NUL or control
characters, bounded length) and the id must be hex.
"""

from __future__ import annotations

from crashdesk.engine.record_class import Record
from crashdesk.engine.symbols_api import ModuleKey
from crashdesk.errors import CrashDeskError

MAX_NAME = 200
HEX_DIGITS = "0123456789abcdefABCDEF"
MAX_ID = 80
# Characters Tecken refuses in a path segment, plus Windows-reserved ones and separators; and control characters.
# (Plain string checks, not regular expressions: compiling those cost ~0.3 ms of every stackwalk with symbols.)
_BAD_CHARS = frozenset('/\\:*?"<>|^`{}[]#%\'' + "".join(map(chr, range(0x20))) + "\x7f")
# names already found safe (a worker checks the same modules' names for crash after crash); bounded
_SAFE: set[str] = set()
_SAFE_MAX = 20_000
_WINDOWS_RESERVED = {"con", "prn", "aux", "nul"} | {f"com{i}" for i in range(1, 10)} | {
    f"lpt{i}" for i in range(1, 10)}


class UnsafeName(CrashDeskError):
    """A debug file name or id cannot be used safely as a path component."""


def leaf_name(name: str) -> str:
    """The part after the last ``/`` or ``\\`` (dumps often carry full paths)."""
    return name.replace("\\", "/").rsplit("/", 1)[-1]


def check_component(name: str, what: str = "debug file name") -> str:
    """Return ``name`` if it is a safe single path component, else raise :class:`UnsafeName`."""
    if name in _SAFE:
        return name
    if not name or name in (".", ".."):
        raise UnsafeName(f"unusable {what} {name!r}")
    if len(name) > MAX_NAME or len(name.encode("utf-8", "surrogatepass")) > MAX_NAME:
        raise UnsafeName(f"{what} too long ({len(name)} characters)")
    bad = next((c for c in name if c in _BAD_CHARS), None)
    if bad is not None:
        raise UnsafeName(f"{what} {name[:60]!r} contains {bad!r}")
    if name.startswith(" ") or name.endswith((" ", ".")):
        raise UnsafeName(f"{what} {name[:60]!r} starts or ends with a space or dot")
    if name.split(".")[0].lower() in _WINDOWS_RESERVED:
        raise UnsafeName(f"{what} {name[:60]!r} is a reserved device name")
    if len(_SAFE) >= _SAFE_MAX:
        _SAFE.clear()
    _SAFE.add(name)
    return name


def check_id(debug_id: str, what: str = "debug id") -> str:
    """Return the id upper-cased if it is hex, else raise :class:`UnsafeName`."""
    if not is_hex(debug_id or "") or len(debug_id) > MAX_ID:
        raise UnsafeName(f"unusable {what} {debug_id[:60]!r}")
    return debug_id.upper()


def is_hex(text: str) -> bool:
    """Whether ``text`` is one or more ASCII hex digits."""
    return bool(text) and not text.strip(HEX_DIGITS)


def sym_file_name(debug_file: str) -> str:
    """``xul.pdb`` -> ``xul.sym``; any other name gets ``.sym`` appended (``libxul.so`` -> ``libxul.so.sym``)."""
    if debug_file.lower().endswith(".pdb"):
        return debug_file[:-4] + ".sym"
    return debug_file + ".sym"


def code_sym_file_name(code_file: str) -> str:
    """For the code-file lookup: ``xul.dll`` -> ``xul.sym``; other names get ``.sym`` appended."""
    if code_file.lower().endswith(".dll"):
        return code_file[:-4] + ".sym"
    return code_file + ".sym"


class StorePath(Record, frozen=True, slots=True):
    """A checked relative store path ``<debug_file>/<DEBUG_ID>/<sym_file>``."""

    debug_file: str
    debug_id: str
    sym_file: str

    @property
    def parts(self) -> tuple[str, str, str]:
        return (self.debug_file, self.debug_id, self.sym_file)

    @property
    def posix(self) -> str:
        return "/".join(self.parts)  # each part is one checked component


def store_path(module: ModuleKey) -> StorePath:
    """The checked store path for ``module`` (raises :class:`UnsafeName`)."""
    debug_file = check_component(leaf_name(module.debug_file))
    debug_id = check_id(module.debug_id)
    sym = check_component(sym_file_name(debug_file))
    return StorePath(debug_file, debug_id, sym)


def code_store_path(module: ModuleKey) -> StorePath | None:
    """The code-file/code-id store path (``xul.dll/<CODE_ID>/xul.sym``), or None when unusable."""
    if not module.code_file or not module.code_id:
        return None
    try:
        code_file = check_component(leaf_name(module.code_file), "code file name")
        code_id = check_id(module.code_id, "code id")
        return StorePath(code_file, code_id, check_component(code_sym_file_name(code_file)))
    except UnsafeName:
        return None


# -- native debug files ----------------------------------------------------------------------------------------------

def native_kind(module: ModuleKey) -> str | None:
    """``pdb`` for a Windows module, ``elf`` for a module with an ELF build id, else None."""
    if symstore_pdb_key(module) is not None:
        return "pdb"
    if elf_build_id(module) is not None:
        return "elf"
    return None


def native_supported() -> bool:
    """True when native debug files can be read here (``symbolic`` has no wheel for some platforms)."""
    from crashdesk.engine.native import native_support

    return native_support()


def breakpad_id_from_build_id(build_id: str) -> str | None:
    """Breakpad's debug id (upper-case, age 0) for an ELF build id given in hex; None when not hex."""
    if not is_hex(build_id) or len(build_id) % 2:
        return None
    raw = bytes.fromhex(build_id)[:16].ljust(16, b"\0")
    guid = raw[3::-1] + raw[5:3:-1] + raw[7:5:-1] + raw[8:]
    return guid.hex().upper() + "0"


def elf_build_id(module: ModuleKey) -> str | None:
    """The module's ELF build id (lower-case hex) when its code id is one, else None."""
    code_id = (module.code_id or "").strip()
    derived = breakpad_id_from_build_id(code_id)
    if derived is None or derived != (module.debug_id or "").upper():
        return None
    return code_id.lower()


def is_pdb_module(module: ModuleKey) -> bool:
    return leaf_name(module.debug_file or "").lower().endswith(".pdb")



def symstore_pdb_key(module: ModuleKey) -> tuple[str, str] | None:
    """(pdb name, GUID+age key) for a PDB module, or None when unusable."""
    if not is_pdb_module(module):
        return None
    try:
        return check_component(leaf_name(module.debug_file)), check_id(module.debug_id)
    except UnsafeName:
        return None


def symstore_pe_key(module: ModuleKey) -> tuple[str, str] | None:
    """(PE name, TimeDateStamp+SizeOfImage key) for a Windows module with a code id, or None. The key keeps the
    dump's spelling (``%08X%x``, what symstore writes)."""
    if not is_pdb_module(module) or not module.code_file or not module.code_id:
        return None
    try:
        name = check_component(leaf_name(module.code_file), "code file name")
        check_id(module.code_id, "code id")
    except UnsafeName:
        return None
    return name, module.code_id
