"""Every thread of every processed crash, indexed compactly (the ``thread:``/``stack:``/``frame.*`` searches).

Per crash, one row in each of two tables, never a row per frame:

* ``thread_terms`` (FTS5, ``detail=none``, contentless: the terms text is kept compressed in
  ``thread_terms_text``, whose delete trigger gives it back to take a crash's terms out) holds the crash's set of
  terms:

  - ``af<f>`` / ``mf<f>``: some thread / the main thread calls function ``function_names.id`` ``f``
    (the crashing thread's functions are ``crash_terms``' ``f<f>``);
  - ``ad<d>`` / ``md<d>`` / ``cd<d>``: a frame of some thread / the main thread / the crashing thread is in
    module ``frame_modules.id`` ``d`` (a module file name);
  - ``av<m>`` / ``mv<m>`` / ``cv<m>`` / ``n<t>v<m>``: the same for the loaded module ``modules.id`` ``m``
    the frame's module file name names (so ``frame.module:NAME@VERSION`` is one lookup). They could be derived
    (``v<m>`` is ``d<m's file name>`` and ``crash_terms``' ``m<m>``) and are ~140 of a crash's ~560 terms;
    without them ingest at 1M was ~7% faster, but ``frame.module:xul.dll@133.0`` went from one doclist (0 ms)
    to intersecting 412,036 crashes' ``ad`` doclist (46 ms; 6.6 s when SQLite probes the other way), so they stay;
  - ``n<t>``: a thread is named ``thread_names.id`` ``t``; ``n<t>f<f>`` / ``n<t>d<d>``: a thread of that name
    calls ``f`` / has a frame in ``d``;
  - ``rany``, ``rmain``, ``rcrashing``: the crash has a thread, a main thread, a crashing thread;
  - ``t<trust>p<k>``: the first crashing-thread frame with that trust (:data:`TRUST_CODES`) is frame ``k``
    (``k`` capped at :data:`TRUST_DEPTH`), so "scan in the top N frames" is an OR of N terms.

* ``crash_stacks`` holds what ordered matching needs: ``frames`` (the crashing thread's depth, indexed for
  ``frames:>500``), ``server_differs`` (synced crashes: whether the local re-walk's crashing thread differs
  from the server's, ``server_stack:differs``), ``stacks`` (JSON ``[[roles, thread name id or 0, [function id or 0, ...]], ...]``, each
  thread's frame rows top first) and ``tops`` (the distinct top functions of the threads other than the
  crashing one, space-separated ids, for the ``thread.function`` facet).

The model half (which thread is main, the rows of a stack) is :mod:`crashdesk.model.threads`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from crashdesk.model.threads import CRASHING, MAIN, CrashThreads, crash_threads, stacks_differ
from crashdesk.store import search_text

#: trust values (minidump-stackwalk's names) -> the letter code in ``t<code>p<k>`` terms
TRUST_CODES = {"none": "n", "scan": "s", "cfi_scan": "cs", "frame_pointer": "fp", "cfi": "c",
               "context": "x", "prewalked": "p", "inline": "i"}
OTHER_TRUST = "o"
TRUST_DEPTH = 64


def trust_code(trust: str | None) -> str:
    return TRUST_CODES.get((trust or "none").lower(), OTHER_TRUST)


def names_of(ct: CrashThreads) -> tuple[set[str], set[str], set[str]]:
    """(function names, thread names, frame module names) a crash's threads use."""
    functions: set[str | None] = set()
    modules: set[str | None] = set()
    for t in ct.threads:
        functions.update(t.functions)
        modules.update(t.modules)
    for found in (functions, modules):
        found.discard(None)
        found.discard("")
    return functions, {t.name for t in ct.threads if t.name}, modules  # type: ignore[return-value]


