"""Run the native reader on untrusted files in a child process.

``symbolic`` is Rust code behind a C interface; a hostile or damaged file can take the whole process down
(a segmentation fault was seen on mutated PDB/ELF/Mach-O files). Everything that parses a native file --
identifying it and converting it -- therefore runs in a short-lived child with an address-space limit and a
time limit; the parent only ever opens the caches the child wrote (our own, checksummed formats). A child that
dies or overruns becomes a :class:`NativeFileError` for that one file.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from crashdesk.engine.native.errors import NativeFileError
from crashdesk.engine.symfile.errors import DebugIdMismatch

MEMORY_LIMIT = 6 << 30  # address space of a conversion child (symbolic maps and inflates debug sections)
CONVERT_TIMEOUT = 900.0
IDENTIFY_TIMEOUT = 60.0  # per file


class _ForkChannel:
    """A child made with ``os.fork`` sending length-prefixed pickles up a pipe. Unlike ``multiprocessing``
    it also works inside daemonic worker processes (the processing service's workers are)."""

    def __init__(self, target, args) -> None:
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child
            code = 0
            try:
                os.close(r)
                target(_PipeWriter(w), *args)
            except BaseException:  # noqa: BLE001
                code = 1
            finally:
                os._exit(code)
        os.close(w)
        self.pid = pid
        self.fd = r
        self.buf = b""
        self.exitcode: int | None = None

    def recv(self, timeout: float):
        """The next message, or None when the child is gone or the time is up."""
        import pickle
        import select

        deadline = time.monotonic() + timeout
        while True:
            if len(self.buf) >= 8:
                size = int.from_bytes(self.buf[:8], "little")
                if len(self.buf) >= 8 + size:
                    msg = pickle.loads(self.buf[8:8 + size])
                    self.buf = self.buf[8 + size:]
                    return msg
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.fd], [], [], left)
            if not ready:
                return None
            chunk = os.read(self.fd, 1 << 20)
            if not chunk:
                return None
            self.buf += chunk

    def close(self, kill: bool) -> None:
        if kill:
            try:
                os.kill(self.pid, 9)
            except OSError:
                pass
        try:
            _pid, status = os.waitpid(self.pid, 0)
            self.exitcode = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        except ChildProcessError:
            self.exitcode = None
        os.close(self.fd)


class _PipeWriter:
    def __init__(self, fd: int) -> None:
        self.fd = fd

    def send(self, obj) -> None:
        import pickle

        data = pickle.dumps(obj)
        data = len(data).to_bytes(8, "little") + data
        while data:
            n = os.write(self.fd, data)
            data = data[n:]

    def close(self) -> None:
        try:
            os.close(self.fd)
        except OSError:
            pass


def _use_fork() -> bool:
    """os.fork on Linux; elsewhere only inside daemonic processes (the processing workers), where
    ``multiprocessing`` may not start children."""
    if not hasattr(os, "fork"):
        return False
    return sys.platform.startswith("linux") or multiprocessing.current_process().daemon


def _context():
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods and sys.platform != "darwin" else "spawn")


def _limit_memory(limit: int) -> None:
    try:  # a crash in the child is reported by the parent; no fault dump on the inherited stderr
        import faulthandler

        faulthandler.disable()
    except (ImportError, RuntimeError):
        pass
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        want = limit if hard == resource.RLIM_INFINITY else min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (want, hard))
    except (ImportError, ValueError, OSError):
        pass


def _child_one(conn, fn, args, limit):
    _limit_memory(limit)
    try:
        conn.send(("ok", fn(*args)))
    except DebugIdMismatch as exc:
        conn.send(("mismatch", (exc.path, exc.expected, exc.found)))
    except NativeFileError as exc:
        conn.send(("error", str(exc)))
    except MemoryError:
        conn.send(("error", "out of memory reading the file (over the native reader's limit)"))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent as this file's failure
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "did not finish in time"
    if code < 0:
        return f"crashed (signal {-code})"
    return f"exited with status {code}"


