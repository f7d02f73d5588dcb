"""The processing service: every received crash gets stackwalked, signed and indexed, once.

The queue is the store itself (state ``received``); the service claims crashes, hands them to a pool of
long-lived worker processes (:mod:`crashdesk.services.worker`) and records each result in one transaction.
A worker that passes the per-crash time limit is killed and replaced and that crash fails with a note; a
worker that dies (memory limit, a crash of its own) likewise. Claims left by a service that died are
returned to the queue when the next service starts.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.reduction import ForkingPickler as _ForkingPickler
from pathlib import Path

from crashdesk.services.worker import Job, JobResult, WorkerConfig, worker_main
from crashdesk.store import CrashStore
from crashdesk.store.crashes import MAIN_DUMP, SignatureRecord

DEFAULT_TIME_LIMIT = 30.0
#: crashes handed to a worker at a time: the one it is on and the next ones, waiting in its pipe, so that it goes
#: on while the parent records the last results. Recording a batch of results takes the parent ~10-25 ms on a
#: first pass (more on a loaded machine), during which it hands out nothing, while a crash whose modules are
#: open takes a worker 1-3 ms: on the corpus's first pass the two workers together sat idle (an empty pipe, or
#: another worker's index build) 111-121 ms with 4, 43-54 ms with 8, 6-10 ms with 12 (16 did no better). The pipe's buffer must hold the
#: waiting ones: see ``_Worker.send``. Once the queue is drained only :data:`TAIL_DEPTH` are handed over at a
#: time (see :meth:`ProcessingService._dispatch`).
WORKER_DEPTH = 12
#: crashes handed to a worker at a time once the store has no more waiting (the last ones of a run): a crash
#: waits behind one other at most and the rest stay with the service, handed to whichever worker runs dry
#: first, so that one worker does not end the run with several crashes in its pipe while the other is idle
TAIL_DEPTH = 2
#: bytes of jobs that may wait in one worker's pipe (well below the smallest pipe buffer)
_QUEUE_MAX_BYTES = 32 * 1024
#: crashes claimed beyond the open slots (one claim transaction for several crashes; the rest wait in the
#: service, state ``processing``, and go back to the queue if it stops). Also what the service holds back to
#: share out by need when the queue runs dry (:data:`TAIL_DEPTH`).
CLAIM_AHEAD = 12
#: seconds between two commits of results while the workers are busy: a result that comes sooner waits (the
#: workers go on) and is written with those that come meanwhile, in one transaction. A commit costs about as
#: much as recording a crash; a first pass brings a result every few milliseconds. A result after a quiet
#: spell, and the last ones of a run (no worker busy), are written at once.
RECORD_INTERVAL = 0.02


@dataclass(slots=True)
class Progress:
    queued: int = 0
    running: int = 0
    done: int = 0
    failed: int = 0
    started: float = field(default_factory=time.monotonic)
    last_event: str = ""

    @property
    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return (self.done + self.failed) / elapsed if elapsed > 0 else 0.0


ProgressCallback = Callable[[Progress], None]


def _human_bytes(n: int) -> str:
    for unit, size in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n >= size:
            value = n / size
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{n} B"


@contextlib.contextmanager
def _sigint_ignored():
    """Start workers with Ctrl-C ignored: the terminal sends SIGINT to the whole process group, and the parent
    alone decides (it stops its workers and exits 130), instead of every worker printing a KeyboardInterrupt
    traceback. Only the main thread can change signal handlers; elsewhere (the app's job threads) nothing
    changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def symbol_sources_of(config: WorkerConfig) -> dict[str, list[str]]:
    """The symbol sources a worker configuration processes with, as recorded on each processed crash
    (``symbol_sources``) and compared by the crash view to today's settings."""
    return {"folders": list(config.symbol_paths), "servers": list(config.symbol_urls),
            "debuginfod": list(config.debuginfod_urls), "mozilla_servers": list(config.mozilla_symbol_urls)}


class _Worker:
    def __init__(self, ctx, config: WorkerConfig) -> None:
        self.config = config
        parent, child = ctx.Pipe()
        self.conn: Connection = parent
        self.process = ctx.Process(target=worker_main, args=(child, config), daemon=True,
                                   name="crashdesk-worker")
        with _sigint_ignored():  # inherited by the spawned interpreter from its first instruction
            self.process.start()
        child.close()
        self.jobs: deque[Job] = deque()  # handed over, in order: the first is running, the rest wait in the pipe
        self.sizes: deque[int] = deque()  # the pickled size of each of ``jobs``
        self.deadline = 0.0
        self.time_limit = DEFAULT_TIME_LIMIT
        self.ready = False

    @property
    def job(self) -> Job | None:
        """The crash the worker is on (None when idle)."""
        return self.jobs[0] if self.jobs else None

    def send(self, job: Job, time_limit: float, *, queue: bool = False) -> bool:
        """Hand ``job`` over. With ``queue`` the worker is busy and the job waits in the pipe until it is done;
        jobs waiting beyond :data:`_QUEUE_MAX_BYTES` together are not queued (False): they could fill the pipe
        while the worker is blocked sending a large result back, and neither side would go on."""
        payload = _ForkingPickler.dumps(job)
        if queue and self.waiting_bytes() + len(payload) > _QUEUE_MAX_BYTES:
            return False
        self.conn.send_bytes(payload)
        if not self.jobs:
            self.deadline = time.monotonic() + time_limit
        self.time_limit = time_limit
        self.jobs.append(job)
        self.sizes.append(len(payload))
        return True

    def waiting_bytes(self) -> int:
        """Bytes of the jobs waiting in the pipe (all but the running one)."""
        return sum(self.sizes) - (self.sizes[0] if self.sizes else 0)

    def finished(self) -> None:
        """The running crash's answer came: the next one in the pipe is running from now."""
        if self.jobs:
            self.jobs.popleft()
            self.sizes.popleft()
        if self.jobs:
            self.deadline = time.monotonic() + self.time_limit

    def wait_ready(self, timeout: float) -> tuple | None:
        """The worker's first message (``("ready", pid)`` or ``("init-error", text)``) once it has started and
        pre-imported; None if it did not come within ``timeout`` or the worker died."""
        try:
            if self.conn.poll(timeout):
                message = self.conn.recv()
                self.ready = message[0] == "ready"
                return message
        except (EOFError, OSError):
            pass
        return None

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)
        self.conn.close()

    def ask_to_stop(self) -> None:
        try:
            self.conn.send(None)
        except (OSError, EOFError, BrokenPipeError, ValueError):
            pass

    def stop(self) -> None:
        self.ask_to_stop()
        self.process.join(2)
        if self.process.is_alive():
            self.kill()
        else:
            self.conn.close()