def dictionary_ids(conn, table: str, names: Iterable[str]) -> dict[str, int]:
    """Ids in a name dictionary (``thread_names``, ``frame_modules``, ``file_names``, ``function_names``),
    adding missing names: the names already there are looked up first, and only the others inserted (an
    ``INSERT OR IGNORE`` of every name cost a second index search per known name: a fresh process ingesting at
    1M crashes meets ~15,000 file names a batch it has not cached)."""
    todo = list(dict.fromkeys(names))
    out: dict[str, int] = {}
    if not todo:
        return out
    _select_ids(conn, table, todo, out)
    missing = [n for n in todo if n not in out]
    if missing:
        conn.executemany(f"INSERT OR IGNORE INTO {table} (name) VALUES (?)", [(n,) for n in missing])
        _select_ids(conn, table, missing, out)
    return out


def _select_ids(conn, table: str, names: list[str], out: dict[str, int]) -> None:
    for start in range(0, len(names), 500):
        chunk = names[start:start + 500]
        out.update((name, i) for i, name in conn.execute(
            f"SELECT id, name FROM {table} WHERE name IN ({','.join('?' * len(chunk))})", chunk))


def module_filenames(conn, ids: Iterable[int]) -> dict[int, str]:
    """``modules.id`` -> file name, for the ids given."""
    todo = list(dict.fromkeys(ids))
    out: dict[int, str] = {}
    for start in range(0, len(todo), 500):
        chunk = todo[start:start + 500]
        out.update(conn.execute(f"SELECT id, filename FROM modules WHERE id IN ({','.join('?' * len(chunk))})",
                                chunk).fetchall())
    return out


def modules_by_name(ids: Iterable[int], filenames: Mapping[int, str]) -> dict[str, list[int]]:
    """A crash's loaded modules by file name (a frame's ``module`` is its module's file name)."""
    out: dict[str, list[int]] = {}
    for module_id in ids:
        name = filenames.get(module_id)
        if name:
            out.setdefault(name, []).append(module_id)
    return out


def index_row(rowid: int, ct: CrashThreads, fids: Mapping[str, int], tids: Mapping[str, int],
              dids: Mapping[str, int], server_differs: bool | None = None,
              loaded: Mapping[str, list[int]] | None = None
              ) -> tuple[tuple[int, str], tuple[int, int, bytes, str, int | None]]:
    """The ``thread_terms`` row (rowid, terms) and the ``crash_stacks`` row (crash, frames, stacks, tops,
    server_differs)."""
    terms: dict[str, None] = {"rany": None} if ct.threads else {}
    stacks: list[list[Any]] = []
    tops: dict[int, None] = {}
    fget, dget = fids.get, dids.get
    lget = loaded.get if loaded else {}.get
    for t in ct.threads:
        main, crashing = bool(t.roles & MAIN), bool(t.roles & CRASHING)
        if main:
            terms["rmain"] = None
        if crashing:
            terms["rcrashing"] = None
        nid = tids.get(t.name) if t.name else None
        if nid:
            terms[f"n{nid}"] = None
        # the prefixes of this thread's function (f), frame module (d) and loaded module (v) terms
        roles = ["a"]
        if main:
            roles.append("m")
        if crashing:
            roles.append("c")
        if nid:
            roles.append(f"n{nid}")
        pf = [r + "f" for r in roles if r != "c"]
        pd = [r + "d" for r in roles]
        pv = [r + "v" for r in roles]
        ids = [fget(f, 0) if f else 0 for f in t.functions]
        for f in dict.fromkeys(ids):
            if f:
                s = str(f)
                for p in pf:
                    terms[p + s] = None
        for m in dict.fromkeys(t.modules):
            if m:
                d = dget(m)
                if d:
                    s = str(d)
                    for p in pd:
                        terms[p + s] = None
                for v in lget(m, ()):  # the loaded module (with its version) itself
                    s = str(v)
                    for p in pv:
                        terms[p + s] = None
        if not crashing and ids and ids[0]:
            tops[ids[0]] = None
        stacks.append([t.roles, nid or 0, ids])
    seen: set[str] = set()
    for k, trust in enumerate(ct.crashing_trust):
        code = trust_code(trust)
        if code not in seen:
            seen.add(code)
            terms[f"t{code}p{min(k, TRUST_DEPTH)}"] = None
    return ((rowid, " ".join(terms)),
            (rowid, ct.crashing_frames, orjson.dumps(stacks), " ".join(map(str, tops)),
             None if server_differs is None else int(server_differs)))


