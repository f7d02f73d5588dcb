"""One sync run: list the query's crashes on the server, fetch what is missing, store it, report.

Phases:

1. **Scan.** The date range still to list (from the job's watermark minus an overlap, because crashes
   become searchable only once the server has processed them, and anything earlier than what was listed
   before) is cut into windows; each window is paged with ``_results_offset``, and a window whose ``total``
   exceeds the server's result window (10,000 on Crash Stats) is split in two until it fits. Every hit is
   recorded as a sync item (``INSERT OR IGNORE``: listing twice never duplicates anything).
2. **Fetch.** For each item not yet stored: ``ProcessedCrash`` and ``RawCrash?format=meta`` in parallel,
   then, with ``with_dumps``, every dump named in ``metadata.dump_checksums`` (the main one when the server
   hides the metadata). A ``403`` on dumps turns dump downloads off for the rest of the run and is reported;
   a ``403`` on the raw crash keeps the crash with annotations taken from the processed crash.
3. **Store.** One writer thread stores each crash (source ``server:<name>``, the server's signature and
   whole processed crash, its report URL) and only then marks its item ``done``.

What goes in the ``processed`` column: when the main minidump was downloaded, nothing — the crash stays
``received`` so local processing stackwalks it with the user's symbols and computes a local signature. When
no dump is available, the server's ``json_dump`` (the same stackwalker schema) is stored as the processed
crash, so the crash is usable at once (threads, modules, search by function), and the crash is still queued
(state ``received``) so the processing service gives it a local signature from that ``json_dump``. The
server's signature is kept either way (``server_signature``, and the whole document in ``server_processed``).

The watermark advances only when every window of the run was listed completely; items that failed are
retried on the next run whatever the watermark says.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from crashdesk.model.crash_id import is_crash_id
from crashdesk.store.crashes import MAIN_DUMP, CrashStore, DumpRef, NewCrash
from crashdesk.store.syncstate import SyncItem, SyncState
from crashdesk.sync.client import (
    CancelToken,
    RetryPolicy,
    Secret,
    SocorroClient,
    normalize_base_url,
    supersearch_params,
)
from crashdesk.sync.errors import (
    AuthError,
    BadQuery,
    Cancelled,
    NotFound,
    PermissionDenied,
    ServerError,
    SyncError,
)
from crashdesk.sync.query import SyncQuery, format_date, merge_ranges, parse_date, windows

log = logging.getLogger(__name__)

UTC = dt.UTC
DUMP_ALIASES = {"dump": MAIN_DUMP, "": MAIN_DUMP}
DONE_BATCH = 50
STORE_GROUP = 100  # fetched crashes the writer stores in one transaction, at most


def report_url(base_url: str, crash_id: str) -> str:
    """The crash's page on its server, as Crash Stats builds it (``/report/index/<id>``), from the server's
    address however it was saved (``https://host/``, ``https://host/api/``...)."""
    try:
        base = normalize_base_url(base_url)
    except ValueError:
        base = base_url.rstrip("/")
    return f"{base}/report/index/{crash_id}"


@dataclass(frozen=True)
class ServerTarget:
    """Where to sync from, as plain values (the caller resolves saved servers and secrets)."""

    name: str
    base_url: str
    token: Secret | None = None
    rate_limit: int | None = None  # requests per minute, None = no client-side limit
    concurrency: int = 24
    timeout: float = 30.0


@dataclass(frozen=True)
class SyncOptions:
    with_dumps: bool = False
    overlap: dt.timedelta = dt.timedelta(hours=6)
    default_lookback: dt.timedelta = dt.timedelta(days=7)
    max_window: dt.timedelta = dt.timedelta(days=7)
    min_window: dt.timedelta = dt.timedelta(seconds=1)
    page_size: int = 1000
    result_window: int = 10_000
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    server_json_dump_as_processed: bool = True


@dataclass
class SyncProgress:
    """Counters reported through the progress callback (and kept in the summary)."""

    phase: str = "scan"  # scan | fetch | done
    found: int = 0  # crashes listed by the search this run
    new: int = 0  # of those, not seen by this sync before
    to_fetch: int = 0
    fetched: int = 0  # stored (or completed with dumps) this run
    already: int = 0  # already in the store from this server: nothing to download
    failed: int = 0
    bytes: int = 0
    requests: int = 0
    elapsed: float = 0.0


@dataclass
class SyncFailure:
    reason: str
    crash_id: str | None = None
    window: tuple[str, str] | None = None


@dataclass
class SyncSummary:
    server: str
    base_url: str
    job: str
    query: str
    range: tuple[str, str] | None
    progress: SyncProgress
    failures: list[SyncFailure] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    dumps_forbidden: int = 0
    gone: list[str] = field(default_factory=list)
    cancelled: bool = False
    watermark: str | None = None
    retries: int = 0
    rate_limited: int = 0
    items: dict[str, int] = field(default_factory=dict)
    stacks_differ: int | None = None  # this server's crashes whose local re-walk differs from its stack

    @property
    def complete(self) -> bool:
        return not self.failures and not self.cancelled

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["complete"] = self.complete
        return data

    def lines(self) -> list[str]:
        """The human summary printed at the end of ``crashdesk sync``."""
        p = self.progress
        rate = p.fetched / p.elapsed if p.elapsed > 0 else 0.0
        head = (
            f"sync {self.server} ({self.query}): found {p.found} ({p.new} new), fetched {p.fetched}, "
            f"already stored {p.already}, failed {len(self.failures)}; {p.requests} requests, "
            f"{p.bytes / 1e6:.1f} MB, {p.elapsed:.1f} s ({rate:.1f} crashes/s)"
        )
        out = [head]
        if self.range:
            out.append(f"  range listed: {self.range[0]} .. {self.range[1]}")
        if self.stacks_differ:
            out.append(f"  {self.stacks_differ} crashes from {self.server} re-walked locally with a different "
                       f"stack (search server_stack:differs)")
        if self.retries:
            # "recovered" only when the run completed: a run that gave up did not recover from them
            what = "recovered from transient faults" if self.complete else "retried transient faults"
            out.append(f"  {what}: {self.retries} retries ({self.rate_limited} x 429)")
        out.extend(f"  warning: {w}" for w in self.warnings)
        if self.gone:
            out.append(
                f"  {len(self.gone)} crashes the server no longer has (gave up): {', '.join(self.gone[:5])}"
                + (" ..." if len(self.gone) > 5 else "")
            )
        if self.cancelled:
            out.append("  cancelled: run the same sync again to resume")
        if self.failures:
            out.append(f"  missing ({len(self.failures)}): run the same sync again to retry")
            for f in self.failures[:50]:
                what = f.crash_id or (f"window {f.window[0]} .. {f.window[1]}" if f.window else "sync")
                out.append(f"    {what}: {f.reason}")
            if len(self.failures) > 50:
                out.append(f"    ... and {len(self.failures) - 50} more")
        return out


ProgressCallback = Callable[[SyncProgress], None]


@dataclass
class _StoreJob:
    crash_id: str
    processed: dict[str, Any] | None
    raw: dict[str, Any] | None
    dumps: Mapping[str, DumpRef]
    dumps_state: str | None
    already_stored: bool


class SyncRunner:
    """Runs one sync of ``query`` from ``target`` into ``store``; ``run()`` blocks (not on the GUI thread).

    ``progress`` is called (on the sync's thread) with a :class:`SyncProgress` after every change;
    ``cancel.is_set()`` stops the run at the next request boundary, keeping everything stored so far.
    """

    def __init__(
        self,
        store: CrashStore,
        target: ServerTarget,
        query: SyncQuery,
        options: SyncOptions | None = None,
        *,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
        now: dt.datetime | None = None,
    ) -> None:
        self.store = store
        self.target = target
        self.query = query
        self.options = options or SyncOptions()
        self.progress_cb = progress
        self.cancel = cancel
        self.now = now
        self.progress = SyncProgress()
        self._writer = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="crashdesk-sync-writer")
        self._dumps_forbidden = False
        self._raw_forbidden_warned = False
        self._malformed_ids = 0
        self._started = 0.0

    # ------------------------------------------------------------------ entry points

    def run(self) -> SyncSummary:
        """Run the sync to the end (or cancellation) and return the summary. Raises :class:`SyncError` for
        failures that stop the whole sync (token refused, query refused by the server)."""
        try:
            return asyncio.run(self.run_async())
        finally:
            self._writer.shutdown(wait=True)

    async def run_async(self) -> SyncSummary:
        self._started = time.monotonic()
        base = self.target.base_url
        await self._db(self._writer_connection)
        state: SyncState = await self._db(SyncState, self.store)
        key = self.query.key(base)
        job = await self._db(
            state.job, key, server=self.target.name, base_url=base, filters=self.query.filters
        )
        self._state, self._job = state, job
        await self._db(state.start_run, job.id)
        summary = SyncSummary(self.target.name, base, key, self.query.describe(), None, self.progress)
        self._summary = summary
        client = SocorroClient(
            base,
            token=self.target.token,
            concurrency=self.target.concurrency,
            timeout=self.target.timeout,
            retry=self.options.retry,
            rate_limit=self.target.rate_limit,
            cancel=self.cancel,
        )
        self._client = client
        status = "incomplete"
        try:
            async with client:
                ranges = self._ranges_to_scan(job.covered_from, job.watermark)
                listed_ok = await self._scan(ranges)
                if listed_ok and ranges:
                    lo = min(
                        [r[0] for r in ranges] + ([parse_date(job.covered_from)] if job.covered_from else [])
                    )
                    hi = max([r[1] for r in ranges] + ([parse_date(job.watermark)] if job.watermark else []))
                    await self._db(state.set_coverage, job.id, format_date(lo), format_date(hi))
                    summary.watermark = format_date(hi)
                else:
                    summary.watermark = job.watermark
                if ranges:
                    summary.range = (format_date(ranges[0][0]), format_date(ranges[-1][1]))
                await self._fetch_all()
        except Cancelled:
            summary.cancelled = True
        except SyncError as exc:  # token refused, query refused: the whole sync stops
            await self._db(state.finish_run, job.id, "failed", {"error": str(exc)})
            raise
        finally:
            self._tick(phase="done")
            summary.retries = client.stats.retries
            summary.rate_limited = client.stats.rate_limited
        if summary.cancelled:
            status = "cancelled"
        elif summary.complete:
            status = "complete"
        summary.items = await self._db(state.counts, job.id)
        summary.stacks_differ = await self._db(self._stacks_differ)
        await self._db(state.finish_run, job.id, status, summary.to_json())
        return summary

    # ------------------------------------------------------------------ helpers

    def _writer_connection(self) -> None:
        """(writer thread) Everything a sync writes can be fetched again, and a run resumes from what is
        committed, so its connection commits without waiting for the disk (``synchronous = NORMAL``: in WAL
        mode the database stays consistent; a power cut may lose the last commits, which the next run
        re-fetches; an application crash or SIGKILL loses nothing). Dumps are still fsynced."""
        self.store.db.conn.execute("PRAGMA synchronous = NORMAL")

    def _stacks_differ(self) -> int:
        """How many of this server's crashes have a local re-walk whose crashing thread differs (issue 22)."""
        return self.store.db.conn.execute(
            "SELECT count(*) FROM crash_stacks s JOIN crashes c ON c.id = s.crash WHERE s.server_differs = 1 "
            "AND c.source = ?", (f"server:{self.target.name}",)).fetchone()[0]

    async def _db(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._writer, lambda: fn(*args, **kwargs))

    def _tick(self, **changes: Any) -> None:
        for k, v in changes.items():
            setattr(self.progress, k, v)
        client = getattr(self, "_client", None)
        if client is not None:
            self.progress.requests = client.stats.requests
            self.progress.bytes = client.stats.bytes
        self.progress.elapsed = time.monotonic() - self._started
        if self.progress_cb is not None:
            try:
                self.progress_cb(self.progress)
            except Exception:  # a broken progress display must not break the sync
                log.exception("progress callback failed")

    def _ranges_to_scan(
        self, covered_from: str | None, watermark: str | None
    ) -> list[tuple[dt.datetime, dt.datetime]]:
        now = self.now or dt.datetime.now(UTC)
        upper = min(self.query.until, now) if self.query.until else now
        lower = self.query.since or (
            parse_date(covered_from) if covered_from else upper - self.options.default_lookback
        )
        if watermark is None or covered_from is None:
            return merge_ranges([(lower, upper)])
        wm, cf = parse_date(watermark), parse_date(covered_from)
        ranges = []
        if lower < cf:
            ranges.append((lower, cf))
        ranges.append((max(lower, wm - self.options.overlap), upper))
        return merge_ranges(ranges)

    # ------------------------------------------------------------------ scan

    async def _scan(self, ranges: list[tuple[dt.datetime, dt.datetime]]) -> bool:
        ok = True
        for lo, hi in ranges:
            for a, b in windows(lo, hi, self.options.max_window):
                ok = await self._scan_window(a, b) and ok
        return ok

    async def _search(self, a: dt.datetime, b: dt.datetime, offset: int, number: int) -> dict[str, Any]:
        params = supersearch_params(
            self.query.filters,
            date=[f">={format_date(a)}", f"<{format_date(b)}"],
            _columns=["uuid", "date"],
            _sort=["date", "uuid"],
            _facets_size=0,
            _results_number=number,
            _results_offset=offset,
        )
        return await self._client.supersearch(params)

    async def _scan_window(self, a: dt.datetime, b: dt.datetime) -> bool:
        """List one window completely; False when part of it could not be listed (reported as a failure)."""
        opts = self.options
        page = min(opts.page_size, opts.result_window)
        try:
            first = await self._search(a, b, 0, page)
        except (AuthError, Cancelled):
            raise
        except ServerError as exc:
            if not exc.transient and exc.status == 400:
                raise SyncError(f"the server refused the query: {exc}") from None
            self._summary.failures.append(SyncFailure(str(exc), window=(format_date(a), format_date(b))))
            return False
        total = int(first.get("total") or 0)
        if total > opts.result_window and b - a > opts.min_window:
            mid = a + (b - a) / 2
            left = await self._scan_window(a, mid)
            right = await self._scan_window(mid, b)
            return left and right
        await self._record(first["hits"])
        offset = len(first["hits"])
        reachable = min(total, opts.result_window)
        ok = True
        while offset < reachable:
            number = min(page, opts.result_window - offset)
            try:
                body = await self._search(a, b, offset, number)
            except (AuthError, Cancelled):
                raise
            except ServerError as exc:
                self._summary.failures.append(
                    SyncFailure(f"{exc} (at offset {offset})", window=(format_date(a), format_date(b)))
                )
                return False
            if not body["hits"]:
                break
            await self._record(body["hits"])
            offset += len(body["hits"])
        if total > opts.result_window:
            ok = False
            self._summary.failures.append(
                SyncFailure(
                    f"{total} crashes submitted within {opts.min_window}; "
                    f"only {opts.result_window} can be listed",
                    window=(format_date(a), format_date(b)),
                )
            )
        return ok

    async def _record(self, hits: list[Any]) -> None:
        found = []
        for hit in hits:
            if not isinstance(hit, dict):
                continue
            crash_id = str(hit.get("uuid") or "").strip().lower()
            if not is_crash_id(crash_id):
                self._malformed_ids += 1
                if self._malformed_ids == 1:
                    self._summary.warnings.append(
                        f"the search returned malformed crash ids (first: "
                        f"{crash_id[:60]!r}); they were skipped"
                    )
                continue
            date = hit.get("date")
            found.append((crash_id, date if isinstance(date, str) else None))
        new = await self._db(self._state.add_items, self._job.id, found) if found else 0
        self._tick(found=self.progress.found + len(found), new=self.progress.new + new)

    # ------------------------------------------------------------------ fetch

    async def _fetch_all(self) -> None:
        items: list[SyncItem] = await self._db(
            self._state.to_fetch, self._job.id, with_dumps=self.options.with_dumps
        )
        self._stored = await self._db(self._state.stored_dumps_of, [i.crash_id for i in items])
        self._done: list[tuple[str, str | None]] = []
        self._tick(phase="fetch", to_fetch=len(items))
        queue: asyncio.Queue[SyncItem] = asyncio.Queue()
        for item in items:
            queue.put_nowait(item)
        concurrency = max(1, self.target.concurrency)
        # fetched crashes wait here for the writer, so workers go on downloading while it stores
        self._store_q: asyncio.Queue[_StoreJob | None] = asyncio.Queue(maxsize=2 * concurrency)
        writer = asyncio.create_task(self._store_loop())
        workers = [asyncio.create_task(self._worker(queue)) for _ in range(concurrency)]
        try:
            await asyncio.gather(*workers)
        except BaseException:
            for w in workers:
                w.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            raise
        finally:
            await self._store_q.put(None)
            await writer
            await self._flush_done(force=True)
        if self._dumps_forbidden:
            self._summary.warnings.append(
                f"dumps were not downloaded for {self._summary.dumps_forbidden} crashes: the server requires "
                "the 'View Raw Dumps' permission (set a token that has it and sync again)"
            )

    async def _flush_done(self, *, force: bool = False) -> None:
        """Mark stored crashes' items done in batches (a crash stored but not yet marked is recognised as
        stored on the next run, so a kill between the two loses nothing)."""
        if self._done and (force or len(self._done) >= DONE_BATCH):
            batch, self._done = self._done, []
            await self._db(self._state.mark_done_many, self._job.id, batch)

    async def _worker(self, queue: asyncio.Queue[SyncItem]) -> None:
        while True:
            try:
                item = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            if self.cancel is not None and self.cancel.is_set():
                raise Cancelled()
            await self._fetch_one(item)

    async def _fetch_one(self, item: SyncItem) -> None:
        crash_id = item.crash_id
        job_id = self._job.id
        try:
            stored_dumps = self._stored.get(crash_id)
            crash_stored = stored_dumps is not None
            if crash_stored and (not self.options.with_dumps or stored_dumps or self._dumps_forbidden):
                # already in the store (an earlier run killed before it marked the item, or another sync)
                self._done.append((crash_id, "done" if stored_dumps else None))
                self._tick(already=self.progress.already + 1)
                await self._flush_done()
                return
            processed: dict[str, Any] | None = None
            # the main minidump is asked for alongside the processed and raw crash (one round trip instead
            # of two); other dumps, named in the raw crash's metadata, follow
            prefetch = self.options.with_dumps and not self._dumps_forbidden
            coros: list[Any] = [self._raw_or_none(crash_id)]
            if not crash_stored:
                coros.append(self._client.processed_crash(crash_id))
            if prefetch:
                coros.append(self._main_dump(crash_id))
            results = await asyncio.gather(*coros, return_exceptions=True)
            for result in results:
                if isinstance(result, BaseException):
                    raise result
            raw = results[0]
            if not crash_stored:
                processed = results[1]
            prefetched = results[-1] if prefetch else None
            dumps: dict[str, bytes] = {}
            dumps_state: str | None = None
            if self.options.with_dumps:
                dumps, dumps_state = await self._fetch_dumps(crash_id, raw, prefetched)
            # dumps go to the blob folder (fsynced) on worker threads, in parallel; the writer records them
            refs = await asyncio.to_thread(self._put_blobs, dumps) if dumps else {}
            await self._store_q.put(_StoreJob(crash_id, processed, raw, refs, dumps_state, crash_stored))
        except (Cancelled, AuthError):
            raise
        except NotFound as exc:
            state = await self._db(self._state.mark_failed, job_id, crash_id, str(exc), missing=True)
            if state == "gone":
                self._summary.gone.append(crash_id)
            else:
                self._summary.failures.append(SyncFailure(f"not found on the server: {exc}", crash_id))
            self._tick(failed=self.progress.failed + 1)
        except (ServerError, PermissionDenied) as exc:
            await self._db(self._state.mark_failed, job_id, crash_id, str(exc))
            self._summary.failures.append(SyncFailure(str(exc), crash_id))
            self._tick(failed=self.progress.failed + 1)

    async def _store_loop(self) -> None:
        """The one task that writes fetched crashes (through the writer thread), in arrival order: the jobs
        waiting when it is free, up to :data:`STORE_GROUP`, at a time (:meth:`_store_group`)."""
        finished = False
        while not finished:
            job = await self._store_q.get()
            group: list[_StoreJob] = []
            while job is not None:
                group.append(job)
                if len(group) >= STORE_GROUP or self._store_q.empty():
                    break
                job = self._store_q.get_nowait()
            finished = job is None
            if not group:
                continue
            outcomes = await self._db(self._store_group, group)
            for job, exc in zip(group, outcomes, strict=True):
                if exc is not None:  # a store failure (disk full, ...) is this crash's failure, reported
                    message = f"could not store the crash: {exc}"
                    await self._db(self._state.mark_failed, self._job.id, job.crash_id, message)
                    self._summary.failures.append(SyncFailure(message, job.crash_id))
                    self._tick(failed=self.progress.failed + 1)
                    continue
                self._done.append((job.crash_id, job.dumps_state))
                self._tick(fetched=self.progress.fetched + 1)
            await self._flush_done()

    def _store_group(self, jobs: list[_StoreJob]) -> list[Exception | None]:
        """(writer thread) Store fetched crashes; return each one's failure (None: stored). The new crashes go
        into the store in one transaction (:meth:`CrashStore.add_many`); those it finds already stored take
        :meth:`_store_crash`'s update path. When that transaction fails, each crash is stored on its own, so a
        crash that cannot be stored fails alone."""
        batched: set[int] = set()  # indexes of the jobs the batch stored
        first: dict[str, int] = {}
        for n, job in enumerate(jobs):
            if not job.already_stored:
                first.setdefault(job.crash_id, n)  # a crash id given twice: the second on its own, after
        if first:
            made: dict[int, NewCrash] = {}
            skipped: list[str] = []
            try:
                made = {n: self._new_crash(jobs[n].crash_id, jobs[n].processed or {}, jobs[n].raw, jobs[n].dumps)
                        for n in first.values()}
                self.store.add_many(made.values(), if_exists="ignore", skipped=skipped)
            except Exception:
                log.exception("storing %d crashes in one transaction failed; storing them one at a time", len(first))
            else:
                existed = set(skipped)
                batched = {n for n in made if jobs[n].crash_id not in existed}
                # usable at once with the server's stackwalk, and queued so the processing service signs it
                queue = [n for n in batched if made[n].processed is not None]
                if queue:
                    try:
                        self.store.mark_for_reprocessing([jobs[n].crash_id for n in queue])
                    except Exception:
                        log.exception("queueing %d synced crashes failed; storing them one at a time", len(queue))
                        batched.difference_update(queue)
        outcomes: list[Exception | None] = []
        for n, job in enumerate(jobs):
            try:
                if n in batched:
                    pass
                elif job.already_stored:
                    self._state.attach_dumps(job.crash_id, job.dumps)
                else:
                    assert job.processed is not None
                    self._store_crash(job.crash_id, job.processed, job.raw, job.dumps)
            except Exception as exc:
                log.exception("storing %s failed", job.crash_id)
                outcomes.append(exc)
            else:
                outcomes.append(None)
        return outcomes

    def _put_blobs(self, dumps: Mapping[str, bytes]) -> dict[str, DumpRef]:
        return {name: DumpRef(self.store.blobs.put(data), len(data)) for name, data in dumps.items()}

    async def _raw_or_none(self, crash_id: str) -> dict[str, Any] | None:
        try:
            return await self._client.raw_crash(crash_id)
        except PermissionDenied as exc:
            if not self._raw_forbidden_warned:
                self._raw_forbidden_warned = True
                self._summary.warnings.append(
                    f"raw crash annotations not permitted ({exc}); annotations "
                    "were taken from the processed crash"
                )
            return None

    async def _main_dump(self, crash_id: str) -> bytes | str:
        """The main minidump's bytes, or ``"none"`` (the server has none) or ``"forbidden"`` (403)."""
        try:
            return await self._client.raw_dump(crash_id, MAIN_DUMP)
        except PermissionDenied:
            self._dumps_forbidden = True
            return "forbidden"
        except NotFound:
            return "none"

    async def _fetch_dumps(
        self, crash_id: str, raw: Mapping[str, Any] | None, prefetched: bytes | str | None
    ) -> tuple[dict[str, bytes], str | None]:
        if prefetched == "forbidden" or (prefetched is None and self._dumps_forbidden):
            self._summary.dumps_forbidden += 1
            return {}, "forbidden"
        dumps: dict[str, bytes] = {}
        if isinstance(prefetched, bytes):
            dumps[MAIN_DUMP] = prefetched
        metadata = raw.get("metadata") if isinstance(raw, Mapping) else None
        checksums = metadata.get("dump_checksums") if isinstance(metadata, Mapping) else None
        if isinstance(checksums, Mapping):
            # memory_report is a gzipped JSON memory report, not a minidump: not needed to stackwalk
            names = [str(n) for n in checksums if str(n) != "memory_report"]
            guessed = False
        else:
            names, guessed = [MAIN_DUMP], True
        for name in names:
            stored_name = DUMP_ALIASES.get(name, name)
            if stored_name in dumps:
                continue
            if stored_name == MAIN_DUMP and prefetched == "none":
                if guessed:
                    continue
                raise NotFound(f"the server lists a minidump for {crash_id} but does not have it")
            try:
                dumps[stored_name] = await self._client.raw_dump(crash_id, name)
            except PermissionDenied:
                self._dumps_forbidden = True
                self._summary.dumps_forbidden += 1
                return {}, "forbidden"
            except NotFound:
                if guessed:
                    continue
                raise
        return dumps, ("done" if dumps else "none")

    def _new_crash(
        self,
        crash_id: str,
        processed: dict[str, Any],
        raw: dict[str, Any] | None,
        dumps: Mapping[str, DumpRef],
    ) -> NewCrash:
        """What is stored for a fetched crash (source ``server:<name>``, the server's signature and whole
        processed crash, its report URL; the server's ``json_dump`` as the processed crash when there is no
        main minidump)."""
        annotations = dict(raw) if raw else _annotations_from_processed(processed)
        signature = processed.get("signature") if isinstance(processed.get("signature"), str) else None
        local_processed = None
        json_dump = processed.get("json_dump")
        if (
            MAIN_DUMP not in dumps
            and self.options.server_json_dump_as_processed
            and isinstance(json_dump, dict)
            and ("threads" in json_dump or "crash_info" in json_dump)
        ):
            local_processed = json_dump
        return NewCrash(
            annotations,
            dumps,
            source=f"server:{self.target.name}",
            crash_id=crash_id,
            submitted_at=_submitted(processed, raw),
            processed=local_processed,
            server_signature=signature,
            server_processed=processed,
            source_url=report_url(self.target.base_url, crash_id),
        )

    def _store_crash(
        self,
        crash_id: str,
        processed: dict[str, Any],
        raw: dict[str, Any] | None,
        dumps: Mapping[str, DumpRef],
    ) -> None:
        """(writer thread) One crash into the store, on its own (a crash already stored: its server-side fields
        refreshed)."""
        c = self._new_crash(crash_id, processed, raw, dumps)
        self.store.add_crash(
            c.annotations,
            c.dumps,
            source=c.source,
            crash_id=c.crash_id,
            submitted_at=c.submitted_at,
            processed=c.processed,
            server_signature=c.server_signature,
            server_processed=c.server_processed,
            source_url=c.source_url,
            if_exists="update",
        )
        if c.processed is not None:
            # usable at once with the server's stackwalk, and queued so the processing service signs it
            # with the local profile (it signs the server's json_dump when there is no dump)
            self.store.mark_for_reprocessing([crash_id])


def _annotations_from_processed(processed: Mapping[str, Any]) -> dict[str, Any]:
    """Best-effort annotations when the raw crash is not available: the build identity fields."""
    pairs = {
        "ProductName": "product",
        "Version": "version",
        "BuildID": "build",
        "ReleaseChannel": "release_channel",
        "uuid": "uuid",
    }
    return {k: processed[v] for k, v in pairs.items() if isinstance(processed.get(v), str | int)}


def _submitted(processed: Mapping[str, Any], raw: Mapping[str, Any] | None) -> str | None:
    for value in (
        processed.get("date_processed"),
        processed.get("submitted_timestamp"),
        raw.get("submitted_timestamp") if raw else None,
    ):
        if isinstance(value, str) and value:
            try:
                return format_date(parse_date(value))
            except BadQuery:
                continue
    return None
