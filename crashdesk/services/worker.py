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
#: seconds a worker trusts "no symbols for this module" before it looks in the symbol folders again (a symbol
#: file dropped into a folder is seen by the crashes that come after; reprocessing looks again at once)
MISS_TTL = 1.0
TEST_HOOK_ANNOTATION = "CrashDeskTestHook"


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    symbol_paths: tuple[str, ...] = ()
    symbol_urls: tuple[str, ...] = ()
    symbols_cache: str | None = None
    mozilla_symbol_urls: tuple[str, ...] = ()  # also asked for Mozilla products (the app's default setting)
    profiles_dir: str | None = None  # the data folder's profiles/ (user profiles shadow built-ins)
    profile_name: str = "auto"  # "auto": the product -> profile rule (engine.signature.choice) decides
    #: the Settings table of the rule: (product, profile) rows and the default profile
    product_profiles: tuple[tuple[str, str], ...] = ()
    default_profile: str = "generic"
    memory_limit: int | None = 2 * 1024**3  # bytes of address space, None = unlimited
    debuginfod_urls: tuple[str, ...] = ()  # debuginfod servers (ELF debug files by build id)


@dataclass(slots=True)
class Job:
    crash_id: str
    dump_path: str | None
    annotations: dict[str, Any]
    processed: dict | None = None  # already processed (e.g. synced without a dump): only sign it
    #: bumped by the service when crashes are sent back for reprocessing (e.g. after symbols were added): a new
    #: value makes the worker look again for every module it found no symbols for
    symbols_generation: int = 0


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
    symbol_lookups: dict[tuple[str, str], dict] = field(default_factory=dict)  # (debug file, id) -> places tried
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


#: the processed crash's extra key (not in the minidump-stackwalk schema, which names modules by file name
#: only): module file name -> full path, read by the generic profile's module rules
from crashdesk.engine.signature.convert import MODULE_PATHS_KEY  # noqa: E402


def module_paths(dump) -> dict[str, str]:
    """``{file name: path}`` of the dump's modules whose recorded name is a path (Windows, macOS and most
    Linux dumps; Crashpad's Linux handler sometimes records only the file name). ``dump``: a path, or a
    :class:`~crashdesk.engine.minidump.reader.Minidump` already open (its module list is parsed once)."""
    from crashdesk.engine.minidump.reader import Minidump
    from crashdesk.errors import CrashDeskError

    try:
        if isinstance(dump, Minidump):
            return _paths_of(dump)
        with Minidump.open(dump) as opened:
            return _paths_of(opened)
    except (CrashDeskError, OSError, ValueError):
        return {}


def _paths_of(dump) -> dict[str, str]:
    return {m.filename: m.code_file for m in dump.modules or []
            if m.code_file and m.filename and m.code_file != m.filename}


def _is_mozilla(annotations: dict[str, Any]) -> bool:
    from crashdesk.engine.signature.choice import is_mozilla

    return is_mozilla(annotations)


def _preload() -> None:
    """Import what every crash needs before the worker says it is ready, so the first crash does not pay for
    it: the stackwalker and the instruction decoder (capstone, loaded on the first decoded instruction
    otherwise). A worker is started ahead of its first crash (:mod:`crashdesk.services.processing`). The
    command line imports the crash_info fields, the decoder and each CPU's unwinder only for a dump that needs
    them; a worker takes them all here."""
    import crashdesk.engine.crash_info.amd64_access  # noqa: F401
    import crashdesk.engine.stackwalk  # noqa: F401
    from crashdesk.engine.crash_info.x86_decode import _capstone
    from crashdesk.engine.unwind import amd64, arm, arm64, x86  # noqa: F401

    try:
        _capstone()
    except (ImportError, OSError):  # pragma: no cover - a dependency of the project; the crash notes it if missing
        pass


#: what a first pass needs beyond :func:`_preload` that the command line imports only on the path that needs it:
#: the Windows error names (a Windows dump's exception and last-error codes), the ``.sym`` scanner and the
#: build lock (the first crash meeting a module builds its index), the lookup records every crash reports, the
#: symbol folders' index of native debug files (a module without a ``.sym`` file), and the UTF-16 codec (module
#: and thread names). A worker imports them while no crash waits for it
#: (:meth:`_Processor.prepare_next`): a pool started ahead of the first crash has them before it says it is
#: ready; a worker started for crashes already waiting goes to them first.
LATER_IMPORTS = (
    "crashdesk.engine.minidump.windows_error_names",
    "crashdesk.engine.symfile.scan",
    "crashdesk.engine.build_lock",
    "crashdesk.symbols.explain",
    "crashdesk.symbols.folder_index",
    "encodings.utf_16_le",
)