def write_rows(conn, terms: list[tuple[int, str]], stacks: list[tuple[int, int, bytes, str, int | None]], *,
               replace: bool = False, blobs: list[bytes] | None = None,
               later: list[tuple[str, tuple]] | None = None) -> None:
    """Insert :func:`index_row`'s rows. ``blobs``: each crash's terms compressed (``thread_terms_text``, whose
    delete trigger takes a crash's terms out of the contentless ``thread_terms``); None writes the layout before
    that (``thread_terms`` with its content: the v9 migration). ``later``: the full-text insert is appended to
    it as one statement (``search_text.json_rows_insert``) for the caller to run, instead of run here."""
    if replace:  # the delete triggers take the old rows' terms and top-function counts off
        conn.executemany("DELETE FROM crash_stacks WHERE crash = ?", [(r[0],) for r in stacks])
        conn.executemany("DELETE FROM thread_terms_text WHERE crash = ?" if blobs is not None else
                         "DELETE FROM thread_terms WHERE rowid = ?", [(r[0],) for r in terms])
    if later is None:
        conn.executemany("INSERT INTO thread_terms (rowid, terms) VALUES (?, ?)", terms)
    else:
        later.append(search_text.json_rows_insert("thread_terms", ("terms",), terms))
    conn.executemany("INSERT INTO crash_stacks (crash, frames, stacks, tops, server_differs) "
                     "VALUES (?,?,?,?,?)", stacks)
    if blobs is not None:
        conn.executemany("INSERT INTO thread_terms_text (crash, terms) VALUES (?, ?)",
                         [(row[0], blob) for row, blob in zip(terms, blobs, strict=True)])
    tops: dict[int, int] = {}
    for row in stacks:
        for f in row[3].split():
            tops[int(f)] = tops.get(int(f), 0) + 1
    conn.executemany("INSERT INTO thread_top_counts (function, crashes) VALUES (?, ?) ON CONFLICT (function) "
                     "DO UPDATE SET crashes = crashes + excluded.crashes", list(tops.items()))


def backfill(conn, function_ids) -> int:
    """Index the threads of every processed crash that has no ``crash_stacks`` row (the v9 migration: the
    processed document holds every thread, so no reprocessing). ``function_ids(conn, names)`` returns the
    ``function_names`` ids of names, adding missing ones. Returns how many crashes were indexed."""
    from crashdesk.store import codec
    from crashdesk.store.split_document import join_processed

    # a store of schema v13 or later (a test's rewound one) keeps documents split from their signature input
    split = "split" in {r[1] for r in conn.execute("PRAGMA table_info(signature_inputs)")}
    parts = ", s.doc, s.split FROM crashes c LEFT JOIN signature_inputs s ON s.crash = c.id" if split else (
        ", NULL, NULL FROM crashes c")
    done = 0
    last = 0
    while True:
        rows = conn.execute(f"SELECT c.id, c.processed, c.server_processed{parts} WHERE c.id > ? AND "
                            "c.processed IS NOT NULL AND c.id NOT IN (SELECT crash FROM crash_stacks) ORDER BY c.id "
                            "LIMIT 500", (last,)).fetchall()
        if not rows:
            return done
        last = rows[-1][0]
        parsed = []
        functions: set[str] = set()
        names: set[str] = set()
        modules: set[str] = set()
        for rowid, blob, server_blob, slim, code in rows:
            differs = None
            try:
                processed = codec.unpack(blob)
                if code is not None:
                    processed = join_processed(processed, codec.unpack(slim), code)
                ct = crash_threads(processed)
                if server_blob is not None:
                    differs = stacks_differ(processed, codec.unpack(server_blob))
            except Exception:  # noqa: BLE001 - an unreadable document indexes as no threads, like a new crash
                ct = crash_threads(None)
            f, n, m = names_of(ct)
            functions |= f
            names |= n
            modules |= m
            parsed.append((rowid, ct, differs))
        fids = function_ids(conn, functions)
        tids = dictionary_ids(conn, "thread_names", names)
        dids = dictionary_ids(conn, "frame_modules", modules)
        links = {crash: orjson.loads(ids) for crash, ids in conn.execute(
            f"SELECT crash, modules FROM crash_module_links WHERE crash IN ({','.join('?' * len(parsed))})",
            [p[0] for p in parsed])}
        filenames = module_filenames(conn, {m for ids in links.values() for m in ids})
        built = [index_row(rowid, ct, fids, tids, dids, differs, modules_by_name(links.get(rowid, ()), filenames))
                 for rowid, ct, differs in parsed]
        write_rows(conn, [b[0] for b in built], [b[1] for b in built])
        done += len(built)


