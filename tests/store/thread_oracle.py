"""Brute-force evaluation of the every-thread query terms over processed documents, written from the README's
definitions (not from the store's code): each helper returns (query text, predicate over a processed crash).

* the main thread is the first thread whose name is a main-thread name, else thread 0;
* a thread's stack rows, top first: each frame's inline functions (as the document lists them, innermost
  first), then the frame's own function; a row's module is its frame's module;
* ``stack:"A > B"``: A calls B on one thread (B anywhere nearer the top than A); ``>>``: right above it;
* ``frame.trust:T@N``: one of the crashing thread's top N frames has trust T (no trust counts as "none");
* ``frames:``: the crashing thread's number of frames.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

MAIN_NAMES = {"main", "mainthread", "main thread", "crbrowsermain", "crrenderermain", "crgpumain",
              "crutilitymain"}


def fold(text: str) -> str:
    return text.translate(str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz"))


def text_match(op: str, value: str, candidate: str | None) -> bool:
    if candidate is None:
        return False
    a, b = fold(candidate), fold(value)
    return {"=": a == b, "~": b in a, "^": a.startswith(b), "$": a.endswith(b)}[op]


def crashing_index(doc: dict) -> int | None:
    index = (doc.get("crash_info") or {}).get("crashing_thread")
    threads = doc.get("threads") or []
    return index if isinstance(index, int) and 0 <= index < len(threads) else None


def main_index(doc: dict) -> int | None:
    threads = doc.get("threads") or []
    for n, t in enumerate(threads):
        if (t.get("thread_name") or "").strip().lower() in MAIN_NAMES:
            return n
    return 0 if threads else None


def rows(thread: dict) -> list[tuple[str | None, str | None]]:
    out = []
    for frame in thread.get("frames") or []:
        for inline in frame.get("inlines") or []:
            out.append((inline.get("function"), frame.get("module")))
        out.append((frame.get("function"), frame.get("module")))
    return out


def display_rows(thread: dict) -> list[str]:
    """What the all-threads and three-way views show for a thread's rows: the function, else (a frame without
    one) ``module@0x<module offset>`` as a signature names it, else ``??``."""
    out = []
    for frame in thread.get("frames") or []:
        out += [i.get("function") or "??" for i in frame.get("inlines") or []]
        function = frame.get("function")
        if not function and frame.get("module") and frame.get("module_offset") is not None:
            function = f"{frame['module']}@0x{int(frame['module_offset'], 16):x}"
        out.append(function or "??")
    return out


def threads_in(doc: dict, scope: tuple[str, str, str] | None) -> list[dict]:
    """scope: None (crashing), ("role", r, "") or ("name", op, value)."""
    threads = doc.get("threads") or []
    if scope is None or scope == ("role", "crashing", ""):
        i = crashing_index(doc)
        return [] if i is None else [threads[i]]
    if scope[0] == "role":
        if scope[1] == "main":
            i = main_index(doc)
            return [] if i is None else [threads[i]]
        return list(threads)
    return [t for t in threads if t.get("thread_name") and text_match(scope[1], scope[2], t["thread_name"])]


def scope_text(scope) -> str:
    if scope is None:
        return ""
    if scope[0] == "role":
        return f"thread:{scope[1]} "
    return f'thread.name:{"" if scope[1] == "=" else scope[1]}"{scope[2]}" '


def q_scope_alone(scope):
    def pred(doc):
        return bool(threads_in(doc, scope))
    return scope_text(scope).strip(), pred


def q_function(scope, op, value):
    def pred(doc):
        return any(text_match(op, value, f) for t in threads_in(doc, scope) for f, _ in rows(t))
    opt = "" if op == "~" else op
    return f'{scope_text(scope)}function:{opt}"{value}"', pred


def q_frame_module(scope, op, value):
    def pred(doc):
        return any(text_match(op, value, m) for t in threads_in(doc, scope) for _, m in rows(t))
    opt = "" if op == "=" else op
    return f'{scope_text(scope)}frame.module:{opt}"{value}"', pred


def q_frame_module_version(name, vop, version, version_key):
    """frame.module:NAME@>=V: a crashing-thread frame in NAME and a loaded NAME module of that version."""
    def pred(doc):
        in_frames = any(text_match("=", name, m) for t in threads_in(doc, None) for _, m in rows(t))
        loaded = any(text_match("=", name, m.get("filename")) and m.get("version")
                     and {">=": version_key(m["version"]) >= version_key(version),
                          "<": version_key(m["version"]) < version_key(version)}[vop]
                     for m in doc.get("modules") or [])
        return in_frames and loaded
    return f"frame.module:{name}@{vop}{version}", pred


def stack_holds(names: list[str | None], elements: list[tuple[str, str]], direct: list[bool]) -> bool:
    """Brute force over every choice of positions (names top first; elements caller first)."""
    seq = list(reversed(names))

    def go(k: int, prev: int) -> bool:
        if k == len(elements):
            return True
        start = prev + 1
        stop = prev + 2 if k and direct[k - 1] else len(seq)
        return any(text_match(elements[k][0], elements[k][1], seq[i]) and go(k + 1, i)
                   for i in range(start, min(stop, len(seq))))
    return go(0, -1)


def q_stack(scope, elements, direct):
    def pred(doc):
        return any(stack_holds([f for f, _ in rows(t)], elements, direct) for t in threads_in(doc, scope))
    parts = []
    for k, (op, text) in enumerate(elements):
        if k:
            parts.append(">>" if direct[k - 1] else ">")
        parts.append(("=" if op == "=" else "") + text)
    text = " ".join(parts).replace('"', '\\"')
    return f'{scope_text(scope)}stack:"{text}"', pred


def q_trust(trust, top):
    def pred(doc):
        threads = threads_in(doc, None)
        frames = (threads[0].get("frames") or []) if threads else []
        frames = frames if top is None else frames[:top]
        return any((f.get("trust") or "none") == trust for f in frames)
    return f"frame.trust:{trust}" + (f"@{top}" if top else ""), pred


def q_frames(op, n):
    def pred(doc):
        threads = threads_in(doc, None)
        count = len(threads[0].get("frames") or []) if threads else None
        if count is None:
            return False
        return {">": count > n, ">=": count >= n, "<": count < n, "<=": count <= n, "=": count == n}[op]
    return f"frames:{'' if op == '=' else op}{n}", pred


def thread_function_facet(docs: list[dict]) -> Counter:
    """Top function (first row) of each thread but the crashing one, once per crash."""
    counts: Counter = Counter()
    for doc in docs:
        crashing = crashing_index(doc)
        tops = set()
        for n, t in enumerate(doc.get("threads") or []):
            r = rows(t)
            if n != crashing and r and r[0][0]:
                tops.add(r[0][0])
        counts.update(tops)
    return counts


def facet_list(counts: Counter, size: int = 50) -> list[dict[str, Any]]:
    return [{"term": t, "count": n} for t, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:size]]
