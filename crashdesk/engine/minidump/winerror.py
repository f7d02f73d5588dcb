"""Windows ``GetLastError`` codes (as read from a thread's TEB) spelled as the reference prints them."""

from __future__ import annotations

WIN_ERRORS: dict[int, str] = {
    0: "ERROR_SUCCESS",
    1: "ERROR_INVALID_FUNCTION",
    2: "ERROR_FILE_NOT_FOUND",
    3: "ERROR_PATH_NOT_FOUND",
    4: "ERROR_TOO_MANY_OPEN_FILES",
    5: "ERROR_ACCESS_DENIED",
    6: "ERROR_INVALID_HANDLE",
    8: "ERROR_NOT_ENOUGH_MEMORY",
    14: "ERROR_OUTOFMEMORY",
    18: "ERROR_NO_MORE_FILES",
    32: "ERROR_SHARING_VIOLATION",
    50: "ERROR_NOT_SUPPORTED",
    87: "ERROR_INVALID_PARAMETER",
    109: "ERROR_BROKEN_PIPE",
    122: "ERROR_INSUFFICIENT_BUFFER",
    126: "ERROR_MOD_NOT_FOUND",
    127: "ERROR_PROC_NOT_FOUND",
    183: "ERROR_ALREADY_EXISTS",
    187: "ERROR_SEM_NOT_FOUND",
    203: "ERROR_ENVVAR_NOT_FOUND",
    232: "ERROR_NO_DATA",
    234: "ERROR_MORE_DATA",
    258: "WAIT_TIMEOUT",
    259: "ERROR_NO_MORE_ITEMS",
    997: "ERROR_IO_PENDING",
    1008: "ERROR_NO_TOKEN",
    1168: "ERROR_NOT_FOUND",
    1400: "ERROR_INVALID_WINDOW_HANDLE",
    1450: "ERROR_NO_SYSTEM_RESOURCES",
    10035: "WSAEWOULDBLOCK",
}


def last_error_name(code: int) -> str:
    """The error's symbolic name, or its hex value when it is not in the table."""
    return WIN_ERRORS.get(code, f"{code:#010x}")