def sql_function_ids(conn, names: Iterable[str]) -> dict[str, int]:
    """``function_names`` ids for names (adding missing ones), without the store's cache (migration)."""
    todo = list(dict.fromkeys(names))
    conn.executemany("INSERT OR IGNORE INTO function_names (name) VALUES (?)", [(n,) for n in todo])
    out: dict[str, int] = {}
    for start in range(0, len(todo), 500):
        chunk = todo[start:start + 500]
        out.update((name, i) for i, name in conn.execute(
            f"SELECT id, name FROM function_names WHERE name IN ({','.join('?' * len(chunk))})", chunk))
    return out


# ---------------------------------------------------------------------------------------------- stack matching


class StackMatcher:
    """The ``crashdesk_stack(stacks, spec)`` SQL function: whether a crash's ``crash_stacks.stacks`` has a
    thread in the spec's scope whose stack holds the spec's elements in order (see
    :func:`crashdesk.model.threads.stack_matches`). ``spec`` is JSON ``{"scope": ..., "elements": [[op,
    text], ...], "direct": [...]}``; each element's matching function ids are looked up once per spec."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.specs: dict[str, tuple] = {}
        self._last: tuple[str | None, tuple] = (None, ())

    def resolve(self, spec_text: str) -> tuple:
        if spec_text is self._last[0]:  # the same spec object for every row of one statement
            return self._last[1]
        got = self.specs.get(spec_text)
        if got is None:
            spec = orjson.loads(spec_text)
            elements = [frozenset(i for (i,) in self.conn.execute(sql, params))
                        for sql, params in (function_id_sql(op, text) for op, text in spec["elements"])]
            scope = spec["scope"]
            if scope.get("name") is not None:
                op, text = scope["name"]
                sql, params = name_id_sql("thread_names", op, text)
                scope = {"names": frozenset(i for (i,) in self.conn.execute(sql, params))}
            got = self.prepared(scope, elements, spec["direct"])
            if len(self.specs) > 64:
                self.specs.clear()
            self.specs[spec_text] = got
        self._last = (spec_text, got)
        return got

    @staticmethod
    def prepared(scope: dict, elements: list[frozenset[int]], direct: list[bool]) -> tuple:
        """A resolved spec: (scope, elements, direct, answers by thread text, probe). The probe is the ids of
        the element with the fewest, as text (when few): a thread's text holding none of them cannot match."""
        fewest = min(elements, key=len, default=None)
        probe = [str(i).encode() for i in fewest] if fewest is not None and len(fewest) <= 16 else None
        return scope, elements, direct, {}, probe

    def __call__(self, stacks: bytes | None, spec_text: str) -> int:
        if stacks is None:
            return 0
        scope, elements, direct, seen, probe = self.resolve(spec_text)
        role = scope.get("role")
        names = scope.get("names")
        if type(stacks) is bytes and stacks.startswith(b"[[") and stacks.endswith(b"]]]"):
            # orjson's compact text, one thread at a time: "[[roles,name,[f,...]],[...]]" splits at "]],[",
            # and each thread's text is looked up in this spec's answers first (waiting threads, and the
            # threads of crashes from the same code, repeat across crashes), else parsed and matched alone
            for piece in stacks[1:-1].split(b"]],["):
                hit = seen.get(piece)  # (the first and last thread keep a bracket of the list around them)
                if hit is None and probe is not None and not any(text in piece for text in probe):
                    hit = 0
                elif hit is None:
                    try:
                        roles_text, nid_text, ids_text = piece.strip(b"[]").split(b",", 2)
                        roles, nid = int(roles_text), int(nid_text)
                        ids = orjson.loads(ids_text + b"]") if ids_text else []
                    except ValueError:
                        return self.each_thread(orjson.loads(stacks), role, names, elements, direct)
                    hit = self.each_thread([(roles, nid, ids)], role, names, elements, direct)
                    if len(seen) > 100_000:
                        seen.clear()
                    seen[piece] = hit
                if hit:
                    return 1
            return 0
        return self.each_thread(orjson.loads(stacks), role, names, elements, direct)

    @staticmethod
    def each_thread(threads, role: str | None, names: frozenset[int] | None, elements: list[frozenset[int]],
                    direct: list[bool]) -> int:
        for roles, nid, ids in threads:
            if role == "crashing" and not roles & CRASHING:
                continue
            if role == "main" and not roles & MAIN:
                continue
            if names is not None and nid not in names:
                continue
            if ids_stack_matches(ids, elements, direct):
                return 1
        return 0


