"""The human-readable report of ``minidump-stackwalk`` 0.25.0 (``--human``, ``--brief``), line for line.

:func:`render_human` turns a processed crash made with ``process_minidump(..., report=True)`` (every frame's
registers, the source-line offsets and the ``_report`` facts the JSON does not carry: process uptime, the
threads the walk skipped, unimplemented/unknown streams, whether the crashing instruction moved the
instruction pointer) into the same text the reference prints, section by section.
"""

from __future__ import annotations

import json

from crashdesk.engine.minidump import constants as C

_TRUST = {
    "context": "given as instruction pointer in context",
    "prewalked": "recovered by external stack walker",
    "cfi": "call frame info",
    "cfi_scan": "call frame info with scanning",
    "frame_pointer": "previous frame's frame pointer",
    "scan": "stack scanning",
    "none": "unknown",
    "non": "unknown",
}

# General-purpose registers of each CPU, in the order the reference prints them.
_REGISTERS = {
    "x86": ("eip", "esp", "ebp", "ebx", "esi", "edi", "eax", "ecx", "edx", "eflags"),
    "amd64": ("rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11", "r12", "r13",
              "r14", "r15", "rip"),
    "arm": ("r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r12", "fp", "sp", "lr", "pc"),
    "arm64": (*(f"x{i}" for i in range(29)), "fp", "lr", "sp", "pc"),
}  # fmt: skip

_INCONSISTENCIES = {
    "int_div_by_zero_not_possible":
        "Crash reason is an integer division by zero but the crashing instruction is not a division",
    "priv_instruction_crash_without_priv_instruction":
        "Crash reason is a privileged instruction but crashing instruction is not a privileged one",
    "non_canonical_address_falsely_reported":
        "Crash address is reported as a non-canonical x86-64 address but the actual address is a canonical one",
    "access_violation_when_access_allowed": "Crash reason is access violation exception but access is allowed",
    "crashing_access_not_found_in_memory_accesses":
        "Crash address not found among the memory accesses of the crashing instruction",
}  # fmt: skip

# Known stream types the reference lists as "Unimplemented streams encountered" (its own list).
_UNIMPLEMENTED = {
    0: "UnusedStream", 1: "ReservedStream0", 2: "ReservedStream1", 0xFFFF: "LastReservedStream",
    8: "ThreadExListStream", 10: "CommentStreamA", 11: "CommentStreamW", 13: "FunctionTable",
    18: "HandleOperationListStream", 19: "TokenStream", 20: "JavaScriptDataStream", 21: "SystemMemoryInfoStream",
    22: "ProcessVmCountersStream", 23: "IptTraceStream",
    **{0x8000 + i: name for i, name in enumerate((
        "ceStreamNull", "ceStreamSystemInfo", "ceStreamException", "ceStreamModuleList", "ceStreamProcessList",
        "ceStreamThreadList", "ceStreamThreadContextList", "ceStreamThreadCallStackList",
        "ceStreamMemoryVirtualList", "ceStreamMemoryPhysicalList", "ceStreamBucketParameters",
        "ceStreamProcessModuleMap", "ceStreamDiagnosisList"))},
    0x47670006: "LinuxCmdLine", 0x47670008: "LinuxAuxv", 0x4767000A: "LinuxDsoDebug",
}  # fmt: skip
_KNOWN = set(C.STREAM_NAMES) | set(_UNIMPLEMENTED)


def _vendor(stream_type: int) -> str:
    if stream_type <= 0xFFFF:
        return "Official"
    return {0x47670000: "Google Extension", 0x4D7A0000: "Mozilla Extension"}.get(
        stream_type & 0xFFFF0000, "Unknown Extension"
    )


def stream_listing(dump) -> tuple[list[tuple[int, str, str, int]], list[tuple[int, str, int]]]:
    """(unimplemented, unknown) streams of the directory as the reference keeps it: one entry per stream
    type (the last one of a type), in type order, whether or not its bytes are in the file."""
    _sig, _version, count, dir_rva = dump.buf.unpack("IIII", 0, "header")
    by_type: dict[int, int] = {}
    for i in range(count):
        try:
            stype, _size, rva = dump.buf.unpack("III", dir_rva + 12 * i, "stream directory")
        except Exception:  # noqa: BLE001 - the reader already refused a directory that does not fit
            break
        by_type[stype] = rva
    unimplemented = [(t, _UNIMPLEMENTED[t], _vendor(t), rva) for t, rva in sorted(by_type.items())
                     if t in _UNIMPLEMENTED]  # fmt: skip
    unknown = [(t, _vendor(t), rva) for t, rva in sorted(by_type.items()) if t not in _KNOWN]
    return unimplemented, unknown


