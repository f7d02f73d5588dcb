"""Light, dark, or whatever the system uses: the app's palette.

``system`` follows the desktop's colour scheme (and its changes); ``light`` and ``dark`` force one. Dark mode
uses the Fusion style with a dark palette, which looks the same on every platform.
"""

from __future__ import annotations

from crashdesk.ui.qt import QApplication, QColor, QPalette, Qt

THEMES = ("system", "light", "dark")
SETTINGS_KEY = "appearance/theme"


def dark_palette() -> QPalette:
    p = QPalette()
    role, group = QPalette.ColorRole, QPalette.ColorGroup
    base, window, text = QColor("#1e2227"), QColor("#2a2f35"), QColor("#e6e6e6")
    for r, c in ((role.Window, window), (role.WindowText, text), (role.Base, base),
                 (role.AlternateBase, QColor("#252a30")), (role.ToolTipBase, QColor("#31363d")),
                 (role.ToolTipText, text), (role.Text, text), (role.Button, window), (role.ButtonText, text),
                 (role.BrightText, QColor("#ff6b5b")), (role.Link, QColor("#6fb3ff")),
                 (role.Highlight, QColor("#2f6ea5")), (role.HighlightedText, QColor("#ffffff")),
                 (role.PlaceholderText, QColor("#8a9099"))):
        p.setColor(r, c)
    for r in (role.WindowText, role.Text, role.ButtonText):
        p.setColor(group.Disabled, r, QColor("#7a7f86"))
    return p


def apply_theme(theme: str, app: QApplication | None = None) -> str:
    """Apply ``theme`` (one of :data:`THEMES`; anything else means ``system``) and return the one applied."""
    app = app or QApplication.instance()
    theme = theme if theme in THEMES else "system"
    if app is None:
        return theme
    hints = app.styleHints()
    scheme = {"system": Qt.ColorScheme.Unknown, "light": Qt.ColorScheme.Light, "dark": Qt.ColorScheme.Dark}[theme]
    if hasattr(hints, "setColorScheme"):
        hints.setColorScheme(scheme)
    if theme == "dark":
        app.setStyle("Fusion")
        app.setPalette(dark_palette())
    else:
        app.setPalette(app.style().standardPalette())
    app.setProperty("crashdesk_theme", theme)
    return theme


def is_dark(app: QApplication | None = None) -> bool:
    app = app or QApplication.instance()
    return app is not None and app.palette().color(QPalette.ColorRole.Window).lightness() < 128