def _positions(ids: list[int], element: frozenset[int]) -> list[int]:
    """Where ``element``'s ids are in ``ids`` (top first), as positions from the outermost caller (0) up,
    ascending: found with C-level set and list operations instead of a Python loop over every frame."""
    hits = element.intersection(ids)
    if not hits:
        return []
    last = len(ids) - 1
    out: list[int] = []
    for value in hits:
        j = ids.index(value)
        while True:
            out.append(last - j)
            try:
                j = ids.index(value, j + 1)
            except ValueError:
                break
    out.sort()
    return out


def ids_stack_matches(ids: list[int], elements: list[frozenset[int]], direct: list[bool]) -> bool:
    """:func:`crashdesk.model.threads.stack_matches` for a stack of function ids (top first) and elements that
    are sets of ids: the positions of each element's ids first (most frames match no element), then the same
    element-by-element walk over those positions only."""
    found = []
    for element in elements:
        positions = _positions(ids, element)
        if not positions:
            return False
        found.append(positions)
    ends = found[0] if elements else [-1]
    for k in range(1, len(elements)):
        if not ends:
            return False
        if direct[k - 1]:
            here = set(found[k])
            ends = [i + 1 for i in ends if i + 1 in here]
        else:
            first = ends[0]
            ends = [i for i in found[k] if i > first]
    return bool(ends)


def _like(op: str, value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return {"~": "%{}%", "^": "{}%", "$": "%{}"}[op].format(escaped)


def function_id_sql(op: str, value: str) -> tuple[str, list[Any]]:
    """SQL selecting the ``function_names`` ids a function condition matches (case-insensitive)."""
    if op == "=":
        return "SELECT id FROM function_names WHERE name = ? COLLATE NOCASE", [value]
    if len(value) >= 3:
        return ("SELECT rowid AS id FROM function_names_fts WHERE name LIKE ? ESCAPE '\\'", [_like(op, value)])
    return "SELECT id FROM function_names WHERE name LIKE ? ESCAPE '\\'", [_like(op, value)]


def name_id_sql(table: str, op: str, value: str) -> tuple[str, list[Any]]:
    """SQL selecting the ids of a small name dictionary (``thread_names``, ``frame_modules``)."""
    if op == "=":
        return f"SELECT id FROM {table} WHERE name = ? COLLATE NOCASE", [value]
    return f"SELECT id FROM {table} WHERE name LIKE ? ESCAPE '\\'", [_like(op, value)]


def register(conn: sqlite3.Connection) -> None:
    """Add ``crashdesk_stack`` to a connection (every store connection has it, so compiled queries run
    anywhere)."""
    conn.create_function("crashdesk_stack", 2, StackMatcher(conn))
