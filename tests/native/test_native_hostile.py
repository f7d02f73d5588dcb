"""Hostile native files: truncated, wrong magic, huge section counts, a bomb-like compressed section, files
that crash the native reader. Each is a typed error for that file (a per-module note in the chain); the walk
of the crash goes on; nothing takes the process down."""

from __future__ import annotations

import os
import shutil
import signal
import struct
import zlib

import pytest
from native_oracle import DATA

from crashdesk.engine.native import NativeFileError, identify
from crashdesk.engine.native.isolate import map_isolated, run_isolated
from crashdesk.engine.native.symbols import load_native_symbols
from crashdesk.engine.stackwalk import process_minidump
from crashdesk.engine.symbols_api import ModuleKey
from crashdesk.errors import CrashDeskError
from crashdesk.symbols import build_provider

CLONES = DATA / "elf-o2" / "clones"
CLONES_ID = ModuleKey("clones", "48CEBF0C054D63F9730331A66C8F20750")


def _elf() -> bytearray:
    return bytearray(CLONES.read_bytes())


def _section(buf: bytearray, name: bytes) -> int:
    """File offset of the section header named ``name`` (ELF64 little-endian)."""
    shoff, = struct.unpack_from("<Q", buf, 0x28)
    _entsize, shnum, shstrndx = struct.unpack_from("<HHH", buf, 0x3A)
    str_off = struct.unpack_from("<Q", buf, shoff + shstrndx * 64 + 24)[0]
    for i in range(shnum):
        hdr = shoff + i * 64
        name_off = struct.unpack_from("<I", buf, hdr)[0]
        if bytes(buf[str_off + name_off: str_off + name_off + len(name) + 1]) == name + b"\0":
            return hdr
    raise AssertionError(name)


