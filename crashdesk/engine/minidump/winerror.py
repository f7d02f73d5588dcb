"""Windows ``GetLastError`` codes (as read from a thread's TEB) spelled as the reference prints them."""

from __future__ import annotations

from crashdesk.engine.minidump.error_tables import WIN_ERROR_FACILITY_WINDOWS


def windows_error_text(code: int) -> str:
    """A Windows error code as the reference names it: winerror.h, else ntstatus.h, else a winerror.h code
    under a known facility (``FACILITY_VISUALCPP / ERROR_MOD_NOT_FOUND``), else ``unknown 0x...``."""
    from crashdesk.engine.minidump.windows_error_names import (  # 5,800 names
        NT_STATUS_WINDOWS,
        WIN_ERROR_WINDOWS,
    )

    name = WIN_ERROR_WINDOWS.get(code) or NT_STATUS_WINDOWS.get(code)
    if name is not None:
        return name
    if code & 0xF0000000:
        facility = WIN_ERROR_FACILITY_WINDOWS.get((code & 0x0FFF0000) >> 16)
        error = WIN_ERROR_WINDOWS.get(code & 0xFFFF)
        if facility is not None and error is not None:
            return f"{facility} / {error}"
    return f"unknown {code:#010x}"


def last_error_name(code: int) -> str:
    """A thread's last error value as the reference prints it."""
    return windows_error_text(code)