class ProcessingService:
    """Runs the queue. Use :meth:`run_until_empty` in the foreground or :meth:`start` for a background thread."""

    def __init__(
        self,
        store: CrashStore,
        config: WorkerConfig | None = None,
        *,
        workers: int | None = None,
        time_limit: float = DEFAULT_TIME_LIMIT,
        on_progress: ProgressCallback | None = None,
        on_result: Callable[[str, bool], None] | None = None,
    ) -> None:
        self.store = store
        self.config = config or WorkerConfig()
        self.size = max(1, workers or os.cpu_count() or 1)
        self.time_limit = time_limit
        self.on_progress = on_progress
        self.on_result = on_result
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.progress = Progress()
        self._ctx = multiprocessing.get_context("spawn")
        self._workers: list[_Worker] = []
        self._cancel = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._only: set[str] | None = None
        self._pending: deque[str] = deque()  # claimed, not yet handed to a worker
        self._drained = False  # the last claim found fewer crashes than it asked for (see _dispatch)
        self._queued_at = 0.0
        self._symbols_generation = 0
        self.error: str | None = None

    # ------------------------------------------------------------------ queue control

    def release_dead_claims(self) -> int:
        """Give back claims whose service process no longer exists (it was killed mid-queue)."""
        host = socket.gethostname()
        released = 0
        rows = self.store.db.conn.execute(
            "SELECT DISTINCT claimed_by FROM crashes WHERE state = 'processing'").fetchall()
        for (owner,) in rows:
            parts = (owner or "").split(":")
            if len(parts) >= 2 and parts[0] == host and parts[1].isdigit() and _pid_alive(int(parts[1])) \
                    and int(parts[1]) != os.getpid():
                continue  # another live service on this machine owns it
            if owner == self.owner:
                continue
            released += self.store.release_claims(owner)
        return released

    def reprocess(self, crash_ids: Iterable[str]) -> int:
        self._symbols_generation += 1  # the workers look again for symbols they did not find before
        n = self.store.mark_for_reprocessing(crash_ids)
        self._wake.set()
        return n

    def reprocess_missing_symbols(self, *, debug_file: str | None = None, debug_id: str | None = None,
                                  filename: str | None = None) -> int:
        ids = self.store.crash_ids_missing_symbols(debug_file=debug_file, debug_id=debug_id, filename=filename)
        return self.reprocess(ids)

    def reconfigure(self, config: WorkerConfig) -> None:
        """Process with ``config`` from now on (new symbol settings): idle workers are replaced at once, busy
        ones once the crashes already handed to them (the running one and those waiting in its pipe) are done;
        they are handed no more."""
        self.config = config
        self._wake.set()

    def restrict_to(self, crash_ids: Iterable[str] | None) -> None:
        """Only process these crashes (``crashdesk process --query``); None lifts the restriction."""
        self._only = set(crash_ids) if crash_ids is not None else None

    def notify(self) -> None:
        """New work arrived (the collector, sync or an import calls this)."""
        self._wake.set()

    def cancel(self) -> None:
        self._cancel.set()
        self._wake.set()

    # ------------------------------------------------------------------ running

    def warm_up(self, *, wait: bool = False, timeout: float = 60.0) -> None:
        """Start the whole pool now, ahead of the first crash (the app does this when a session starts, with
        :meth:`start`): a worker's interpreter start and imports then never stand in front of a crash. With
        ``wait``, return once every worker has pre-imported and said it is ready."""
        if not self._workers:
            self._workers = [_Worker(self._ctx, self.config) for _ in range(self.size)]
        if wait:
            for worker in self._workers:
                if not worker.ready:
                    message = worker.wait_ready(timeout)
                    if message is not None and message[0] == "init-error":
                        self.error = f"worker could not start: {message[1]}"

    def start(self) -> None:
        """Process in a background thread until :meth:`cancel`; waits for :meth:`notify` when idle. The whole
        pool is started at once and kept for the session (idle workers keep their symbol indexes open)."""
        self.warm_up()
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, kwargs={"until_empty": False}, daemon=True,
                                        name="crashdesk-processing")
        self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def run_until_empty(self) -> Progress:
        self._run(until_empty=True)
        return self.progress

    def _claim(self, n: int) -> list[str]:
        if self._only is None:
            return self.store.claim(self.owner, limit=n)
        claimed: list[str] = []
        if not self._only:
            return claimed
        ids = self.store.claim_ids(self.owner, sorted(self._only), limit=n)
        self._only.difference_update(ids)
        return ids

    def _job_for(self, crash_id: str) -> Job:
        dumps = self.store.dumps(crash_id)
        annotations = self.store.annotations(crash_id)
        dump_path = None
        if MAIN_DUMP in dumps:
            dump_path = str(self.store.blobs.path(dumps[MAIN_DUMP].sha256))
        elif dumps:
            dump_path = str(self.store.blobs.path(next(iter(dumps.values())).sha256))
        processed = None
        if dump_path is None:
            processed = self.store.get(crash_id).get("server_processed")
            processed = (processed or {}).get("json_dump") if isinstance(processed, dict) else None
        return Job(crash_id, dump_path, annotations, processed, symbols_generation=self._symbols_generation)

    def _emit(self, event: str) -> None:
        self.progress.last_event = event
        if self.on_progress:
            self.on_progress(self.progress)

    def _run(self, *, until_empty: bool) -> None:
        self.release_dead_claims()
        queued = self.store.state_counts()["received"]
        self.progress = Progress(queued=queued)
        self._emit("started")
        try:
            if self.error is not None:  # a worker started by warm_up() could not start
                return
            if not self._workers:
                # a one-off run: as many workers as there are crashes, up to the pool size
                wanted = self.size if not until_empty else min(self.size, queued)
                self._workers = [_Worker(self._ctx, self.config) for _ in range(wanted)]
            with self.store.db.derived_writes():  # results are recomputed if a power cut drops them
                self._loop(until_empty)
        finally:
            # a worker in the middle of a crash is ended (its claim goes back to the queue); idle ones are told
            # to stop all at once and then joined, so stopping takes one bounded wait, not one per worker
            for worker in self._workers:
                if worker.job is not None:
                    self.store.release_claims(self.owner)
                    worker.kill()
                else:
                    worker.ask_to_stop()
            for worker in self._workers:
                if worker.job is None:
                    worker.stop()
            self._workers = []
            self._pending.clear()
            self.store.release_claims(self.owner)
            self._emit("stopped")

    def _loop(self, until_empty: bool) -> None:
        held: list[tuple[JobResult, WorkerConfig]] = []  # received, not written yet (see RECORD_INTERVAL)
        recorded_at = -RECORD_INTERVAL
        while not self._cancel.is_set():
            for n, worker in enumerate(self._workers):
                if worker.job is None and worker.config is not self.config:  # reconfigure(): new settings
                    worker.stop()
                    self._workers[n] = _Worker(self._ctx, self.config)
                elif worker.job is None and not worker.process.is_alive():  # died while idle
                    worker.kill()
                    self._workers[n] = _Worker(self._ctx, self.config)
            self._dispatch()
            busy = [w for w in self._workers if w.job is not None]
            if held and not busy:
                self._record(held)
                held = []
            was_busy = self.progress.running > 0
            self.progress.running = len(busy)
            self._refresh_queued(force=not busy)
            if not busy and was_busy:
                self._emit("idle")  # the last result was reported while it still counted as running
            if not busy:
                if until_empty:
                    return
                self._wake.wait(1.0)
                self._wake.clear()
                continue
            now = time.monotonic()
            timeout = max(0.0, min(w.deadline for w in busy) - now)
            if held:
                timeout = min(timeout, max(0.0, recorded_at + RECORD_INTERVAL - now))
            ready = wait([w.conn for w in busy] + [w.process.sentinel for w in busy], timeout=min(timeout, 0.5))
            now = time.monotonic()
            results: list[tuple[JobResult, WorkerConfig]] = []
            for worker in list(busy):
                if worker.conn in ready or worker.conn.poll():
                    result = self._receive(worker)
                    if result is not None:
                        results.append((result, worker.config))
                elif worker.process.sentinel in ready or not worker.process.is_alive():
                    self._replace(worker, self._death_note(worker))
                elif now >= worker.deadline:
                    self._replace(worker, f"timed out after {self.time_limit:g} s")
            if results:
                # the workers that answered get their next crash before the results are written, so that
                # recording (the parent's share of a crash) runs while they work instead of in front of them
                if not self._cancel.is_set():
                    self._dispatch()
                held.extend(results)
            if held and (now - recorded_at >= RECORD_INTERVAL or self._cancel.is_set()
                         or all(w.job is None for w in self._workers)):
                self._record(held)
                held = []
                recorded_at = time.monotonic()
        if held:
            self._record(held)

    def _dispatch(self) -> None:
        """Hand crashes to the workers: first one to every idle worker, then more to wait in each busy one's
        pipe (:data:`WORKER_DEPTH`). Crashes are claimed a few at a time ahead of need (one claim transaction
        for several); claimed ones not handed out yet go back to the queue when the service stops. Once a claim
        finds the queue drained, a pipe is filled up to :data:`TAIL_DEPTH` only: the last crashes go to the
        worker that runs dry first (their costs differ a lot: a crash meeting a new module builds its index),
        not in equal numbers to both."""
        for depth in range(WORKER_DEPTH):
            # a worker with old settings (reconfigure()) gets nothing more: once idle it is replaced (handed a
            # crash whenever its pipe ran dry, as results came in, it was never idle at the top of the loop)
            open_slots = [w for w in self._workers if len(w.jobs) == depth and w.config is self.config]
            if not open_slots:
                continue
            if len(self._pending) < len(open_slots):  # one claim for the next few crashes
                wanted = len(open_slots) - len(self._pending) + CLAIM_AHEAD
                claimed = self._claim(wanted)
                self._drained = len(claimed) < wanted
                self._pending.extend(claimed)
            if self._drained and depth >= TAIL_DEPTH:
                return
            for worker in open_slots:
                if not self._pending:
                    return
                crash_id = self._pending.popleft()
                try:
                    sent = worker.send(self._job_for(crash_id), self.time_limit, queue=depth > 0)
                except (OSError, EOFError):  # the worker is gone (the loop replaces it): not the crash's fault
                    sent = False
                except Exception as exc:  # the crash's own data is unusable: fail it, go on
                    self.store.mark_failed(crash_id, f"could not start processing: {exc}")
                    self.progress.failed += 1
                    continue
                if not sent:  # too large to wait in the pipe (sent when a worker is idle), or no worker
                    self._pending.appendleft(crash_id)

    def _refresh_queued(self, *, force: bool = False) -> None:
        """``progress.queued`` from the store, at most a few times a second while busy (counting states scans
        the crashes table, which grows with the store while a crash takes milliseconds)."""
        now = time.monotonic()
        if force or now - self._queued_at >= 0.25:
            self._queued_at = now
            self.progress.queued = self.store.state_counts()["received"] + len(self._pending)

    def _death_note(self, worker: _Worker) -> str:
        worker.process.join(1)
        code = worker.process.exitcode
        if code is not None and code < 0:
            return f"worker process was killed by signal {-code} (memory limit or a crash in the worker)"
        return f"worker process exited unexpectedly (status {code})"

    def _receive(self, worker: _Worker) -> JobResult | None:
        """The worker's message; a crash's result is returned for :meth:`_record`, the rest is handled here."""
        try:
            message = worker.conn.recv()
        except (EOFError, OSError):
            self._replace(worker, self._death_note(worker))
            return None
        if isinstance(message, tuple):  # ("ready", pid) / ("init-error", text)
            if message[0] == "init-error":
                # a configuration problem (bad profile, unusable symbol folder): every crash would fail the
                # same way, so give the claims back and stop with the reason instead of failing crashes
                self.error = f"worker could not start: {message[1]}"
                worker.jobs.clear()
                worker.sizes.clear()
                self.cancel()
            worker.ready = True
            return None
        worker.finished()
        return message

    def _record(self, results: list[tuple[JobResult, WorkerConfig]]) -> None:
        """Write results in one transaction (one commit for all), then report them: after the commit, so that
        whoever is told reads the new state. A failing write rolls back every result of the batch (the
        exception goes up, the claims go back to the queue): no write is a savepoint of its own."""
        try:
            with self.store.db.batch(savepoints=False):
                for result, config in results:
                    self._write(result, config)
        except BaseException:
            self.store.forget_cached_ids()  # ids cached by writes that were rolled back with the batch
            raise
        for result, _config in results:
            if result.ok:
                self.progress.done += 1
                self._emit("done")
            else:
                self.progress.failed += 1
                self._emit("failed")
            if self.on_result:
                self.on_result(result.crash_id, result.ok)

    def _write(self, result: JobResult, config: WorkerConfig) -> None:
        if result.ok:
            signature = None
            if result.signature is not None:
                signature = SignatureRecord(result.signature, result.proto_signature, result.signature_notes,
                                            result.profile)
            if result.processed is not None:
                # which symbol sources processed it: the crash view offers reprocessing when they change
                result.processed["symbol_sources"] = symbol_sources_of(config)
                if result.symbol_lookups:  # for `crashdesk symbols explain` and the Modules tab
                    result.processed["symbol_lookups"] = [
                        {"debug_file": k[0], "debug_id": k[1], **v} for k, v in result.symbol_lookups.items()]
                self.store.save_processed(result.crash_id, result.processed, signature=signature,
                                          notes=result.notes, symbol_notes=result.symbol_notes)
            else:
                self.store.mark_signed(result.crash_id, signature, notes=result.notes)
        else:
            error = result.error or "unknown error"
            if error == "memory-limit":
                limit = self.config.memory_limit or 0
                error = f"exceeded {_human_bytes(limit)}"
            self.store.mark_failed(result.crash_id, error)

    def _replace(self, worker: _Worker, note: str) -> None:
        job = worker.job
        # crashes that were waiting in its pipe did nothing wrong: they go to the next idle worker first
        self._pending.extendleft(reversed([j.crash_id for j in list(worker.jobs)[1:]]))
        worker.kill()
        index = self._workers.index(worker)
        self._workers[index] = _Worker(self._ctx, self.config)
        if job is not None:
            self.store.mark_failed(job.crash_id, note)
            self.progress.failed += 1
            self._emit("failed")
            if self.on_result:
                self.on_result(job.crash_id, False)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def default_worker_config(paths, *, symbol_paths: Iterable[Path] = (), symbol_urls: Iterable[str] = (),
                          mozilla_symbol_urls: Iterable[str] = (), profile: str = "auto",
                          memory_limit: int | None = 2 * 1024**3, debuginfod_urls: Iterable[str] = (),
                          environ: Mapping[str, str] | None = None) -> WorkerConfig:
    """The worker configuration for a data folder (``crashdesk.config.paths.Paths``). ``mozilla_symbol_urls``
    are asked as well for Mozilla products (the app passes Mozilla's symbol server; the command line only
    uses the servers it is given). The sources given come first, then those the environment names
    (``DEBUGINFOD_URLS``, ``_NT_SYMBOL_PATH``; ``environ`` defaults to the process environment)."""
    import os

    from crashdesk.config.signature_profiles import load_choice
    from crashdesk.symbols.sources import environment_sources

    choice = load_choice(paths.data_dir)
    env = environment_sources(os.environ if environ is None else environ)
    folders = list(dict.fromkeys([str(p) for p in symbol_paths] + [str(p) for p in env.paths]))
    return WorkerConfig(
        product_profiles=choice.products,
        default_profile=choice.default,
        symbol_paths=tuple(folders),
        symbol_urls=tuple(dict.fromkeys([*symbol_urls, *env.urls])),
        debuginfod_urls=tuple(dict.fromkeys([*debuginfod_urls, *env.debuginfod])),
        mozilla_symbol_urls=tuple(mozilla_symbol_urls),
        symbols_cache=str(paths.symbols_cache),
        profiles_dir=str(paths.profiles),
        profile_name=profile,
        memory_limit=memory_limit,
    )
