#!/usr/bin/env python3
"""Render ``resources/app/crashdesk.svg`` into the icons each platform's build needs.

Writes ``crashdesk-256.png`` (Linux, window icon), ``crashdesk.ico`` (Windows: PNG-compressed entries at
16-256 px) and ``crashdesk.icns`` (macOS: PNG-compressed ``ic07``-``ic09`` entries) beside the SVG. Run it
after editing the SVG; the outputs are committed so builds need no renderer.
"""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt  # noqa: E402
from PySide6.QtGui import QGuiApplication, QImage, QPainter  # noqa: E402
from PySide6.QtSvg import QSvgRenderer  # noqa: E402

HERE = Path(__file__).resolve().parents[1] / "resources" / "app"


def render(renderer: QSvgRenderer, size: int) -> bytes:
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(data)


def ico(pngs: dict[int, bytes]) -> bytes:
    sizes = sorted(pngs)
    header = struct.pack("<HHH", 0, 1, len(sizes))
    offset = 6 + 16 * len(sizes)
    entries, blobs = b"", b""
    for size in sizes:
        blob = pngs[size]
        dim = 0 if size >= 256 else size
        entries += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(blob), offset + len(blobs))
        blobs += blob
    return header + entries + blobs


def icns(pngs: dict[int, bytes]) -> bytes:
    kinds = {128: b"ic07", 256: b"ic08", 512: b"ic09"}
    body = b"".join(kinds[s] + struct.pack(">I", 8 + len(pngs[s])) + pngs[s] for s in sorted(kinds) if s in pngs)
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def main() -> int:
    QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(HERE / "crashdesk.svg"))
    pngs = {size: render(renderer, size) for size in (16, 24, 32, 48, 64, 128, 256, 512)}
    (HERE / "crashdesk-256.png").write_bytes(pngs[256])
    (HERE / "crashdesk.ico").write_bytes(ico({s: pngs[s] for s in (16, 24, 32, 48, 64, 128, 256)}))
    (HERE / "crashdesk.icns").write_bytes(icns(pngs))
    print("wrote", ", ".join(p.name for p in sorted(HERE.iterdir())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