def _compile_scanner() -> None:
    """The ``.sym`` scanner's grammar (~6 ms to compile), which the first index a worker builds needs."""
    from crashdesk.engine.symfile.scan import prepare

    prepare()


#: what a first pass builds on the way once, after :data:`LATER_IMPORTS`, done the same way while no crash waits
LATER_STEPS = (_compile_scanner,)


class _Processor:
    def __init__(self, config: WorkerConfig) -> None:
        from crashdesk.engine.signature import SignatureGenerator, resolve_profile
        from crashdesk.engine.signature.profiles import BUILTIN_NAMES
        from crashdesk.symbols import build_provider

        self.config = config
        folders = [Path(p) for p in config.symbol_paths]
        cache = Path(config.symbols_cache) if config.symbols_cache else None
        dbg = list(config.debuginfod_urls)
        self.provider = build_provider(folders, list(config.symbol_urls), cache, debuginfod_urls=dbg)
        self.mozilla_provider = self.provider
        if config.mozilla_symbol_urls:
            urls = list(dict.fromkeys([*config.symbol_urls, *config.mozilla_symbol_urls]))
            self.mozilla_provider = build_provider(folders, urls, cache, debuginfod_urls=dbg)
        from crashdesk.engine.signature.choice import ProfileChoice

        self.choice = ProfileChoice(config.product_profiles, config.default_profile)
        names = sorted(self.choice.names()) if config.profile_name == "auto" else [config.profile_name]
        # every profile the rule can pick is resolved up front: a bad one fails the worker's start, not a crash.
        # Built-in profiles other than the default ship with the app and cannot be bad: they are compiled after
        # the worker said it is ready, while it waits for work (the Mozilla lists are some 700 regular
        # expressions), or when the first crash needs one (:meth:`prepare_next`, :meth:`_generator`).
        default = config.default_profile if config.profile_name == "auto" else config.profile_name
        self._deferred = [n for n in names if n != default and n in BUILTIN_NAMES and not _user_profile(config, n)]
        self._imports = list(LATER_IMPORTS)
        self._steps = list(LATER_STEPS)
        self._make_generator = lambda name: SignatureGenerator(resolve_profile(name, config.profiles_dir))
        self.generators = {name: self._make_generator(name) for name in names if name not in self._deferred}
        self._unprepared = list(self.generators)  # generators whose first-crash work is still to do
        self._generation: int | None = None  # the symbols generation the misses were last dropped for
        self._misses_dropped_at = 0.0

    def _generator(self, annotations: dict[str, Any]):
        name = self.config.profile_name if self.config.profile_name != "auto" else \
            self.choice.for_annotations(annotations)
        if name not in self.generators:
            self.generators[name] = self._make_generator(name)
            if name in self._deferred:
                self._deferred.remove(name)
        return name, self.generators[name]

    def prepare_next(self) -> bool:
        """Do one thing left for later: import one of :data:`LATER_IMPORTS`, else do one of :data:`LATER_STEPS`,
        else build what a profile's rules build on the first crash (:meth:`SignatureGenerator.prepare`), else
        compile one built-in profile; False when nothing is left. Each step is short, so that a crash arriving
        meanwhile waits little."""
        if self._imports:
            import importlib

            importlib.import_module(self._imports.pop(0))
            return True
        if self._steps:
            self._steps.pop(0)()
            return True
        if self._unprepared:
            generator = self.generators.get(self._unprepared.pop(0))
            try:
                if generator is not None:
                    generator.prepare()
            except Exception:  # the crash that needs it reports the error
                pass
            return True
        if not self._deferred:
            return False
        name = self._deferred.pop(0)
        if name not in self.generators:
            try:
                self.generators[name] = self._make_generator(name)
                self.generators[name].prepare()
            except Exception:  # a bundled profile: the crash that needs it reports the error
                pass
        return True

    def _drop_stale_misses(self, generation: int) -> None:
        """Symbols added since an earlier crash missed them must be found: look again for modules without
        symbols when the service says so (a new ``symbols_generation``: reprocessing) or when the misses are
        older than :data:`MISS_TTL`. Not before every crash: a crash's modules without symbols (system
        libraries, most of a dump's modules) would cost a probe of every symbol folder each time."""
        now = time.monotonic()
        if generation == self._generation and now - self._misses_dropped_at < MISS_TTL:
            return
        self._generation, self._misses_dropped_at = generation, now
        for provider in {id(p): p for p in (self.provider, self.mozilla_provider)}.values():
            forget = getattr(provider, "forget_misses", None)
            if forget is not None:
                forget()

    def run(self, job: Job) -> JobResult:
        from crashdesk.engine.stackwalk import process_minidump

        started = time.monotonic()
        if os.environ.get(TEST_HOOKS_ENV) == "1":
            _test_hook(job.annotations.get(TEST_HOOK_ANNOTATION))
        notes: list[str] = []
        processed = job.processed
        provider = self.mozilla_provider if _is_mozilla(job.annotations) else self.provider
        self._drop_stale_misses(job.symbols_generation)
        if job.dump_path:
            from crashdesk.engine.minidump.reader import Minidump

            with Minidump.open(job.dump_path) as dump:  # opened once: the module list is parsed once
                # the crashing thread's caller frames keep the registers unwinding recovered (the Stack tab
                # shows them); the process uptime the dump records says whether it crashed at start-up
                processed = process_minidump(dump, provider, caller_registers=True, uptime=True)
                paths = module_paths(dump)
            if paths:
                processed[MODULE_PATHS_KEY] = paths
            # what the stackwalker noticed about the dump itself (streams past the end of a truncated file,
            # unreadable streams) belongs on the crash, where the list and the crash view show notes
            notes.extend(f"minidump: {n}" for n in processed.get("notes") or [] if isinstance(n, str))
        elif processed is None:
            return JobResult(job.crash_id, False, error="no minidump and no processed crash to sign")
        else:
            notes.append("no minidump: signed the server's processed crash")
        mine = _module_keys(processed) if job.dump_path else set()  # the provider remembers other crashes' too
        lookup_notes = getattr(provider, "notes", None)
        symbol_notes = lookup_notes(mine) if (lookup_notes is not None and job.dump_path) else {}
        lookups = getattr(provider, "lookups", None)
        symbol_lookups = _lookups_of(processed, lookups(mine)) if (lookups is not None and job.dump_path) else {}
        profile, generator = self._generator(job.annotations)
        result = generator.generate_from({"stackwalk": processed, "annotations": job.annotations})
        return JobResult(
            job.crash_id, True, processed=processed if job.dump_path else None,
            signature=result.signature, proto_signature=result.proto_signature,
            signature_notes=list(result.notes), profile=profile, notes=notes, symbol_notes=symbol_notes,
            symbol_lookups=symbol_lookups, seconds=time.monotonic() - started,
        )


