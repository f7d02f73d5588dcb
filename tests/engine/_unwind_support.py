"""Helpers for the unwinder tests: protocol implementations over synthetic bytes, and a driver that walks a
real minidump's threads the way the reference does (exception context for the crashing thread, only the
thread's stack memory, the dump-writing thread skipped)."""

from __future__ import annotations

import struct
from pathlib import Path

from crashdesk.engine.symfile import load_symbol_file
from crashdesk.engine.unwind import ModuleInfo, SymbolCache, frame_json, walk_thread

FRAME_FIELDS = (
    "module", "function", "function_offset", "file", "line", "offset", "module_offset", "trust",
    "inlines", "missing_symbols", "unloaded_modules",
)


class SyntheticMemory:
    """A ``MemoryReader`` over one contiguous block of bytes at ``base``."""

    def __init__(self, base: int, data: bytes) -> None:
        self.base = base
        self.data = bytes(data)

    def read(self, address: int, size: int) -> bytes | None:
        off = address - self.base
        if size < 0 or off < 0 or off + size > len(self.data):
            return None
        return self.data[off : off + size]

    def read_uint(self, address: int, size: int) -> int | None:
        raw = self.read(address, size)
        return None if raw is None else int.from_bytes(raw, "little")


class StackBuilder:
    """Build a little-endian stack of pointer-sized words from ``base`` upwards."""

    def __init__(self, base: int, words: int, width: int) -> None:
        self.base = base
        self.width = width
        self.buf = bytearray(words * width)

    def put(self, address: int, value: int) -> None:
        off = address - self.base
        self.buf[off : off + self.width] = value.to_bytes(self.width, "little")

    def memory(self) -> SyntheticMemory:
        return SyntheticMemory(self.base, bytes(self.buf))


class SyntheticModules:
    """A ``ModuleMap`` over a fixed list of modules (and unloaded modules)."""

    def __init__(self, modules: list[ModuleInfo], unloaded: list[ModuleInfo] | None = None) -> None:
        self.modules = modules
        self.unloaded = unloaded or []

    def module_at(self, address: int) -> ModuleInfo | None:
        for m in self.modules:
            if m.base <= address < m.base + m.size:
                return m
        return None

    def unloaded_at(self, address: int) -> list[ModuleInfo]:
        return [m for m in self.unloaded if m.base <= address < m.base + m.size]


def module(name: str, base: int, size: int, debug_id: str = "0" * 33) -> ModuleInfo:
    return ModuleInfo(
        base=base, size=size, code_file=f"/opt/app/{name}", code_id="", debug_file=name, debug_id=debug_id,
        version=None, filename=name,
    )


def write_sym(tmp_path: Path, name: str, body: str, arch: str = "x86_64", os_name: str = "Linux"):
    """Write a Breakpad .sym file and load it with the real symbol-file parser."""
    debug_id = "0" * 33
    path = tmp_path / f"{name}.sym"
    path.write_text(f"MODULE {os_name} {arch} {debug_id} {name}\n" + body)
    return load_symbol_file(path)


def symbols_by_name(table: dict):
    """A ``symbols_for`` callable answering from ``{module filename: SymbolFile}``."""
    return lambda m: table.get(m.filename)


# -- real minidumps ----------------------------------------------------------------------------------------

def _store_path(root: Path, m: ModuleInfo) -> Path:
    leaf = (m.debug_file or m.code_file).replace("\\", "/").rsplit("/", 1)[-1]
    name = leaf[:-4] + ".sym" if leaf.lower().endswith(".pdb") else leaf + ".sym"
    return root / leaf / m.debug_id / name


def walk_dump(dump: Path, sym_root: Path | None, skip_symbols: frozenset[str] = frozenset()) -> list[list[dict]]:
    """Walk every thread of ``dump`` and return each thread's frames as the reference's JSON."""
    from crashdesk.engine.minidump import Minidump
    from crashdesk.engine.minidump.memory import DumpMemory, MemoryRegion

    md = Minidump.open(dump)
    try:
        loaded: dict[ModuleInfo, object] = {}

        def symbols_for(m: ModuleInfo):
            if sym_root is None or m.filename in skip_symbols:
                return None
            if m not in loaded:
                path = _store_path(sym_root, m)
                loaded[m] = load_symbol_file(path) if path.is_file() else None
            return loaded[m]

        modules = md.modules
        cache = SymbolCache(modules, symbols_for)
        cpu = md.cpu
        os_name = md.system_info.os if md.system_info else ""
        requesting = md.requesting_thread_index()
        dump_thread = md.dump_thread_id()
        out: list[list[dict]] = []
        for index, thread in enumerate(md.threads or []):
            if thread.thread_id == dump_thread:
                out.append([])
                continue
            ctx = md.thread_context(thread)
            if index == requesting and md.exception is not None:
                ctx = md.exception_context() or ctx
            if ctx is None:
                out.append([])
                continue
            memory = None
            if thread.stack_size and thread.stack_rva:
                memory = DumpMemory(md.buf.data, [MemoryRegion(thread.stack_start, thread.stack_size,
                                                               thread.stack_rva)])
            frames = walk_thread(cpu, ctx.registers, memory, modules, symbols_for, os=os_name, cache=cache)
            out.append([frame_json(f, i, cpu, include_registers=False) for i, f in enumerate(frames)])
        return out
    finally:
        md.close()


def frame_differences(got: list[list[dict]], expected: dict, limit: int | None = None) -> tuple[int, int, list]:
    """Compare walked threads with a reference output: (frames compared, frames equal, differences)."""
    total = equal = 0
    diffs = []
    for ti, exp_thread in enumerate(expected.get("threads") or []):
        exp_frames = exp_thread["frames"][:limit]
        got_frames = (got[ti] if ti < len(got) else [])[:limit]
        for fi in range(max(len(exp_frames), len(got_frames))):
            total += 1
            g = got_frames[fi] if fi < len(got_frames) else {}
            e = exp_frames[fi] if fi < len(exp_frames) else {}
            bad = {k: (g.get(k), e.get(k)) for k in FRAME_FIELDS if g.get(k) != e.get(k)}
            if bad:
                diffs.append((ti, fi, bad))
            else:
                equal += 1
    return total, equal, diffs


def pack_words(width: int, *values: int) -> bytes:
    return b"".join(struct.pack("<Q" if width == 8 else "<I", v) for v in values)