def truncated(tmp_path):
    p = tmp_path / "truncated.so"
    p.write_bytes(_elf()[: len(_elf()) // 2])
    return p, "truncated"


def wrong_magic(tmp_path):
    p = tmp_path / "wrong-magic.so"
    b = _elf()
    b[4] = 9  # ELF class 9 does not exist
    p.write_bytes(b)
    return p, "damaged ELF header"


def huge_section_count(tmp_path):
    p = tmp_path / "sections.so"
    b = _elf()
    struct.pack_into("<H", b, 0x3C, 0xFF00)  # e_shnum = 65280 entries, table far past the end
    p.write_bytes(b)
    return p, "section"


def extended_section_count(tmp_path):
    p = tmp_path / "extended.so"
    b = _elf()
    shoff, = struct.unpack_from("<Q", b, 0x28)
    struct.pack_into("<H", b, 0x3C, 0)  # e_shnum = 0: the count is in section 0's sh_size
    struct.pack_into("<Q", b, shoff + 32, 10**9)
    p.write_bytes(b)
    return p, "1000000000 ELF sections"


def compressed_bomb(tmp_path):
    """.debug_info marked SHF_COMPRESSED: a real zlib stream of 256 MB of zeros (~250 KB) appended to the
    file, with its true inflated size in the header -- the ratio of a bomb, refused before inflating."""
    b = _elf()
    hdr = _section(b, b".debug_info")
    stream = zlib.compress(b"\0" * (256 << 20), 9)
    offset = len(b)
    chdr = struct.pack("<IIQQ", 1, 0, 256 << 20, 1)  # ELFCOMPRESS_ZLIB, size, alignment
    b += chdr + stream
    flags, = struct.unpack_from("<Q", b, hdr + 8)
    struct.pack_into("<Q", b, hdr + 8, flags | 0x800)
    struct.pack_into("<Q", b, hdr + 24, offset)
    struct.pack_into("<Q", b, hdr + 32, len(chdr) + len(stream))
    p = tmp_path / "bomb.so"
    p.write_bytes(b)
    return p, "compressed section .debug_info claims 268435456 bytes"


def claimed_terabyte(tmp_path):
    b = _elf()
    hdr = _section(b, b".debug_info")
    offset, = struct.unpack_from("<Q", b, hdr + 24)
    struct.pack_into("<IIQQ", b, offset, 1, 0, 1 << 40, 1)
    flags, = struct.unpack_from("<Q", b, hdr + 8)
    struct.pack_into("<Q", b, hdr + 8, flags | 0x800)
    p = tmp_path / "tera.so"
    p.write_bytes(b)
    return p, "1099511627776 bytes"


def pdb_garbage(tmp_path):
    p = tmp_path / "garbage.pdb"
    p.write_bytes(b"Microsoft C/C++ MSF 7.00\r\n\x1aDS\0\0\0" + os.urandom(8192))
    return p, "garbage.pdb"


HOSTILE = [truncated, wrong_magic, huge_section_count, extended_section_count, compressed_bomb, claimed_terabyte,
           pdb_garbage]


@pytest.mark.parametrize("make", HOSTILE, ids=[f.__name__ for f in HOSTILE])
def test_identify_refuses_with_a_typed_error(tmp_path, make):
    path, words = make(tmp_path)
    with pytest.raises(NativeFileError) as info:
        identify(path)
    assert isinstance(info.value, CrashDeskError)
    assert words in str(info.value)


@pytest.mark.parametrize("make", HOSTILE[:-1], ids=[f.__name__ for f in HOSTILE[:-1]])
def test_conversion_refuses_with_a_typed_error(tmp_path, make):
    path, _words = make(tmp_path)
    with pytest.raises(NativeFileError):
        load_native_symbols(path, CLONES_ID, tmp_path / "idx")
    assert not list((tmp_path / "idx").glob("native/*/meta.json"))


def _segfault(_arg=None):
    os.kill(os.getpid(), signal.SIGSEGV)


def _maybe_segfault(n):
    if n == 2:
        _segfault()
    return n * 10


def test_a_reader_crash_is_an_error_for_that_file_only():
    with pytest.raises(NativeFileError) as info:
        run_isolated(_segfault, (None,), what="x.so")
    assert "crashed (signal 11)" in str(info.value)
    got = list(map_isolated(_maybe_segfault, [0, 1, 2, 3, 4]))
    assert [(i, s) for i, s, _v in got] == [(0, "ok"), (1, "ok"), (2, "error"), (3, "ok"), (4, "ok")]
    assert [v for _i, s, v in got if s == "ok"] == [0, 10, 30, 40]


def test_crash_processing_goes_on_with_hostile_files_in_the_build_folder(tmp_path):
    """The build folder holds every hostile file and the real abort.debug: the dump's module gets its
    symbols, the hostile files are skipped and reported, the process survives."""
    folder = tmp_path / "build"
    folder.mkdir()
    names = set()
    for make in HOSTILE:
        path, _ = make(tmp_path)
        shutil.move(path, folder / path.name)
        names.add(path.name)
    shutil.copy(DATA / "abort/abort.debug", folder / "abort.debug")
    with build_provider([folder], [], tmp_path / "cache") as provider:
        doc = process_minidump(DATA / "abort/abort.20180103.145440.12345.20827.dmp", provider)
        errors = provider.folder_index(folder).stats.errors
        miss = provider.lookup(ModuleKey("libc-2.23.so", "A3A7A83B4C4C3B2C8D3F9F2F1D6D4E1B0"))
    frames = doc["crashing_thread"]["frames"]
    assert frames[1]["function"] == "main"
    assert {e["path"] for e in errors} == names
    assert miss.status == "missing" and f"{len(HOSTILE)} damaged" in miss.note


def test_file_of_another_debug_id_matched_by_code_id_is_never_used(tmp_path):
    (tmp_path / "b").mkdir()
    shutil.copy(DATA / "abort/abort.debug", tmp_path / "b" / "abort")
    module = ModuleKey("abort", "A48688D4AA70B4CAE2B86443818FBC971", "abort",
                       "D48886A470AACAB4E2B86443818FBC97E19CFCB5")  # right code id, another debug id (age)
    with build_provider([tmp_path / "b"], [], tmp_path / "cache") as provider:
        hit = provider.lookup(module)
    assert hit.symbols is None and hit.status == "corrupt"
    assert "A48688D4AA70B4CAE2B86443818FBC970" in hit.note and "not used" in hit.note
