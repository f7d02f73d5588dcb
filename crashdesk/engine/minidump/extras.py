"""Text and vendor streams: Linux ``/proc`` copies, Crashpad annotations, macOS crash info, soft errors.

Each function takes an open :class:`~crashdesk.engine.minidump.reader.Minidump` and decodes one stream on
demand; a damaged stream yields None (and a note on the dump), never an exception.
"""

from __future__ import annotations

import struct

from crashdesk.engine.minidump import constants as C
from crashdesk.engine.minidump._io import cstring
from crashdesk.engine.minidump.errors import CorruptMinidumpError
from crashdesk.engine.minidump.reader import Minidump
from crashdesk.engine.minidump.records import CrashpadInfo, MacCrashInfoRecord

MAX_TEXT_STREAM = 4 << 20
MAX_DICT_ENTRIES = 4096
MAC_CRASH_INFO_MAX_RECORDS = 20
MAC_CRASH_INFO_STRING_MAX = 8192


def text_stream(dump: Minidump, stream_type: int) -> str | None:
    raw = dump.stream_bytes(stream_type, MAX_TEXT_STREAM)
    if raw is None:
        return None
    return raw.decode("utf-8", errors="replace")


def linux_cpu_info(dump: Minidump) -> str | None:
    return text_stream(dump, C.LINUX_CPU_INFO)


def linux_proc_status(dump: Minidump) -> dict[str, str] | None:
    text = text_stream(dump, C.LINUX_PROC_STATUS)
    if text is None:
        return None
    out = {}
    for line in text.split("\n"):
        key, sep, value = line.partition(":")
        if sep:
            out[key.strip()] = value.strip()
    return out


def _maps_line_ok(line: str) -> bool:
    # 0.25.0 (procfs) needs a sixth space-separated field, even an empty one: "... 0 " but not "... 0".
    if len(line.split(" ", 5)) < 6:
        return False
    parts = line.split(None, 5)
    if len(parts) < 5:
        return False
    lo, sep, hi = parts[0].partition("-")
    dev_major, dev_sep, dev_minor = parts[3].partition(":")
    try:
        int(lo, 16), int(hi, 16), int(parts[2], 16), int(dev_major, 16), int(dev_minor, 16), int(parts[4])
    except ValueError:
        return False
    return bool(sep and dev_sep)


def linux_maps(dump: Minidump) -> list[str] | None:
    """The lines of the ``/proc/<pid>/maps`` copy; None when absent or when any line is malformed (the
    reference then drops the whole stream, e.g. a writer that cut the last line short)."""
    raw = dump.stream_bytes(C.LINUX_MAPS, MAX_TEXT_STREAM)
    if raw is None:
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        dump.notes.append("linux maps stream is not UTF-8; ignored")
        return None
    lines = [line for line in text.split("\n") if line.strip()]
    if not all(_maps_line_ok(line) for line in lines):
        dump.notes.append("linux maps stream has a malformed line; ignored")
        return None
    return lines


def linux_cmdline(dump: Minidump) -> list[str] | None:
    raw = dump.stream_bytes(C.LINUX_CMD_LINE, MAX_TEXT_STREAM)
    if raw is None:
        return None
    return [p.decode("utf-8", errors="replace") for p in raw.rstrip(b"\0").split(b"\0")]


def linux_environ(dump: Minidump) -> dict[str, str] | None:
    raw = dump.stream_bytes(C.LINUX_ENVIRON, MAX_TEXT_STREAM)
    if raw is None:
        return None
    out = {}
    for item in raw.split(b"\0"):
        if b"=" in item:
            k, _, v = item.partition(b"=")
            out[k.decode("utf-8", errors="replace")] = v.decode("utf-8", errors="replace")
    return out


def linux_auxv(dump: Minidump) -> dict[int, int] | None:
    raw = dump.stream_bytes(C.LINUX_AUXV, 1 << 16)
    if raw is None:
        return None
    width = dump.pointer_width
    fmt = "<QQ" if width == 8 else "<II"
    step = 2 * width
    out = {}
    for off in range(0, len(raw) - step + 1, step):
        key, value = struct.unpack_from(fmt, raw, off)
        if key == 0:
            break
        out[key] = value
    return out


def lsb_release(dump: Minidump) -> dict[str, str] | None:
    """``{id, release, codename, description}`` from the lsb-release (or os-release) copy."""
    text = text_stream(dump, C.LINUX_LSB_RELEASE)
    if text is None:
        return None
    values: dict[str, str] = {}
    for line in text.split("\n"):
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip().strip('"')
    pick = {
        "id": ("DISTRIB_ID", "ID"),
        "release": ("DISTRIB_RELEASE", "VERSION_ID"),
        "codename": ("DISTRIB_CODENAME", "VERSION_CODENAME"),
        "description": ("DISTRIB_DESCRIPTION", "PRETTY_NAME"),
    }
    out = {}
    for field, keys in pick.items():
        out[field] = next((values[k] for k in keys if k in values), "")
    return out


