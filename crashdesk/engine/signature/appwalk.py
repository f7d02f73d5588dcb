"""The generic profile's walk (version 2): the signature is led by the first *application* frame.

Rule ``AppFrameSignatureRule``, used by the built-in ``generic`` profile instead of siggen's frame walk:

1. The crashing thread's frames are expanded (inline frames first) and normalised as siggen does, with two
   differences: glibc's internal names become the public ones (``__GI_abort`` -> ``abort``, ``__free`` ->
   ``free``, so builds with and without libc debug symbols agree) and its CPU-specific variants of string and
   memory functions become the function the program called (``__memmove_avx512_unaligned_erms`` ->
   ``memmove``, ``__strlen_evex`` -> ``strlen``, so one crash gives one signature on every CPU), and a frame of an **application** module without a
   function becomes ``module@0x<module offset>`` (leading zeros stripped, as siggen printed such frames
   before 2024; not rounded, so two crash sites in one unsymbolicated module stay apart). A system module
   without symbols stays its bare name, as in siggen. A bare address is never kept (``@0x`` is irrelevant).
2. Frames above the first sentinel are dropped (the sentinel list).
3. Walking down: an ``irrelevant`` frame is skipped; a frame is an **application frame** when its module is
   the application's (module rules, first match wins, default app) and its function is not library code
   (the ``prefix`` list: the C++ standard library's templates, the static CRT, allocators, the crash
   reporters' and frameworks' fatal paths); every other frame is system/library code.
4. The signature is the first application frame, preceded by **one** kind prefix: the last system/library
   frame walked before it, i.e. the function the application called that crashed or decided to stop the
   process (``abort``, ``__assert_fail``, ``free``, ``__stack_chk_fail``, ``__memcpy_chk``, ``__cxa_throw``,
   ``std::vector<T>::at``, ``memcpy``, ``QMessageLogger::fatal``...). The crash machinery under it
   (``raise``, ``__libc_message``, ``malloc_printerr``, ``std::terminate``...) is skipped: it is the same for
   every crash of that kind. The prefix keeps an ``assert`` and an ``abort`` in one function apart without
   letting machinery differences between library versions split a bucket.
5. A thread without any application frame falls back to siggen's walk over the same strings (skip
   irrelevant, keep prefix frames and continue, stop at the first other frame).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from crashdesk.engine.signature.frames import (
    IRRELEVANT,
    MAX_FRAMES,
    PREFIX,
    WalkTrace,
    crashing_thread_index,
    thread_at,
)
from crashdesk.engine.signature.lists import LIST_FILES
from crashdesk.engine.signature.modules import MODULE_RULES_FILE, ModuleClassifier, ModuleRule
from crashdesk.engine.signature.normalize import RUST_134_FUNCTIONS, file_line_text, offset_text, source_path
from crashdesk.engine.signature.rules import RULES, Rule, SignatureGenerationRule

_GI = re.compile(r"^__GI_")
#: glibc picks one CPU-specific variant of its string/memory functions at load time (ifunc): the same call
#: is ``__memmove_avx_unaligned_erms`` on one machine and ``__memmove_evex_unaligned_erms`` on another.
_IFUNC_VARIANT = re.compile(
    r"^__((?:mem|str|stp|wmem|wcs|rawmem)[a-z]*(?:_chk)?)_(?:sse|ssse|avx|evex|erms|unaligned|aligned|rtm|nt_|generic)\w*$")
#: glibc's internal names of public functions (the symbol the debug information names) -> the public name
_ALIASES = {
    "__free": "free", "__libc_free": "free", "__malloc": "malloc", "__libc_malloc": "malloc",
    "__realloc": "realloc", "__libc_realloc": "realloc", "__calloc": "calloc", "__libc_calloc": "calloc",
    "__stack_chk_fail_local": "__stack_chk_fail",
}


def canonical_function(text: str) -> str:
    """Drop glibc's ``__GI_`` alias prefix, its CPU-variant suffixes and internal aliases (see above)."""
    text = _GI.sub("", text)
    if text.startswith("__"):
        m = _IFUNC_VARIANT.match(text)
        if m:
            base = m.group(1)
            return f"__{base}" if base.endswith("_chk") else base
        return _ALIASES.get(text, text)
    return text


@dataclass
class _Frame:
    text: str
    module: str | None
    in_app: bool
    rule: ModuleRule | None
    raw: object


