"""What the store indexes about every thread of a processed crash (pure: reads the document, never fails).

Each thread of the ``minidump-stackwalk --json`` document becomes a :class:`ThreadStack`: its roles
(``crashing``: the crash's crashing thread; ``main``: the thread named like a main thread, else thread 0),
its name, and its stack as frame rows (inline functions first, as :func:`crashdesk.model.summary.frame_rows`
lists them) with function and module. The crashing thread also gives the trust of each physical frame and
its depth (``frames:``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crashdesk.model.summary import crashing_thread_index

CRASHING = 1
MAIN = 2
ROLES = ("crashing", "main", "any")

#: thread names (lower case) that mark the main thread when a dump names its threads (Firefox "MainThread",
#: Chromium "CrBrowserMain"/"CrRendererMain", Android "main"); without one, thread 0 is the main thread
MAIN_NAMES = frozenset({"main", "mainthread", "main thread", "crbrowsermain", "crrenderermain", "crgpumain",
                        "crutilitymain"})


@dataclass(frozen=True, slots=True)
class ThreadStack:
    index: int                              # position in ``threads``
    roles: int                              # CRASHING | MAIN bits
    name: str | None
    functions: tuple[str | None, ...]       # one per frame row, top first (inlines before their frame)
    modules: tuple[str | None, ...]         # the module file name of each row


@dataclass(frozen=True, slots=True)
class CrashThreads:
    threads: tuple[ThreadStack, ...]
    crashing_trust: tuple[str | None, ...]  # trust of each physical frame of the crashing thread, top first
    crashing_frames: int                    # physical frames in the crashing thread


def _s(value: Any) -> str | None:
    return value if type(value) is str else (None if value is None else str(value))


def unnamed_row(module: str | None, module_offset: Any) -> str | None:
    """What to call a frame without a function: its module and offset as a signature writes them
    (``ntdll.dll@0x9d4c4``: the same code of the same build in every crash), or None without a module (an
    address outside every module names nothing that repeats)."""
    if not module or module_offset is None:
        return None
    try:
        return f"{module}@{hex(int(module_offset, 16))}"
    except (TypeError, ValueError):
        return f"{module}@{module_offset}"


def _rows(frames: Any, labels: bool = False) -> tuple[list[str | None], list[str | None], list[str | None]]:
    functions: list[str | None] = []
    modules: list[str | None] = []
    trust: list[str | None] = []
    for frame in frames if type(frames) is list else ():
        if type(frame) is not dict:
            frame = {}
        module = _s(frame.get("module"))
        inlines = frame.get("inlines")
        if inlines and type(inlines) is list:
            for inline in inlines:
                functions.append(_s(inline.get("function")) if type(inline) is dict else None)
                modules.append(module)
        function = _s(frame.get("function"))
        if labels and not function:
            function = unnamed_row(module, frame.get("module_offset"))
        functions.append(function)
        modules.append(module)
        trust.append(_s(frame.get("trust")))
    return functions, modules, trust


def row_names(thread: Any) -> list[str | None]:
    """A thread's frame rows (those :func:`crash_threads` lists for it) as the views name them: the function,
    else :func:`unnamed_row` (None without a module)."""
    return _rows(thread.get("frames") if type(thread) is dict else None, True)[0]


def main_thread_index(threads: list) -> int | None:
    """The main thread: the first whose name is a main-thread name, else thread 0 (None without threads)."""
    for n, thread in enumerate(threads):
        name = _s(thread.get("thread_name")) if type(thread) is dict else None
        if name and name.strip().lower() in MAIN_NAMES:
            return n
    return 0 if threads else None


def crash_threads(processed: dict[str, Any] | None, *, labels: bool = False) -> CrashThreads:
    """Every thread's stack with its roles, and the crashing thread's trust and depth. ``labels``: a frame
    without a function gets its :func:`unnamed_row` name instead of None (for display: the store indexes
    functions only)."""
    proc = processed if type(processed) is dict else {}
    threads = proc.get("threads")
    threads = threads if type(threads) is list else []
    crashing = crashing_thread_index(proc)
    if crashing is not None and not 0 <= crashing < len(threads):
        crashing = None
    main = main_thread_index(threads)
    out: list[ThreadStack] = []
    trust: list[str | None] = []
    for n, thread in enumerate(threads):
        if type(thread) is not dict:
            thread = {}
        functions, modules, frame_trust = _rows(thread.get("frames"), labels)
        roles = (CRASHING if n == crashing else 0) | (MAIN if n == main else 0)
        if n == crashing:
            trust = frame_trust
        name = _s(thread.get("thread_name")) or None
        out.append(ThreadStack(n, roles, name, tuple(functions), tuple(modules)))
    if crashing is None and type(proc.get("crashing_thread")) is dict:
        # a document with the crashing thread only (no index into threads)
        functions, modules, trust = _rows(proc["crashing_thread"].get("frames"), labels)
        out.append(ThreadStack(-1, CRASHING, None, tuple(functions), tuple(modules)))
    return CrashThreads(tuple(out), tuple(trust), len(trust))


def has_role(thread: ThreadStack, role: str) -> bool:
    return role == "any" or (role == "crashing" and bool(thread.roles & CRASHING)) or (
        role == "main" and bool(thread.roles & MAIN))


def stack_matches(functions, elements: list, direct: list[bool]) -> bool:
    """Whether a stack (top first) holds ``elements`` as callers above callees: ``elements[0]`` is the
    outermost (a caller), each next element is called by the one before it, directly (``direct[k]`` between
    elements ``k`` and ``k + 1``: the very next frame row towards the top) or through any frames between.
    Each element is a predicate on a function name, or a set of ids when ``functions`` holds ids."""
    seq = list(reversed(functions))  # from the outermost caller towards the top
    hits = [element.__contains__ if isinstance(element, set | frozenset) else
            (lambda v, e=element: v is not None and e(v)) for element in elements]
    # positions where the elements so far can end, element by element: O(elements x frames)
    ends = [i for i, value in enumerate(seq) if hits[0](value)] if elements else [-1]
    for k in range(1, len(elements)):
        if not ends:
            return False
        hit = hits[k]
        if direct[k - 1]:
            ends = [i + 1 for i in ends if i + 1 < len(seq) and hit(seq[i + 1])]
        else:
            ends = [i for i in range(ends[0] + 1, len(seq)) if hit(seq[i])]
    return bool(ends)


def _hit(element, value) -> bool:
    if isinstance(element, set | frozenset):
        return value in element
    return value is not None and element(value)


# ---------------------------------------------------------------------------------------------- server vs local

STACK_FIELDS = ("function", "module", "trust")


def crashing_frames(processed: dict[str, Any] | None) -> list[dict]:
    """The crashing thread's physical frames (``threads[crashing_thread]``, else ``crashing_thread.frames``)."""
    proc = processed if type(processed) is dict else {}
    threads = proc.get("threads") if type(proc.get("threads")) is list else []
    index = crashing_thread_index(proc)
    frames = None
    if index is not None and 0 <= index < len(threads) and type(threads[index]) is dict:
        frames = threads[index].get("frames")
    elif type(proc.get("crashing_thread")) is dict:
        frames = proc["crashing_thread"].get("frames")
    return [f if type(f) is dict else {} for f in frames] if type(frames) is list else []


