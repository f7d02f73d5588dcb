"""The worker process: stackwalk one dump, sign it, send the result back.

Each worker lives long (its symbol provider keeps indexes open and warm across crashes), applies an address
space limit to itself, and answers one request at a time over a pipe. It never touches the database: the
parent records results, so a worker killed mid-crash can't leave a half-written transaction.
"""

from __future__ import annotations

import os
import resource
import signal
import time
import traceback
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

TEST_HOOKS_ENV = "CRASHDESK_ENABLE_TEST_HOOKS"
TEST_HOOK_ANNOTATION = "CrashDeskTestHook"


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    symbol_paths: tuple[str, ...] = ()
    symbol_urls: tuple[str, ...] = ()
    symbols_cache: str | None = None
    mozilla_symbol_urls: tuple[str, ...] = ()  # also asked for Mozilla products (the app's default setting)
    profiles_dir: str | None = None  # the data folder's profiles/ (user profiles shadow built-ins)
    profile_name: str = "auto"  # "auto": Mozilla's rules for Mozilla products, the generic profile otherwise
    memory_limit: int | None = 2 * 1024**3  # bytes of address space, None = unlimited


@dataclass(slots=True)
class Job:
    crash_id: str
    dump_path: str | None
    annotations: dict[str, Any]
    processed: dict | None = None  # already processed (e.g. synced without a dump): only sign it


@dataclass(slots=True)
class JobResult:
    crash_id: str
    ok: bool
    processed: dict | None = None
    signature: str | None = None
    proto_signature: str | None = None
    signature_notes: list[str] = field(default_factory=list)
    profile: str = ""
    notes: list[str] = field(default_factory=list)
    symbol_notes: dict[tuple[str, str], str] = field(default_factory=dict)  # (debug file, id) -> why missing
    error: str | None = None
    seconds: float = 0.0


def _apply_memory_limit(limit: int | None) -> None:
    if not limit:
        return
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        new = limit if hard == resource.RLIM_INFINITY else min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (new, hard))
    except (ValueError, OSError):
        pass


MOZILLA_PRODUCTS = frozenset({
    "firefox", "fenix", "focus", "thunderbird", "seamonkey", "firefoxreality", "reference-browser",
    "mozillavpn", "b2g", "geckoview",
})


def _is_mozilla(annotations: dict[str, Any]) -> bool:
    product = str(annotations.get("ProductName") or annotations.get("prod") or "").lower()
    return product in MOZILLA_PRODUCTS


class _Processor:
    def __init__(self, config: WorkerConfig) -> None:
        from crashdesk.engine.signature import SignatureGenerator, resolve_profile
        from crashdesk.symbols import build_provider

        self.config = config
        folders = [Path(p) for p in config.symbol_paths]
        cache = Path(config.symbols_cache) if config.symbols_cache else None
        self.provider = build_provider(folders, list(config.symbol_urls), cache)
        self.mozilla_provider = self.provider
        if config.mozilla_symbol_urls:
            urls = list(dict.fromkeys([*config.symbol_urls, *config.mozilla_symbol_urls]))
            self.mozilla_provider = build_provider(folders, urls, cache)
        names = ("mozilla", "generic") if config.profile_name == "auto" else (config.profile_name,)
        self.generators = {
            name: SignatureGenerator(resolve_profile(name, config.profiles_dir)) for name in names
        }

    def _generator(self, annotations: dict[str, Any]):
        if self.config.profile_name != "auto":
            return self.config.profile_name, self.generators[self.config.profile_name]
        name = "mozilla" if _is_mozilla(annotations) else "generic"
        return name, self.generators[name]

    def run(self, job: Job) -> JobResult:
        from crashdesk.engine.stackwalk import process_minidump

        started = time.monotonic()
        if os.environ.get(TEST_HOOKS_ENV) == "1":
            _test_hook(job.annotations.get(TEST_HOOK_ANNOTATION))
        notes: list[str] = []
        processed = job.processed
        provider = self.mozilla_provider if _is_mozilla(job.annotations) else self.provider
        forget = getattr(provider, "forget_misses", None)
        if forget is not None:  # symbols added since an earlier crash missed them must be found now
            forget()
        if job.dump_path:
            # registers on every crashing-thread frame where unwinding recovered them (the crash view shows
            # them per frame; the reference JSON keeps only the context frame's)
            processed = process_minidump(job.dump_path, provider, crashing_thread_registers=True)
            # what the stackwalker noticed about the dump itself (streams past the end of a truncated file,
            # unreadable streams) belongs on the crash, where the list and the crash view show notes
            notes.extend(f"minidump: {n}" for n in processed.get("notes") or [] if isinstance(n, str))
        elif processed is None:
            return JobResult(job.crash_id, False, error="no minidump and no processed crash to sign")
        else:
            notes.append("no minidump: signed the server's processed crash")
        lookup_notes = getattr(provider, "notes", None)
        symbol_notes = lookup_notes() if (lookup_notes is not None and job.dump_path) else {}
        profile, generator = self._generator(job.annotations)
        result = generator.generate_from({"stackwalk": processed, "annotations": job.annotations})
        return JobResult(
            job.crash_id, True, processed=processed if job.dump_path else None,
            signature=result.signature, proto_signature=result.proto_signature,
            signature_notes=list(result.notes), profile=profile, notes=notes, symbol_notes=symbol_notes,
            seconds=time.monotonic() - started,
        )


def _test_hook(kind: Any) -> None:
    """Misbehave on purpose, for the service's limit tests (only with CRASHDESK_ENABLE_TEST_HOOKS=1)."""
    if kind == "hang":
        while True:
            time.sleep(1)
    elif kind == "alloc":
        hog = []
        while True:
            hog.append(bytearray(64 * 1024 * 1024))
    elif kind == "die":
        os._exit(3)


def worker_main(conn: Connection, config: WorkerConfig) -> None:
    """Entry point of a worker process: serve jobs until the pipe closes or ``None`` arrives. Ctrl-C is the
    parent's to handle (it stops the workers), so it is ignored here."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _apply_memory_limit(config.memory_limit)
    try:
        processor = _Processor(config)
    except Exception as exc:  # configuration problems are reported once, then the worker idles out
        conn.send(("init-error", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", os.getpid()))
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        try:
            result = processor.run(job)
        except MemoryError:
            result = JobResult(job.crash_id, False, error="memory-limit")
        except Exception as exc:
            detail = str(exc) or type(exc).__name__
            tb = traceback.format_exc(limit=3)
            result = JobResult(job.crash_id, False, error=f"{type(exc).__name__}: {detail}",
                               notes=[tb] if os.environ.get("CRASHDESK_DEBUG") else [])
        try:
            conn.send(result)
        except (OSError, EOFError):
            return