def _module_paths(crash) -> dict[str, str]:
    paths = crash.get("module_paths") if isinstance(crash, dict) else None
    if not isinstance(paths, dict):
        return {}
    return {k: v for k, v in paths.items() if isinstance(k, str) and isinstance(v, str)}


class AppWalker:
    """One profile's generic walk: the list walker's caches plus a module classifier."""

    def __init__(self, gen) -> None:
        self.walker = gen.walker
        self.lists = gen.walker.lists
        self.modules = ModuleClassifier(self.lists.module_rules)

    def frames(self, crash: dict, thread, lower_modules: bool) -> list[_Frame]:
        out: list[_Frame] = []
        paths = _module_paths(crash)
        for frame in thread.get("frames", []):
            raw_module = frame.get("module")
            module = raw_module if isinstance(raw_module, str) else None  # garbage is no module
            if lower_modules and module:
                module = module.lower()
            in_app, rule = self.modules.classify(module, paths.get(raw_module) if module else None)
            for inline in frame.get("inlines") or []:
                out.append(self._one(frame, inline.get("function"), inline.get("file"), inline.get("line"),
                                     module, in_app, rule, None))
                if len(out) >= MAX_FRAMES:
                    return out
            out.append(self._one(frame, frame.get("function"), frame.get("file"), frame.get("line"), module,
                                 in_app, rule, frame.get("unloaded_modules")))
            if len(out) >= MAX_FRAMES:
                return out
        return out

    def _one(self, frame, function, file, line, module, in_app, rule, unloaded) -> _Frame:
        path = source_path(file)
        fixed = RUST_134_FUNCTIONS.get((path, function))
        if fixed:
            function = fixed
        if function:
            is_rust = bool(file) and (path or "").endswith(".rs")
            text = canonical_function(self.walker.symbol(function, is_rust, line))
            return _Frame(text, module, in_app, rule, function)
        if file and line:
            return _Frame(file_line_text(file, line), module, in_app, rule, f"{file}:{line}")
        if module:
            name = module.strip("[]")
            offset = frame.get("module_offset")
            if in_app and offset:
                try:
                    return _Frame(f"{name}@{hex(int(offset, 16))}", module, in_app, rule, f"{module}+{offset}")
                except (TypeError, ValueError):
                    pass
            return _Frame(name, module, in_app, rule, module)
        if unloaded:
            return _Frame(f"(unloaded {unloaded[0].get('module')})", None, True, None, unloaded)
        offset = frame.get("offset")
        if offset:
            return _Frame(offset_text(offset), None, True, None, offset)
        return _Frame("", None, True, None, None)

    def walk(self, frames: list[_Frame], explain: bool) -> tuple[str | None, list[tuple[int, str, str]], int | None]:
        """``(signature or None if no app frame, [(index, fate, why)], sentinel index)``."""
        start = None
        sentinels = self.walker.sentinels
        for i, f in enumerate(frames):
            if f.text in sentinels:
                start = i
                break
        fates: list[tuple[int, str, str]] = []
        kind: int | None = None
        for i in range(start or 0, len(frames)):
            f = frames[i]
            if not f.text:
                fates.append((i, "empty", ""))
                continue
            v = self.walker.verdict(f.text)
            if v & IRRELEVANT:
                fates.append((i, "irrelevant", self._why("irrelevant", f.text) if explain else ""))
                continue
            if f.in_app and not v & PREFIX:
                if kind is not None:
                    fates = [(j, "kind" if j == kind else fate, why) for j, fate, why in fates]
                fates.append((i, "app", self._module_why(f) if explain else ""))
                parts = ([frames[kind].text] if kind is not None else []) + [f.text]
                return " | ".join(parts), fates, start
            if v & PREFIX:
                why = self._why("prefix", f.text) if explain else ""
                if explain and not f.in_app:
                    why += f"; system module by {self._module_why(f)}"
                fates.append((i, "library", why))
            else:
                fates.append((i, "system", self._module_why(f) if explain else ""))
            kind = i
        return None, fates, start

    def _why(self, list_name: str, text: str) -> str:
        found = self.walker.entry_for(list_name, text)
        origin = self.lists.origins.get(list_name, LIST_FILES[list_name])
        if found is None:
            return origin
        entry, line = found
        return f"{origin}:{line} {entry!r}" if line else f"{origin} {entry!r}"

    def _module_why(self, f: _Frame) -> str:
        if f.rule is None:
            return ("no module rule matches: application code by default" if f.module
                    else "no module: application code by default")
        origin = self.lists.origins.get("module_rules", MODULE_RULES_FILE)
        return f"module rule {origin}:{f.rule.line} {f.rule.text()!r}"


