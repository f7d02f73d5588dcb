"""No black window before the first paint on X11 (issue 29).

Qt's xcb plugin creates top-level X windows with no background (``back_pixmap = None``), so between the window
being mapped and Qt's first frame reaching it the X server shows whatever was there: black on a fresh screen,
for 110–240 ms measured with ``scripts/realwindow_xvfb.py``. Giving the X window a background pixel (the
palette's window colour) makes the X server fill it the moment it is mapped; Qt's frame then paints over it.

Only on the ``xcb`` platform, only for a 24-bit TrueColor visual (the pixel is then ``0xRRGGBB``), and any
failure (no libxcb, no native interface in this Qt) leaves the window as Qt made it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from typing import Any

XCB_CW_BACK_PIXEL = 2


def _libxcb() -> Any:
    name = ctypes.util.find_library("xcb") or "libxcb.so.1"
    lib = ctypes.CDLL(name)
    lib.xcb_change_window_attributes.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint32,
                                                 ctypes.POINTER(ctypes.c_uint32)]
    lib.xcb_change_window_attributes.restype = ctypes.c_uint32  # xcb_void_cookie_t: one unsigned int
    lib.xcb_flush.argtypes = [ctypes.c_void_p]
    lib.xcb_flush.restype = ctypes.c_int
    return lib


def set_native_background(widget: Any) -> bool:
    """Give ``widget``'s top-level X window the palette's window colour as its X background (creating the
    native window now if needed); True when it was set. Call before ``show()``."""
    from crashdesk.ui.qt import QApplication, QPalette

    app = QApplication.instance()
    if app is None or app.platformName() != "xcb" or widget.depth() != 24:
        return False
    try:
        native = app.nativeInterface()
        connection = native.connection() if native is not None and hasattr(native, "connection") else None
        if not connection:
            return False
        conn = int(connection)
        window_id = int(widget.winId())
        lib = _libxcb()
    except (OSError, TypeError, ValueError, AttributeError):
        return False
    colour = widget.palette().color(QPalette.ColorRole.Window)
    pixel = (ctypes.c_uint32 * 1)((colour.red() << 16) | (colour.green() << 8) | colour.blue())
    lib.xcb_change_window_attributes(conn, window_id, XCB_CW_BACK_PIXEL, pixel)
    lib.xcb_flush(conn)
    return True
