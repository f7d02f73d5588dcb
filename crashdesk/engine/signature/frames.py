"""The C/C++/Rust path: crashing thread -> normalised frame strings -> signature.

Facts: ``shared/protocols/signatures.md`` sections 4 and 5. :class:`FrameWalker` holds one profile's
compiled lists plus two caches (normalised symbol per raw symbol, list verdict per frame string), which is
where most of the speed over siggen comes from when many crashes share frames.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from crashdesk.engine.signature.lists import SignatureLists, compile_entries
from crashdesk.engine.signature.normalize import (
    RUST_134_FUNCTIONS,
    file_line_text,
    fix_spacing,
    normalize_cpp_base,
    normalize_rust_base,
    offset_text,
    source_path,
    strip_rust_hash,
)

MAX_FRAMES = 40
JOINER = " | "
TOOL = "CSignatureTool"

# verdict bits
IRRELEVANT = 1
PREFIX = 2
MERGEABLE = 4

_CACHE_LIMIT = 200_000


@dataclass
class WalkTrace:
    """What the walk did, for explanations: indexes refer to the normalised frame list."""

    sentinel_index: int | None = None
    #: (frame index, fate) with fate one of "empty", "irrelevant", "merged", "prefix", "stop"
    fates: list[tuple[int, str]] = field(default_factory=list)
    fallback: bool = False


def thread_at(crash_data: dict, index: int):
    """The thread ``threads[index]`` the way siggen looks it up: lists by position (negative from the
    end), dicts by the decimal string key; anything else, or out of range, gives ``{}``."""
    threads = crash_data.get("threads")
    if isinstance(threads, (list, tuple)):
        if -len(threads) <= index < len(threads):
            return threads[index]
        return {}
    if isinstance(threads, dict):
        key = str(index)
        if key in threads:
            return threads[key]
    return {}


def crashing_thread_index(crash_data: dict) -> int:
    """``crashing_thread`` coerced with ``int()``; ``None`` or garbage means 0."""
    try:
        return int(crash_data.get("crashing_thread", 0))
    except (TypeError, ValueError):
        return 0


class FrameWalker:
    """Normalises a thread's frames and walks them with one profile's lists."""

    def __init__(self, lists: SignatureLists) -> None:
        self.lists = lists
        origins = lists.origins
        self.irrelevant_re = compile_entries(lists.irrelevant, origins.get("irrelevant", "irrelevant"))
        self.prefix_re = compile_entries(lists.prefix, origins.get("prefix", "prefix"))
        self.line_re = compile_entries(lists.line_numbers, origins.get("line_numbers", "line_numbers"))
        self.sentinels = frozenset(lists.sentinels)
        self._symbols: dict[tuple, tuple[str, bool]] = {}
        self._verdicts: dict[str, int] = {}

    # -- frames -> strings -------------------------------------------------------------------------------
    def frame_strings(self, thread, lower_modules: bool) -> list[str]:
        """Normalised strings of the first 40 frames (inline frames first, each counting as one)."""
        frames = thread.get("frames", [])
        out: list[str] = []
        one = self._one
        for frame in frames:
            inlines = frame.get("inlines") or []
            for inline in inlines:
                out.append(one(frame.get("module"), inline.get("function"), inline.get("file"),
                               inline.get("line"), frame.get("offset"), None, lower_modules))
                if len(out) >= MAX_FRAMES:
                    return out
            out.append(one(frame.get("module"), frame.get("function"), frame.get("file"), frame.get("line"),
                           frame.get("offset"), frame.get("unloaded_modules"), lower_modules))
            if len(out) >= MAX_FRAMES:
                return out
        return out

    def _one(self, module, function, file, line, offset, unloaded, lower_modules: bool) -> str:
        path = source_path(file)
        fixed = RUST_134_FUNCTIONS.get((path, function))
        if fixed:
            function = fixed
        if lower_modules and module:
            module = module.lower()
        if function:
            is_rust = bool(file) and (path or "").endswith(".rs")
            return self.symbol(function, is_rust, line)
        if file and line:
            return file_line_text(file, line)
        if module:
            return module.strip("[]")
        if unloaded:
            return f"(unloaded {unloaded[0].get('module')})"
        if offset:
            return offset_text(offset)
        return ""

    def symbol(self, function: str, is_rust: bool, line) -> str:
        """The normalised text of one function symbol (C++ or Rust rules)."""
        key = (function, is_rust)
        cached = self._symbols.get(key)
        if cached is None:
            base = normalize_rust_base(function) if is_rust else normalize_cpp_base(function)
            if self.line_re.match(base):
                cached = (base, True)
            else:
                final = fix_spacing(base)
                if is_rust:
                    final = strip_rust_hash(final)
                cached = (final, False)
            if len(self._symbols) > _CACHE_LIMIT:
                self._symbols.clear()
            self._symbols[key] = cached
        text, needs_line = cached
        if not needs_line:
            return text
        text = fix_spacing(f"{text}:{line}")
        return strip_rust_hash(text) if is_rust else text

    # -- strings -> signature ----------------------------------------------------------------------------
    def verdict(self, text: str) -> int:
        """Bit set of IRRELEVANT / PREFIX / MERGEABLE for one frame string."""
        v = self._verdicts.get(text)
        if v is None:
            v = 0
            if self.irrelevant_re.match(text):
                v |= IRRELEVANT
            elif self.prefix_re.match(text):
                v |= PREFIX
            if not text.startswith("(unloaded") and (
                text.lower().endswith((".dll", ".so"))
                or text == "XUL"
                or text == "<name omitted>"
                or text.startswith("<unknown in")
            ):
                v |= MERGEABLE
            if len(self._verdicts) > _CACHE_LIMIT:
                self._verdicts.clear()
            self._verdicts[text] = v
        return v

    def walk(self, strings: list[str], thread_index: int, trace: WalkTrace | None = None) -> tuple[str, list[str]]:
        """Sentinel cut, then skip/merge/continue/stop; returns ``(signature, notes)``."""
        start = 0
        sentinels = self.sentinels
        if sentinels:
            for i, text in enumerate(strings):
                if text in sentinels:
                    start = i
                    if trace is not None:
                        trace.sentinel_index = i
                    break
        kept: list[str] = []
        verdict = self.verdict
        for i in range(start, len(strings)):
            text = strings[i]
            if not text:
                if trace is not None:
                    trace.fates.append((i, "empty"))
                continue
            v = verdict(text)
            if v & IRRELEVANT:
                if trace is not None:
                    trace.fates.append((i, "irrelevant"))
                continue
            if v & MERGEABLE and kept and kept[-1] == text:
                if trace is not None:
                    trace.fates.append((i, "merged"))
                continue
            kept.append(text)
            if not v & PREFIX:
                if trace is not None:
                    trace.fates.append((i, "stop"))
                break
            if trace is not None:
                trace.fates.append((i, "prefix"))
        if kept:
            return JOINER.join(kept), []
        notes = [f"{TOOL}: no frame data for crashing thread ({thread_index})"]
        if trace is not None:
            trace.fallback = True
        if start < len(strings):
            return strings[start], notes
        return "EMPTY: no frame data available", notes

    def entry_for(self, list_name: str, text: str) -> tuple[str, int] | None:
        """Which entry of a list matches ``text`` (entry, 1-based line or 0); for explanations only."""
        entries = getattr(self.lists, list_name)
        lines = self.lists.entry_lines.get(list_name, ())
        for i, entry in enumerate(entries):
            if list_name == "sentinels":
                hit = entry == text
            else:
                try:
                    hit = re.match(entry, text) is not None
                except re.error:
                    hit = False
            if hit:
                return entry, (lines[i] if i < len(lines) else 0)
        return None
