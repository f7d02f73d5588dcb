"""One app per data folder: a second start on the same folder raises the first window and exits.

The first app listens on a local socket named after the (resolved) data folder and the user; a second start
connects, asks the first to raise its window, waits for its answer and exits. Two windows on one store would
run two worker pools against one queue and disagree about the collector, so desktop apps' behaviour is kept.
A socket left by a killed app does not answer: it is removed and this start becomes the first.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

from crashdesk.ui.qt import QLocalServer, QLocalSocket, QObject

RAISE = b"raise\n"
RAISED = b"raised\n"
#: how long a second start waits for the first one's answer
ANSWER_TIMEOUT_MS = 3000


def server_name(data_dir: Path) -> str:
    """The local socket's name for ``data_dir`` (per user: another user's app is not ours to raise)."""
    folder = str(Path(data_dir).expanduser().resolve())
    uid = os.getuid() if hasattr(os, "getuid") else os.environ.get("USERNAME", "")
    return f"crashdesk-{uid}-{hashlib.sha256(folder.encode()).hexdigest()[:20]}"


def ask_running_app_to_raise(data_dir: Path) -> bool:
    """True when an app already open on ``data_dir`` answered and raised its window."""
    sock = QLocalSocket()
    sock.connectToServer(server_name(data_dir))
    if not sock.waitForConnected(ANSWER_TIMEOUT_MS):
        return False
    sock.write(RAISE)
    sock.flush()
    answer = b""
    while RAISED not in answer and sock.waitForReadyRead(ANSWER_TIMEOUT_MS):
        answer += bytes(sock.readAll())
    sock.disconnectFromServer()
    return RAISED in answer


class InstanceServer(QObject):
    """Held by the first app on a data folder: calls ``on_raise`` when a second start asks."""

    def __init__(self, data_dir: Path, on_raise: Callable[[], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.on_raise = on_raise
        self.name = server_name(data_dir)
        self.server = QLocalServer(self)
        self.server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self.server.newConnection.connect(self._on_connection)

    def listen(self) -> bool:
        if self.server.listen(self.name):
            return True
        QLocalServer.removeServer(self.name)  # left by an app that was killed (nobody answered)
        return self.server.listen(self.name)

    def close(self) -> None:
        self.server.close()

    def _on_connection(self) -> None:
        while self.server.hasPendingConnections():
            sock = self.server.nextPendingConnection()
            sock.readyRead.connect(lambda s=sock: self._on_ready(s))
            sock.disconnected.connect(sock.deleteLater)

    def _on_ready(self, sock: QLocalSocket) -> None:
        if RAISE in bytes(sock.peek(64)):
            sock.readAll()
            self.on_raise()
            sock.write(RAISED)
            sock.flush()
        elif sock.bytesAvailable() > 64:  # not one of ours: say nothing, hang up
            sock.abort()
