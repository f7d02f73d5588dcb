"""``POST /submit``: parse, throttle, make durable, answer — Antenna's pipeline (collector.md §4)."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from crashdesk.collector.auth import bearer_matches
from crashdesk.collector.config import CollectorConfig
from crashdesk.collector.durable import Arrival, GroupCommitter, publish_dumps
from crashdesk.collector.errors import Discarded, malformed
from crashdesk.collector.parsing import RequestInfo, Submission, parse_submission
from crashdesk.collector.rejections import RejectionLog
from crashdesk.collector.throttle import ACCEPT, DEFER, FAKEACCEPT, REJECT
from crashdesk.model.crash_id import CRASH_ID_RE, new_crash_id
from crashdesk.store.crashes import CrashStore

STRICT_CRASH_ID_THROTTLE = ("0", "1")


@dataclass
class Outcome:
    """The answer to one submission."""

    status: int
    body: str
    crash_id: str | None = None


@dataclass
class CollectorStats:
    """Counters for the app's collector panel."""

    accepted: int = 0
    deferred: int = 0
    fake_accepted: int = 0
    rejected: Counter = field(default_factory=Counter)
    bytes_received: int = 0
    last_crash_id: str | None = None
    last_submission: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"accepted": self.accepted, "deferred": self.deferred, "fake_accepted": self.fake_accepted,
                    "rejected": dict(self.rejected), "bytes_received": self.bytes_received,
                    "last_crash_id": self.last_crash_id, "last_submission": self.last_submission}


def _header(environ: dict, name: str) -> str | None:
    return environ.get("HTTP_" + name.upper().replace("-", "_"))


class SubmitHandler:
    """Handles one submission at a time per calling thread; shared by the server's worker threads."""

    def __init__(self, store: CrashStore, config: CollectorConfig, committer: GroupCommitter,
                 rejections: RejectionLog, spool_dir: Path) -> None:
        self.store = store
        self.config = config
        self.committer = committer
        self.rejections = rejections
        self.spool_dir = spool_dir
        self.stats = CollectorStats()

    def handle(self, environ: dict) -> Outcome:
        arrived = dt.datetime.now(dt.UTC)
        user_agent = _header(environ, "User-Agent") or ""
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        info = RequestInfo(
            content_type=environ.get("CONTENT_TYPE"),
            content_encoding=_header(environ, "Content-Encoding"),
            content_length=length,
            query=parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True),
        )
        sub: Submission | None = None
        try:
            with self.committer.arriving() as arrival:
                sub = parse_submission(info, environ["wsgi.input"], self.config.limits, self.spool_dir)
                outcome = self._accept(sub, environ, arrived, user_agent, arrival)
            if outcome.status >= 500:
                self._record_refusal(Discarded(outcome.status, "storage_error", outcome.body), environ,
                                     user_agent, length)
            return outcome
        except Discarded as refused:
            self._record_refusal(refused, environ, user_agent, length)
            return Outcome(refused.status, refused.body)
        except OSError as exc:  # the spool or the store is unwritable (disk full...): the client retries later
            self._record_refusal(Discarded(500, "storage_error", str(exc)), environ, user_agent, length)
            return Outcome(500, "")
        except Exception as exc:  # noqa: BLE001 - input nothing above foresaw: refused and logged, never a 500
            refused = malformed("unreadable", f"{type(exc).__name__}: {exc}")
            self._record_refusal(refused, environ, user_agent, length)
            return Outcome(refused.status, refused.body)
        finally:
            if sub is not None:
                sub.release()

    def _record_refusal(self, refused: Discarded, environ: dict, user_agent: str, size: int | None) -> None:
        self.rejections.record(status=refused.status, reason=refused.reason, detail=refused.detail,
                               peer=environ.get("REMOTE_ADDR", ""), user_agent=user_agent, size=size,
                               path=environ.get("PATH_INFO", ""))
        with self.stats._lock:
            self.stats.rejected[refused.reason] += 1

    def _accept(self, sub: Submission, environ: dict, arrived: dt.datetime, user_agent: str,
                arrival: Arrival | None = None) -> Outcome:
        try:
            annotations = sub.annotations
            chosen = self._chosen_crash_id(annotations, environ)
            decision = self.config.throttler.throttle(annotations)
            if decision.result == REJECT:
                raise Discarded(200, f"rule_{decision.rule}")
            throttle_digit = 1 if decision.result == DEFER else 0
            crash_id = chosen or new_crash_id(arrived, throttle_digit)
            if decision.result == FAKEACCEPT:
                sub.discard_files()
                with self.stats._lock:
                    self.stats.fake_accepted += 1
                return Outcome(200, f"CrashID=bp-{crash_id}\n", None)
            if chosen and self.store.exists(chosen):  # a retried upload with a client-chosen id
                sub.discard_files()
                return Outcome(200, f"CrashID=bp-{chosen}\n", chosen)
        except BaseException:
            sub.discard_files()
            raise

        notes = list(sub.notes)
        for name in self.config.removed_fields:
            if name in annotations:
                del annotations[name]
                notes.append(f"Removed {name} from raw crash.")
        if self.config.strip_dump_annotations:
            from crashdesk.collector.strip import strip_dump_annotations

            notes.extend(strip_dump_annotations(sub.dumps, self.config.removed_fields))
        raw = dict(annotations)
        raw["submitted_timestamp"] = arrived.isoformat(timespec="microseconds")
        raw["uuid"] = crash_id
        raw["metadata"] = {
            "collector_notes": notes,
            "dump_checksums": {name: d.sha256 for name, d in sorted(sub.dumps.items())},
            "payload": sub.payload,
            "payload_compressed": "1" if sub.compressed else "0",
            "payload_size": sub.payload_size,
            "throttle_rule": decision.rule,
            "user_agent": user_agent or "None",
        }
        try:
            refs = publish_dumps(self.store, sub.dumps)
        except OSError:
            sub.discard_files()
            return Outcome(500, "")
        item = {"annotations": raw, "dumps": refs, "source": "collector", "crash_id": crash_id,
                "submitted_at": raw["submitted_timestamp"],
                "notes": [n for n in notes if n not in sub.quiet_notes]}
        try:
            self.committer.commit(item, notify=decision.result == ACCEPT, arrival=arrival)
        except Exception:
            return Outcome(500, "")
        with self.stats._lock:
            if decision.result == DEFER:
                self.stats.deferred += 1
            else:
                self.stats.accepted += 1
            self.stats.bytes_received += sub.payload_size
            self.stats.last_crash_id = crash_id
            self.stats.last_submission = raw["submitted_timestamp"]
        return Outcome(200, f"CrashID=bp-{crash_id}\n", crash_id)

    def _chosen_crash_id(self, annotations: dict[str, Any], environ: dict) -> str | None:
        if "uuid" not in annotations:
            return None
        value = annotations.pop("uuid")
        if not bearer_matches(self.config.token, _header(environ, "Authorization")):
            raise Discarded(401, "unauthorized_uuid")
        # taken as sent, as Antenna does: an upper-case or padded id is refused (400), not tidied up, so the
        # stage submitter learns of it instead of its crash being stored under an id it did not send
        if not isinstance(value, str) or not CRASH_ID_RE.fullmatch(value) or value[-7] not in STRICT_CRASH_ID_THROTTLE:
            raise malformed("invalid_uuid", str(value)[:60])
        return value
