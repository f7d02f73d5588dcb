"""Secrets planted into real dumps from tests/data (byte edits at places the reader finds), for the scrub and
export tests: a Crashpad annotation renamed ``EMail!`` holding an address, bytes below the crashing thread's
stack pointer, a module path under a home folder (01-null-deref, a real Crashpad crash); a token in the
environment stream (linux-mini, a Breakpad Linux dump); bytes in a captured non-stack memory region
(minidump2, a Windows dump: the region stands for heap)."""

from __future__ import annotations

import struct
from pathlib import Path

from crashdesk.engine.minidump import constants as C
from crashdesk.engine.minidump.extras import linux_environ
from crashdesk.engine.minidump.reader import Minidump

DATA = Path(__file__).resolve().parent / "data"
CRASHPAD = DATA / "crashes/01-null-deref/dump.dmp"
BREAKPAD_LINUX = DATA / "minidumps/linux-amd64-mini/linux-mini.dmp"
WINDOWS = DATA / "minidumps/win-x86-minidump2/minidump2.dmp"


def plant_crashpad() -> tuple[bytes, dict[str, str]]:
    data = bytearray(CRASHPAD.read_bytes())
    with Minidump.from_bytes(bytes(data)) as dump:
        e = dump.stream(C.CRASHPAD_INFO)
        srva = struct.unpack_from("<I", data, e.rva + 40)[0]
        for i in range(struct.unpack_from("<I", data, srva)[0]):
            krva, vrva = struct.unpack_from("<II", data, srva + 4 + 8 * i)
            klen = struct.unpack_from("<I", data, krva)[0]
            if bytes(data[krva + 4:krva + 4 + klen]) == b"Vendor":
                data[krva + 4:krva + 10] = b"EMail!"
                assert struct.unpack_from("<I", data, vrva)[0] == 12
                data[vrva + 4:vrva + 16] = b"s3@cret.mail"
        thread = next(t for t in dump.threads if t.thread_id == dump.exception.thread_id)
        sp = dump.exception_context().sp   # Crashpad's thread-list context is the signal handler's
        assert thread.stack_start < sp
        below = thread.stack_rva + (sp - thread.stack_start) - 40
        data[below:below + 24] = b"STACK-SECRET-hunter2-xyz"
        e = dump.stream(C.MODULE_LIST)
        name_rva = struct.unpack_from("<I", data, e.rva + 4 + 20)[0]   # first module's name
        old = dump.modules.modules[0].code_file
        new = "/home/s3cr3tuser-xxxxx" + old[len("/opt/crashfactory-demo"):]
        assert len(new) == len(old)
        data[name_rva + 4:name_rva + 4 + 2 * len(new)] = new.encode("utf-16-le")
    return bytes(data), {"annotation": "s3@cret.mail", "stack": "STACK-SECRET-hunter2-xyz", "path": "s3cr3tuser"}


def plant_environment() -> tuple[bytes, dict[str, str]]:
    data = bytearray(BREAKPAD_LINUX.read_bytes())
    with Minidump.from_bytes(bytes(data)) as dump:
        e = dump.stream(C.LINUX_ENVIRON)
        at = bytes(data).index(b"TERM=xterm", e.rva)
    data[at:at + 10] = b"TOKEN=tk42"
    with Minidump.from_bytes(bytes(data)) as dump:
        assert linux_environ(dump)["TOKEN"] == "tk42"
    return bytes(data), {"environment": "TOKEN=tk42", "hostname": "6deb9e1e1648"}


def plant_heap() -> tuple[bytes, dict[str, str]]:
    data = bytearray(WINDOWS.read_bytes())
    with Minidump.from_bytes(bytes(data)) as dump:
        region = next(r for r in dump.memory.regions if r.base == 0x7C90EB14)
    data[region.file_offset + 16:region.file_offset + 35] = b"HEAP-SECRET-pa55w0r"
    return bytes(data), {"heap": "HEAP-SECRET-pa55w0r"}