_DESCRIBE = {
    "cut": "above the sentinel, dropped",
    "empty": "empty, skipped",
    "irrelevant": "skipped: irrelevant",
    "library": "skipped: library code (prefix list)",
    "system": "skipped: system module",
    "kind": "kept as the kind prefix: the call the application made",
    "app": "first application frame: the signature ends here",
}


class AppFrameSignatureRule(Rule):
    name = "AppFrameSignatureRule"
    description = "signature led by the first application frame, after one kind prefix (generic profile)"

    @staticmethod
    def _walker(gen) -> AppWalker:
        app = getattr(gen, "_app_walker", None)
        if app is None:
            app = gen._app_walker = AppWalker(gen)
        return app

    def prepare(self, gen) -> None:
        self._walker(gen).modules.prepare()

    def apply(self, crash, run, gen) -> None:
        if crash.get("java_stack_trace") or crash.get("java_exception"):
            SignatureGenerationRule().apply(crash, run, gen)
            return
        app = self._walker(gen)
        index = crashing_thread_index(crash)
        thread = thread_at(crash, index)
        try:
            frames = app.frames(crash, thread, crash.get("os") == "Windows NT")
        except (KeyError, IndexError, AttributeError, TypeError):
            SignatureGenerationRule().apply(crash, run, gen)
            return
        strings = [f.text for f in frames]
        if strings:
            run.extra_frames = strings
        signature, fates, sentinel = app.walk(frames, run.explain)
        if signature is None:
            trace = WalkTrace() if run.explain else None
            signature, notes = gen.walker.walk(strings, index, trace)
            for note in notes:
                run.note(self.name, note)
            if run.explain:
                from crashdesk.engine.signature.explain import explain_walk

                lines, details = explain_walk(self.name, gen.walker, thread, crash, strings, trace, index)
                run.log.append(f"{self.name}: no application frame in the crashing thread: siggen's walk is used")
                for i, fate, why in fates:
                    if fate in ("system", "library"):
                        run.log.append(f"{self.name}: frame {i} {frames[i].text!r} is not application code ({why})")
                run.log.extend(lines)
                run.frame_details = details
        elif run.explain:
            self._explain(run, app, frames, fates, sentinel, index, crash)
        if signature:
            run.set(self.name, signature)

    def _explain(self, run, app, frames, fates, sentinel, index, crash) -> None:
        name = self.name
        log = run.log
        log.append(f"{name}: crashing thread {index}, {len(frames)} frame(s) considered (max 40, inlines count)")
        if isinstance(crash, dict) and crash.get("os") == "Windows NT":
            log.append(f"{name}: os is 'Windows NT': module names lowercased")
        details = [{"index": i, "raw": f.raw if f.raw is None or isinstance(f.raw, (str, int, float)) else repr(f.raw),
                    "text": f.text, "module": f.module, "in_app": f.in_app, "fate": "unused"}
                   for i, f in enumerate(frames)]
        if sentinel:
            for i in range(sentinel):
                details[i]["fate"] = "cut"
            log.append(f"{name}: frame {sentinel} {frames[sentinel].text!r} is a sentinel "
                       f"({app._why('sentinels', frames[sentinel].text)}); frames 0-{sentinel - 1} dropped")
        for i, fate, why in fates:
            details[i]["fate"] = fate
            details[i]["why"] = why
            text = frames[i].text
            if fate == "empty":
                log.append(f"{name}: frame {i}: empty, skipped")
            elif fate == "kind":
                log.append(f"{name}: frame {i} {text!r} {_DESCRIBE[fate]} ({why})")
            else:
                log.append(f"{name}: frame {i} {text!r} {_DESCRIBE[fate]}" + (f" ({why})" if why else ""))
        last = fates[-1][0] if fates else -1
        if last + 1 < len(frames):
            log.append(f"{name}: frames {last + 1}-{len(frames) - 1} not used")
        run.frame_details = details


RULES[AppFrameSignatureRule.name] = AppFrameSignatureRule