def microcode_version(dump: Minidump) -> int | None:
    text = linux_cpu_info(dump)
    if not text:
        return None
    for line in text.split("\n"):
        key, sep, value = line.partition(":")
        if sep and key.strip() == "microcode":
            try:
                return int(value.strip(), 0)
            except ValueError:
                return None
    return None


def linux_pid(dump: Minidump) -> int | None:
    status = linux_proc_status(dump)
    if status and status.get("Pid", "").isdigit():
        return int(status["Pid"])
    return None


# -- Crashpad --------------------------------------------------------------------------------------


def _simple_dictionary(dump: Minidump, size: int, rva: int) -> dict[str, str]:
    if size < 4 or rva == 0:
        return {}
    count = dump.buf.u32(rva, "annotation dictionary")
    if count > MAX_DICT_ENTRIES or 4 + count * 8 > size:
        raise CorruptMinidumpError(f"annotation dictionary claims {count} entries in {size} bytes")
    out = {}
    for i in range(count):
        krva, vrva = dump.buf.unpack("II", rva + 4 + 8 * i, "annotation")
        key = dump.buf.utf8_string(krva)
        value = dump.buf.utf8_string(vrva)
        if key is not None and value is not None:
            out[key.rstrip("\0")] = value.rstrip("\0")
    return out


def _string_list(dump: Minidump, size: int, rva: int) -> list[str]:
    if size < 4 or rva == 0:
        return []
    count = dump.buf.u32(rva, "annotation list")
    if count > MAX_DICT_ENTRIES or 4 + count * 4 > size:
        raise CorruptMinidumpError(f"annotation list claims {count} entries in {size} bytes")
    out = []
    for i in range(count):
        s = dump.buf.utf8_string(dump.buf.u32(rva + 4 + 4 * i))
        if s is not None:
            out.append(s.rstrip("\0"))
    return out


def _annotation_objects(dump: Minidump, size: int, rva: int) -> dict[str, str]:
    if size < 4 or rva == 0:
        return {}
    count = dump.buf.u32(rva, "annotation objects")
    if count > MAX_DICT_ENTRIES or 4 + count * 12 > size:
        raise CorruptMinidumpError(f"annotation object list claims {count} entries in {size} bytes")
    out = {}
    for i in range(count):
        nrva, typ, _res, vrva = dump.buf.unpack("IHHI", rva + 4 + 12 * i, "annotation object")
        name = dump.buf.utf8_string(nrva)
        if name is None or typ != 1:
            continue
        head = dump.buf.try_unpack("I", vrva)
        if head is None or head[0] > MAX_TEXT_STREAM:
            continue
        out[name.rstrip("\0")] = cstring(dump.buf.clipped(vrva + 4, head[0]))
    return out


def _uuid_text(raw: bytes) -> str:
    """A GUID stored little-endian (first three fields) as ``xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx``."""
    d1, d2, d3 = struct.unpack_from("<IHH", raw, 0)
    tail = raw[8:16].hex()
    return f"{d1:08x}-{d2:04x}-{d3:04x}-{tail[:4]}-{tail[4:]}"


def crashpad_info(dump: Minidump) -> CrashpadInfo | None:
    """The Crashpad info stream (process and per-module annotations), or None."""
    e = dump.stream(C.CRASHPAD_INFO)
    if e is None:
        return None

    def parse() -> CrashpadInfo:
        if e.size < 52:
            raise CorruptMinidumpError("crashpad info stream is too small")
        version = dump.buf.u32(e.rva, "crashpad info")
        report = _uuid_text(dump.buf.bytes_at(e.rva + 4, 16))
        client = _uuid_text(dump.buf.bytes_at(e.rva + 20, 16))
        ssize, srva, msize, mrva = dump.buf.unpack("IIII", e.rva + 36, "crashpad info")
        info = CrashpadInfo(version, report, client, _simple_dictionary(dump, ssize, srva))
        if msize >= 4 and mrva:
            count = dump.buf.u32(mrva, "crashpad module list")
            if count > MAX_DICT_ENTRIES or 4 + count * 12 > msize:
                raise CorruptMinidumpError(f"crashpad module list claims {count} entries in {msize} bytes")
            for i in range(count):
                index, lsize, lrva = dump.buf.unpack("III", mrva + 4 + 12 * i, "crashpad module link")
                if lsize < 28:
                    continue
                _ver, la_size, la_rva, sa_size, sa_rva, ao_size, ao_rva = dump.buf.unpack(
                    "7I", lrva, "crashpad module info"
                )
                lst = _string_list(dump, la_size, la_rva)
                simple = _simple_dictionary(dump, sa_size, sa_rva)
                objects = _annotation_objects(dump, ao_size, ao_rva)
                if lst:
                    info.module_list_annotations[index] = lst
                if simple:
                    info.module_annotations[index] = simple
                if objects:
                    info.module_annotation_objects[index] = objects
        return info

    return dump._optional("crashpad info", parse)