def _module_keys(processed: dict | None) -> set[tuple[str, str]]:
    """(debug file, DEBUG ID) of the processed crash's modules."""
    return {(str(m.get("debug_file") or ""), str(m.get("debug_id") or "").upper())
            for m in (processed or {}).get("modules") or [] if isinstance(m, dict)}


def _user_profile(config: WorkerConfig, name: str) -> bool:
    """A folder in the data folder's profiles/ shadows the built-in profile of that name."""
    return bool(config.profiles_dir) and (Path(config.profiles_dir) / name).is_dir()


def _lookups_of(processed: dict | None, lookups: dict[tuple[str, str], dict]) -> dict[tuple[str, str], dict]:
    """The lookups of this crash's modules (a long-lived provider remembers other crashes' too). A module found
    at the first place asked keeps only what was used; the others keep every place tried."""
    out = {}
    for m in (processed or {}).get("modules") or []:
        if not isinstance(m, dict):
            continue
        key = (str(m.get("debug_file") or ""), str(m.get("debug_id") or "").upper())
        rec = lookups.get(key)
        if rec is None or key in out:
            continue
        rec = dict(rec)
        if rec.get("status") == "loaded" and len(rec.get("attempts") or []) <= 1:
            rec.pop("attempts", None)
        out[key] = rec
    return out


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
        _preload()
        # started ahead of work (warm_up): import and compile everything before 'ready'; with crashes already
        # waiting, go to them and do the rest when idle
        while not conn.poll(0) and processor.prepare_next():
            pass
    except Exception as exc:  # configuration problems are reported once, then the worker idles out
        conn.send(("init-error", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", os.getpid()))
    while True:
        try:
            while not conn.poll(0) and processor.prepare_next():  # idle: do what was left for later
                pass
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
