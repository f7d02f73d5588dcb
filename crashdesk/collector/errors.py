"""The collector's exception tree."""

from __future__ import annotations

from crashdesk.errors import CrashDeskError


class CollectorError(CrashDeskError):
    """The collector could not start or serve (port taken, data folder unusable...)."""


class ListenError(CollectorError, OSError):
    """The address cannot be bound (``errno`` as the OS said, e.g. ``EADDRINUSE`` for a taken port)."""

    def __init__(self, err: int | None, message: str) -> None:
        OSError.__init__(self, err, message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class CollectorAlreadyRunning(CollectorError):
    """Another collector already serves this data folder; ``running`` says where it listens."""

    def __init__(self, running) -> None:
        where = running.submit_url or "an address it has not published yet"
        super().__init__(
            f"a collector for {running.data_dir} is already running at {where} (pid {running.pid})"
        )
        self.running = running


class Discarded(Exception):
    """A submission is refused: ``status`` and the Antenna-style reason (``Discarded=<reason>``)."""

    def __init__(self, status: int, reason: str, detail: str = "") -> None:
        super().__init__(f"{status} Discarded={reason}" + (f" ({detail})" if detail else ""))
        self.status = status
        self.reason = reason
        self.detail = detail

    @property
    def body(self) -> str:
        return f"Discarded={self.reason}"


def malformed(reason: str, detail: str = "") -> Discarded:
    """``400 Discarded=malformed_<reason>``."""
    return Discarded(400, f"malformed_{reason}", detail)