def annotations(dump: Minidump) -> dict[str, str]:
    """Crash metadata from the Crashpad info stream as one flat ``{key: value}`` map.

    Process-level simple annotations win; per-module simple annotations and string annotation objects
    fill in keys not set at process level (Crashpad clients put e.g. ``prod``/``ver`` in either place).
    """
    info = crashpad_info(dump)
    if info is None:
        return {}
    out: dict[str, str] = {}
    for per_module in (info.module_annotations, info.module_annotation_objects):
        for _index, mapping in sorted(per_module.items()):
            for k, v in mapping.items():
                out.setdefault(k, v)
    merged = dict(info.simple_annotations)
    for k, v in out.items():
        merged.setdefault(k, v)
    return merged


# -- macOS -----------------------------------------------------------------------------------------


def mac_crash_info(dump: Minidump) -> list[MacCrashInfoRecord] | None:
    e = dump.stream(C.MAC_CRASH_INFO)
    if e is None:
        return None

    def parse() -> list[MacCrashInfoRecord]:
        _stype, count, start_size = dump.buf.unpack("III", e.rva, "mac crash info")
        if count > MAC_CRASH_INFO_MAX_RECORDS:
            raise CorruptMinidumpError(f"mac crash info claims {count} records")
        records = []
        for i in range(count):
            rsize, rrva = dump.buf.unpack("II", e.rva + 12 + 8 * i, "mac crash info record")
            if rrva + rsize > dump.buf.size:
                raise CorruptMinidumpError("a mac crash info record lies past the end of the file")
            raw = dump.buf.clipped(rrva, min(rsize, 5 * MAC_CRASH_INFO_STRING_MAX + start_size))
            if len(raw) < 16:
                continue
            _st, version = struct.unpack_from("<QQ", raw, 0)
            if start_size < (16 if version < 4 else 32 if version == 4 else 40):
                raise CorruptMinidumpError(f"mac crash info records are {start_size} bytes, too small")
            thread = dialog = abort = None
            if version >= 4 and len(raw) >= 32:
                thread, dialog = struct.unpack_from("<QQ", raw, 16)
            if version >= 5 and len(raw) >= 40:
                abort = struct.unpack_from("<Q", raw, 32)[0]
            strings = raw[start_size:].split(b"\0")
            try:
                texts = [s[:MAC_CRASH_INFO_STRING_MAX].decode("utf-8") for s in strings[:5]]
            except UnicodeDecodeError as exc:
                raise CorruptMinidumpError("a mac crash info string is not UTF-8") from exc
            texts += [""] * (5 - len(texts))
            records.append(
                MacCrashInfoRecord(thread, dialog, abort, *[t or None for t in texts])  # type: ignore[arg-type]
            )
        return records

    return dump._optional("mac crash info", parse)


def mac_boot_args(dump: Minidump) -> str | None:
    e = dump.stream(C.MAC_BOOTARGS)
    if e is None:
        return None
    head = dump.buf.try_unpack("IQ", e.rva)
    if head is None:
        return None
    return dump.buf.string(head[1])


def soft_errors(dump: Minidump):
    raw = dump.stream_bytes(C.SOFT_ERRORS, MAX_TEXT_STREAM)
    if raw is None:
        return None
    import json

    try:
        return json.loads(raw.decode("utf-8").rstrip("\0"))
    except ValueError:  # includes UnicodeDecodeError
        dump.notes.append("soft errors stream is not JSON")
        return None


def proc_limits(dump: Minidump) -> dict | None:
    """``{limits: [{name, soft, hard, unit}]}`` from a ``/proc/<pid>/limits`` copy."""
    text = text_stream(dump, C.LINUX_LIMITS)
    if text is None:
        return None
    lines = text.split("\n")
    if not lines:
        return {"limits": []}
    header = lines[0]
    soft_at = header.find("Soft Limit")
    hard_at = header.find("Hard Limit")
    unit_at = header.find("Units")
    limits = []
    if min(soft_at, hard_at, unit_at) < 0:
        return {"limits": []}
    for line in lines[1:]:
        if not line.strip():
            continue
        limits.append(
            {
                "name": line[:soft_at].strip(),
                "soft": line[soft_at:hard_at].strip(),
                "hard": line[hard_at:unit_at].strip(),
                "unit": line[unit_at:].strip(),
            }
        )
    return {"limits": limits}