def run_isolated(fn: Callable[..., Any], args: tuple, *, what: str, timeout: float = CONVERT_TIMEOUT,
                 memory_limit: int = MEMORY_LIMIT) -> Any:
    """``fn(*args)`` in a child process; its result (picklable), or :class:`NativeFileError`."""
    if os.environ.get("CRASHDESK_NATIVE_IN_PROCESS") == "1":  # debugging aid: no child
        return fn(*args)
    if _use_fork():
        chan = _ForkChannel(_child_one, (fn, args, memory_limit))
        msg = chan.recv(timeout)
        chan.close(kill=msg is None)
        if msg is None:
            raise NativeFileError(f"{what}: the native reader {_describe_exit(chan.exitcode)} on this file; "
                                  "not used")
        return _answer(msg)
    ctx = _context()
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child_one, args=(child, fn, args, memory_limit), daemon=True)
    proc.start()
    child.close()
    try:
        if parent.poll(timeout):
            try:
                status, value = parent.recv()
            except (EOFError, OSError):
                status, value = None, None
        else:
            status, value = None, None
    finally:
        if status is None:
            proc.kill()
        proc.join(5)
        parent.close()
    if status is None:
        raise NativeFileError(f"{what}: the native reader {_describe_exit(proc.exitcode)} on this file; not used")
    return _answer((status, value))


def _answer(msg):
    status, value = msg
    if status == "ok":
        return value
    if status == "mismatch":
        raise DebugIdMismatch(*value)
    raise NativeFileError(value)


def _child_many(conn, fn, items, limit):
    _limit_memory(limit)
    try:
        for i, item in enumerate(items):
            conn.send(("start", i))
            try:
                conn.send(("ok", i, fn(item)))
            except NativeFileError as exc:
                conn.send(("error", i, str(exc)))
            except MemoryError:
                conn.send(("error", i, "out of memory reading the file"))
            except Exception as exc:  # noqa: BLE001
                conn.send(("error", i, f"{type(exc).__name__}: {exc}"))
        conn.send(("done", None))
    except BaseException:  # noqa: BLE001 - the parent sees the pipe close
        traceback.print_exc()
    finally:
        conn.close()


def map_isolated(fn: Callable[[Any], Any], items: Iterable[Any], *, timeout: float = IDENTIFY_TIMEOUT,
                 memory_limit: int = MEMORY_LIMIT) -> Iterator[tuple[int, str, Any]]:
    """``fn`` over ``items`` in one child process, restarted after the item it died on.

    Yields ``(index, "ok", result)`` or ``(index, "error", message)`` for every item, in order."""
    items = list(items)
    start = 0
    in_process = os.environ.get("CRASHDESK_NATIVE_IN_PROCESS") == "1"
    ctx = None if in_process or _use_fork() else _context()
    if in_process:
        for i, item in enumerate(items):
            try:
                yield i, "ok", fn(item)
            except NativeFileError as exc:
                yield i, "error", str(exc)
        return
    while start < len(items):
        if _use_fork():
            chan = _ForkChannel(_child_many, (fn, items[start:], memory_limit))
            proc = parent = None
        else:
            chan = None
            parent, child = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_child_many, args=(child, fn, items[start:], memory_limit), daemon=True)
            proc.start()
            child.close()
        current = None
        resume = start
        finished = False
        try:
            while True:
                if chan is not None:
                    msg = chan.recv(timeout)
                    if msg is None:
                        break
                else:
                    if not parent.poll(timeout):
                        break
                    try:
                        msg = parent.recv()
                    except (EOFError, OSError):
                        break
                if msg[0] == "start":
                    current = start + msg[1]
                elif msg[0] == "done":
                    finished = True
                    break
                else:
                    yield start + msg[1], msg[0], msg[2]
                    current = None
                    resume = start + msg[1] + 1
        finally:
            if chan is not None:
                chan.close(kill=not finished)
                exitcode = chan.exitcode
            else:
                if not finished:
                    proc.kill()
                proc.join(5)
                parent.close()
                exitcode = proc.exitcode
        if finished:
            return
        if current is None:  # died between items: go on after the last answered one
            if resume == start:
                raise NativeFileError(f"the native reader {_describe_exit(exitcode)} before reading a file")
            start = resume
            continue
        yield current, "error", f"the native reader {_describe_exit(exitcode)} on this file; not used"
        start = current + 1
