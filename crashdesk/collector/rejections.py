"""The log of refused submissions, for the app's collector panel: JSON Lines in
``<data>/collector/rejections.jsonl`` (rotated to ``rejections.1.jsonl`` past 1 MiB).

Only the refusal is recorded (time, status, reason, peer, user agent, size), never the submission's content.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from pathlib import Path
from typing import Any

MAX_LOG_BYTES = 1024 * 1024


def log_path(data_dir: Path) -> Path:
    return Path(data_dir) / "collector" / "rejections.jsonl"


class RejectionLog:
    """Appends one JSON line per refused submission; thread-safe."""

    def __init__(self, data_dir: Path) -> None:
        self.path = log_path(data_dir)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def record(self, *, status: int, reason: str, detail: str = "", peer: str = "", user_agent: str = "",
               size: int | None = None, path: str = "/submit") -> dict[str, Any]:
        entry = {
            "time": dt.datetime.now(dt.UTC).isoformat(timespec="microseconds"),
            "status": status, "reason": reason, "detail": detail[:300], "peer": peer,
            "user_agent": user_agent[:300], "size": size, "path": path[:200],
        }
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        with self._lock:
            try:
                if self.path.exists() and self.path.stat().st_size > MAX_LOG_BYTES:
                    os.replace(self.path, self.path.with_name("rejections.1.jsonl"))
                with open(self.path, "a", encoding="utf-8") as fh:
                    fh.write(line)
            except OSError:
                pass  # the log is informational; a full disk must not turn a 400 into a 500
        return entry


def recent_rejections(data_dir: Path, limit: int = 100) -> list[dict[str, Any]]:
    """The latest refusals, newest first (what the collector panel lists)."""
    path = log_path(data_dir)
    lines: list[str] = []
    for p in (path.with_name("rejections.1.jsonl"), path):
        try:
            lines += p.read_text(encoding="utf-8").splitlines()
        except OSError:
            continue
    out = []
    for line in reversed(lines):
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
        if len(out) >= limit:
            break
    return out