def server_stackwalk(server: dict[str, Any] | None) -> dict[str, Any] | None:
    """The stackwalker document inside a server's processed crash: Socorro keeps it under ``json_dump``;
    a document without one is taken as the stackwalker output itself."""
    if type(server) is not dict:
        return None
    inner = server.get("json_dump")
    return inner if type(inner) is dict else server


def stack_diff(local: dict[str, Any] | None, server: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The crashing thread of the local re-walk against the server's (``server`` is the server's processed crash,
    see :func:`server_stackwalk`), frame by frame (by position): per frame
    ``{"index", "local", "server", "differs"}`` with each side's function, module and trust (None past its
    end) and the fields that differ."""
    lf, sf = crashing_frames(local), crashing_frames(server_stackwalk(server))
    rows = []
    for k in range(max(len(lf), len(sf))):
        a = {f: _s(lf[k].get(f)) for f in STACK_FIELDS} if k < len(lf) else None
        b = {f: _s(sf[k].get(f)) for f in STACK_FIELDS} if k < len(sf) else None
        differs = list(STACK_FIELDS) if a is None or b is None else [f for f in STACK_FIELDS if a[f] != b[f]]
        rows.append({"index": k, "local": a, "server": b, "differs": differs})
    return rows


def stacks_differ(local: dict[str, Any] | None, server: dict[str, Any] | None) -> bool | None:
    """Whether the two crashing-thread stacks differ in any frame's function, module or trust (None when either
    document is missing)."""
    if type(local) is not dict or type(server) is not dict:
        return None
    return any(row["differs"] for row in stack_diff(local, server))
