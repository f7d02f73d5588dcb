"""Stack unwinding and frame symbolication, matching rust-minidump's ``minidump-stackwalk``.

:func:`walk_thread` unwinds one thread (context frame, then STACK WIN / STACK CFI, frame pointers and stack
scanning, per CPU in ``amd64``, ``x86``, ``arm64`` and ``arm``); :func:`frame_json` renders a frame as the
reference's JSON. The contracts with the minidump reader and the symbol files are in :mod:`.api` and
:mod:`crashdesk.engine.symbols_api`.
"""

from crashdesk.engine.unwind.api import InlineFrame, MemoryReader, ModuleInfo, ModuleMap, StackFrame
from crashdesk.engine.unwind.cpu import UnsupportedCpu, cpu_spec
from crashdesk.engine.unwind.frame_json import frame_json, hex_word
from crashdesk.engine.unwind.symbolize import SymbolCache
from crashdesk.engine.unwind.walker import walk_thread

__all__ = [
    "InlineFrame",
    "MemoryReader",
    "ModuleInfo",
    "ModuleMap",
    "StackFrame",
    "SymbolCache",
    "UnsupportedCpu",
    "cpu_spec",
    "frame_json",
    "hex_word",
    "walk_thread",
]
