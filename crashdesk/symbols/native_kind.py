"""Which native debug file a module asks servers and the cache for: a PDB (and its PE image) from a
Microsoft-style symbol server, or an ELF debug file by build id from debuginfod.

Asked for every module without a ``.sym`` file, so it is kept apart from the fetching and checking of the files
themselves (:mod:`crashdesk.symbols.native_fetch`, :mod:`crashdesk.symbols.remote_native`), which a lookup
imports only when the module's cache folder exists or a server is asked. The id rules are described in
:mod:`crashdesk.symbols.remote_native`.
"""

from __future__ import annotations

from crashdesk.engine.symbols_api import ModuleKey
from crashdesk.symbols.layout import UnsafeName, check_component, check_id, is_hex, leaf_name


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
