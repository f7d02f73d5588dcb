"""Windows ``GetLastError`` codes (as read from a thread's TEB) spelled as the reference prints them."""

from __future__ import annotations

from crashdesk.engine.minidump.error_tables import WIN_ERROR_FACILITY_WINDOWS


def table_name(table: str, code: int) -> str | None:
    """The name of ``code`` in one of ``windows_error_names``' tables (a line ``<value in hex> <NAME>`` each), or
    None."""
    key = f"\n{code:x} "
    start = table.find(key)
    if start < 0:
        return None
    start += len(key)
    return table[start : table.index("\n", start)]


def table_entries(table: str) -> dict[int, str]:
    """Every value of one of ``windows_error_names``' tables with its name, in the table's order."""
    pairs = (line.split(" ") for line in table.splitlines() if line)
    return {int(value, 16): name for value, name in pairs}


def windows_error_text(code: int) -> str:
    """A Windows error code as the reference names it: winerror.h, else ntstatus.h, else a winerror.h code
    under a known facility (``FACILITY_VISUALCPP / ERROR_MOD_NOT_FOUND``), else ``unknown 0x...``."""
    from crashdesk.engine.minidump.windows_error_names import (  # 5,800 names
        NT_STATUS_WINDOWS,
        WIN_ERROR_WINDOWS,
    )

    name = table_name(WIN_ERROR_WINDOWS, code) or table_name(NT_STATUS_WINDOWS, code)
    if name is not None:
        return name
    if code & 0xF0000000:
        facility = WIN_ERROR_FACILITY_WINDOWS.get((code & 0x0FFF0000) >> 16)
        error = table_name(WIN_ERROR_WINDOWS, code & 0xFFFF)
        if facility is not None and error is not None:
            return f"{facility} / {error}"
    return f"unknown {code:#010x}"


def last_error_name(code: int) -> str:
    """A thread's last error value as the reference prints it."""
    return windows_error_text(code)
