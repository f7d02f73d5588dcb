"""CrashDesk's icons, drawn from SVG kept here so the installed package needs no data files.

``resources/icons/`` in the repository holds the same artwork as files for packaging (window icon, .ico).
"""

from __future__ import annotations

from crashdesk.ui.qt import QByteArray, QIcon, QImage, QPainter, QPixmap, QSvgRenderer, Qt

APP_SVG = """<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">
  <rect x="4" y="6" width="56" height="52" rx="8" fill="#1f3b57"/>
  <rect x="4" y="6" width="56" height="12" rx="6" fill="#2c5a85"/>
  <circle cx="12" cy="12" r="2.5" fill="#ff6b5b"/><circle cx="20" cy="12" r="2.5" fill="#f6c343"/>
  <path d="M14 44 L24 30 L31 38 L38 26 L50 44" fill="none" stroke="#ff6b5b" stroke-width="4"
        stroke-linejoin="round" stroke-linecap="round"/>
  <rect x="12" y="48" width="40" height="4" rx="2" fill="#9fc3e7"/>
</svg>"""


def svg_icon(svg: str, sizes: tuple[int, ...] = (16, 24, 32, 48, 64, 128, 256)) -> QIcon:
    icon = QIcon()
    if QSvgRenderer is None:
        return icon
    renderer = QSvgRenderer(QByteArray(svg.encode()))
    for size in sizes:
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        renderer.render(painter)
        painter.end()
        icon.addPixmap(QPixmap.fromImage(image))
    return icon


def app_icon() -> QIcon:
    return svg_icon(APP_SVG)