def report_facts(dump, skipped_threads: list[int], ip_no_update: bool) -> dict:
    """What the report shows that the JSON does not hold."""
    unimplemented, unknown = stream_listing(dump)
    misc = dump.misc_info
    uptime = None
    if misc is not None and misc.process_create_time is not None:
        uptime = max(0, dump.time_date_stamp - misc.process_create_time)
    return {
        "process_uptime": uptime,
        "skipped_threads": skipped_threads,
        "unimplemented_streams": unimplemented,
        "unknown_streams": unknown,
        "ip_no_update": ip_no_update,
    }


def _basename(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def _registers(cpu: str, regs: dict) -> list[str]:
    order = _REGISTERS.get(cpu, ())
    names = [r for r in order if r in regs] + [r for r in regs if r not in order]
    lines, line = [], ""
    for name in names:
        piece = f" {name:>6} = {regs[name]}"
        if len(line) + len(piece) > 80:
            lines.append(f" {line}")
            line = ""
        line += piece
    if line:
        lines.append(f" {line}")
    return lines


def _stack(frames: list[dict], cpu: str) -> list[str]:
    if not frames:
        return ["<no frames>"]
    out: list[str] = []
    number = 0
    for frame in frames:
        module = frame.get("module")
        for inline in frame.get("inlines") or []:
            text = f"{number:2}  {module or ''}!{inline['function']}"
            if inline.get("file") is not None and inline.get("line") is not None:
                text += f" [{_basename(inline['file'])} : {inline['line']}]"
            out += [text, "    Found by: inlining"]
            number += 1
        if module is not None:
            text = module
            if frame.get("function") is not None and frame.get("function_offset") is not None:
                text += f"!{frame['function']}"
                if frame.get("file") is not None and frame.get("source_line_offset") is not None:
                    text += f" [{_basename(frame['file'])} : {frame['line']} + {frame['source_line_offset']:#x}]"
                else:
                    text += f" + {int(frame['function_offset'], 16):#x}"
            else:
                text += f" + {int(frame['module_offset'], 16):#x}"
        else:
            text = f"{int(frame['offset'], 16):#x}"
            for hit in frame.get("unloaded_modules") or []:
                text += f" (unloaded {hit['module']}@" + "|".join(f"{int(o, 16):#x}" for o in hit["offsets"]) + ")"
        out.append(f"{number:2}  {text}")
        number += 1
        out += _registers(cpu, frame.get("registers") or {})
        out.append(f"    Found by: {_TRUST.get(frame['trust'], frame['trust'])}")
    return out


def _crash_lines(ci: dict, facts: dict) -> list[str]:
    out = [f"Crash reason:  {ci['type']}"]
    adjusted = ci.get("adjusted_address")
    if adjusted:
        out.append(f"Crash address: {ci['address']} **")
        if adjusted.get("kind") == "non-canonical":
            out.append(f"    ** Non-canonical address detected: {adjusted['address']}")
        else:
            out.append(f"    ** Null pointer detected with offset: {adjusted['offset']}")
    else:
        out.append(f"Crash address: {ci['address']}")
    if ci.get("instruction") is not None:
        out.append(f"Crashing instruction: `{ci['instruction']}`")
    accesses = ci.get("memory_accesses")
    if accesses is not None:
        if accesses:
            out.append("Memory accessed by instruction:")
            for i, access in enumerate(accesses):
                out.append(f"  {i}. Address: {access['address']}")
                out.append(f"     Size: {access['size']}" if access.get("size") is not None else "     Size: Unknown")
                if access.get("is_likely_guard_page"):
                    out.append("     This address falls in a likely guard page.")
                if access.get("access_type"):
                    out.append(f"     Access type: {access['access_type'].capitalize()}")
        else:
            out.append("No memory accessed by instruction")
    update = ci.get("instruction_pointer_update")
    if update is not None:
        out.append("Instruction pointer update done by instruction:")
        out.append(f"  Address: {update['address']}")
        if update.get("is_likely_guard_page"):
            out.append("     This address falls in a likely guard page.")
    elif facts.get("ip_no_update"):
        out.append("No instruction pointer update by instruction")
    flips = ci.get("possible_bit_flips") or []
    if flips:
        out.append("Crashing address may be the result of a flipped bit:")
        ranked = sorted(flips, key=lambda b: (-(b.get("confidence") or 0.0), int(b["address"], 16)))
        for i, b in enumerate(ranked):
            register = f"{b['source_register']}=" if b.get("source_register") else ""
            out.append(f"  {i}. Valid address: {register}{b['address']} ({(b.get('confidence') or 0.0):.3f})")
    inconsistencies = ci.get("crash_inconsistencies") or []
    if inconsistencies:
        out.append("Crash is inconsistent:")
        out += [f"  {_INCONSISTENCIES.get(name, name)}" for name in inconsistencies]
    return out


def _hex_decimal(value: str | None) -> str | None:
    """The reference prints these Mac crash-info numbers as ``0x`` followed by the decimal value."""
    return None if value is None else str(int(value, 16))


def _mac_lines(info: dict) -> list[str]:
    out = ["Mac Crash Info:"]
    for i, r in enumerate(info.get("records") or []):
        out.append(f"  Record {i}")
        for key, label in (("thread", "thread"), ("dialog_mode", "dialog mode"), ("abort_cause", "abort_cause")):
            if r.get(key) is not None:
                out.append(f"    {label}: 0x{_hex_decimal(r[key])}")
        for key, label in (("module", "module"), ("message", "message"), ("signature_string", "signature string"),
                           ("backtrace", "backtrace"), ("message2", "message2")):  # fmt: skip
            if r.get(key) is not None:
                out.append(f"    {label}: {r[key]}")
    out.append("")
    return out


def render_human(result: dict, *, brief: bool = False, cert_info: dict[str, str] | None = None) -> str:
    """The reference's ``--human`` (``brief``: ``--human --brief``) text of a processed crash."""
    facts = result.get("_report") or {}
    certs = cert_info or {}
    si = result["system_info"]
    cpu = si.get("cpu_arch")
    out = [f"Operating system: {si['os']}"]
    if si.get("os_ver") is not None:
        out.append(f"                  {si['os_ver']}")
    out.append(f"CPU: {cpu}")
    if si.get("cpu_info") is not None:
        out.append(f"     {si['cpu_info']}")
    out.append(f"     {si['cpu_count']} CPU{'s' if si['cpu_count'] > 1 else ''}")
    lsb = result.get("lsb_release")
    if lsb:
        out.append(f"Linux {lsb['id']} {lsb['release']} - {lsb['codename']} ({lsb['description']})")
    out.append("")
    ci = result["crash_info"]
    if ci.get("type") is not None:
        out += _crash_lines(ci, facts)
    else:
        out.append("No crash")
    if ci.get("assertion") is not None:
        out.append(f"Assertion: {ci['assertion']}")
    if result.get("mac_crash_info"):
        out += _mac_lines(result["mac_crash_info"])
    if result.get("mac_boot_args") is not None:
        out += [f"Mac Boot Args: {result['mac_boot_args'] or ''}", ""]
    uptime = facts.get("process_uptime")
    out.append(f"Process uptime: {uptime} seconds" if uptime is not None else "Process uptime: not available")
    out.append("")
    if result.get("linux_memory_map_count") is not None:
        out += [f"Linux memory map count: {result['linux_memory_map_count']}", ""]

    threads = result.get("threads") or []
    requesting = ci.get("crashing_thread")
    if requesting is not None and requesting < len(threads):
        t = threads[requesting]
        state = "crashed" if ci.get("type") is not None else "requested dump, did not crash"
        out.append(f"Thread {requesting} {t.get('thread_name') or ''} ({state}) - tid: {t['thread_id']}")
        out += _stack(t["frames"], cpu)
        out.append("")
    if brief:
        return "\n".join(out) + "\n"
    skipped = set(facts.get("skipped_threads") or ())
    for i, t in enumerate(threads):
        if i == requesting or i in skipped:
            continue
        out.append(f"Thread {i} {t.get('thread_name') or ''} - tid: {t['thread_id']}")
        out += _stack(t["frames"], cpu)
    out += ["", "Loaded modules:"]
    modules = result.get("modules") or []
    main = result.get("main_module")
    main_base = int(modules[main]["base_addr"], 16) if modules and main is not None else None
    for m in sorted(modules, key=lambda m: int(m["base_addr"], 16)):
        base = int(m["base_addr"], 16)
        line = f"{base:#010x} - {int(m['end_addr'], 16) - 1:#010x}  {m['filename']}  {m.get('version') or '???'}"
        if base == main_base:
            line += "  (main)"
        if m["filename"] in certs:
            line += f" ({certs[m['filename']]})"
        out.append(line)
    out += ["", "Unloaded modules:"]
    for m in sorted(result.get("unloaded_modules") or [], key=lambda m: int(m["base_addr"], 16)):
        name = _basename(m["filename"])
        line = f"{int(m['base_addr'], 16):#010x} - {int(m['end_addr'], 16) - 1:#010x}  {name}"
        if name in certs:
            line += f" ({certs[name]})"
        out.append(line)
    if facts.get("unimplemented_streams"):
        out += ["", "Unimplemented streams encountered:"]
        out += [f"Stream 0x{t:08x} {name} ({vendor}) @ 0x{rva:08x}"
                for t, name, vendor, rva in facts["unimplemented_streams"]]  # fmt: skip
    if facts.get("unknown_streams"):
        out += ["", "Unknown streams encountered:"]
        out += [f"Stream 0x{t:08x} ({vendor}) @ 0x{rva:08x}" for t, vendor, rva in facts["unknown_streams"]]
    soft = result.get("soft_errors")
    if isinstance(soft, list) and soft:
        out += ["", "Soft errors were encountered when minidump was written:"]
        out.append(json.dumps(soft, indent=2, ensure_ascii=False))
    return "\n".join(out) + "\n"
