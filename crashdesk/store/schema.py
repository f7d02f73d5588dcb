"""The database schema and its forward migrations.

``PRAGMA user_version`` holds the schema version. Each entry of ``MIGRATIONS`` takes the database from
version ``i`` to ``i + 1``; a database newer than this code is refused rather than guessed at.

Times are ISO-8601 UTC strings (``2026-11-29T07:20:48.123456+00:00``) so they sort as text.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from crashdesk.store.errors import StoreError

_V1 = """
CREATE TABLE crashes (
    id INTEGER PRIMARY KEY,
    crash_id TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL,                 -- collector | import | server:<name>
    source_url TEXT,                      -- the crash on its server, for synced crashes
    submitted_at TEXT NOT NULL,
    received_at TEXT NOT NULL,
    processed_at TEXT,
    state TEXT NOT NULL DEFAULT 'received', -- received | processing | processed | failed
    attempts INTEGER NOT NULL DEFAULT 0,
    claimed_by TEXT,
    claimed_at TEXT,
    product TEXT, version TEXT, version_key TEXT, build_id TEXT, channel TEXT,
    os TEXT, os_version TEXT, cpu TEXT,
    reason TEXT, address TEXT, crashing_thread INTEGER,
    signature TEXT,                       -- effective: the local one once computed, else the server's
    server_signature TEXT,
    proto_signature TEXT,
    signature_profile TEXT,
    notes TEXT NOT NULL DEFAULT '[]',     -- JSON list of processing notes
    raw TEXT NOT NULL DEFAULT '{}',       -- the raw annotations, verbatim (JSON object)
    processed BLOB,                       -- compressed JSON of the processed crash (store.codec)
    server_processed BLOB                 -- compressed JSON of the server's processed crash
);
CREATE INDEX crashes_submitted ON crashes(submitted_at);
CREATE INDEX crashes_state ON crashes(state, id);
CREATE INDEX crashes_signature ON crashes(signature COLLATE NOCASE);
CREATE INDEX crashes_product_version ON crashes(product COLLATE NOCASE, version_key);
CREATE INDEX crashes_os ON crashes(os COLLATE NOCASE);
CREATE INDEX crashes_source ON crashes(source);

CREATE TABLE dumps (
    crash INTEGER NOT NULL REFERENCES crashes(id) ON DELETE CASCADE,
    name TEXT NOT NULL,                   -- upload_file_minidump, or an additional dump's form name
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    PRIMARY KEY (crash, name)
) WITHOUT ROWID;
CREATE INDEX dumps_sha ON dumps(sha256);

CREATE TABLE annotations (
    crash INTEGER NOT NULL REFERENCES crashes(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (crash, key)
) WITHOUT ROWID;
CREATE INDEX annotations_key_value ON annotations(key, value);

CREATE TABLE modules (
    id INTEGER PRIMARY KEY,
    filename TEXT NOT NULL,
    debug_file TEXT NOT NULL DEFAULT '',
    debug_id TEXT NOT NULL DEFAULT '',
    code_id TEXT NOT NULL DEFAULT '',
    version TEXT NOT NULL DEFAULT '',
    UNIQUE (filename, debug_file, debug_id, code_id, version)
);
CREATE INDEX modules_filename ON modules(filename COLLATE NOCASE, version);
CREATE INDEX modules_debug ON modules(debug_file, debug_id);

CREATE TABLE crash_modules (
    crash INTEGER NOT NULL REFERENCES crashes(id) ON DELETE CASCADE,
    module INTEGER NOT NULL REFERENCES modules(id),
    base_addr TEXT,
    symbol_status TEXT,                   -- loaded | missing | corrupt | error | NULL (not asked)
    symbol_note TEXT,
    PRIMARY KEY (crash, module)
) WITHOUT ROWID;
CREATE INDEX crash_modules_module ON crash_modules(module, crash);

CREATE TABLE frames (
    crash INTEGER NOT NULL REFERENCES crashes(id) ON DELETE CASCADE,
    thread INTEGER NOT NULL,
    frame INTEGER NOT NULL,
    inline_depth INTEGER NOT NULL DEFAULT 0,  -- 0 for the real frame, 1.. for its inlines (outermost first)
    module TEXT, function TEXT, file TEXT, line INTEGER,
    offset TEXT, module_offset TEXT, function_offset TEXT, trust TEXT,
    PRIMARY KEY (crash, thread, frame, inline_depth)
) WITHOUT ROWID;
CREATE INDEX frames_function ON frames(function);
CREATE INDEX frames_module ON frames(module);

CREATE TABLE signature_history (
    id INTEGER PRIMARY KEY,
    crash INTEGER NOT NULL REFERENCES crashes(id) ON DELETE CASCADE,
    signature TEXT NOT NULL,
    proto_signature TEXT,
    notes TEXT NOT NULL DEFAULT '[]',
    profile TEXT NOT NULL,                -- the profile (or 'server:<name>') that produced it
    run_id TEXT,                          -- the regeneration run that applied it, if any
    created_at TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX signature_history_crash ON signature_history(crash, id);
CREATE INDEX signature_history_run ON signature_history(run_id);

CREATE VIRTUAL TABLE crash_fts USING fts5(signature, functions, annotations, tokenize = 'unicode61');

CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
"""

# v2 (search): a dictionary of distinct frame function names with a trigram index, so "function contains X"
# looks up a few names instead of scanning every frame. ``CrashStore`` adds the names of the frames it writes
# (``_index_function_names``: once per batch, far cheaper than a trigger per frame row); the trigger copies
# each new name into the trigram index.
_V2 = """
CREATE TABLE function_names (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE VIRTUAL TABLE function_names_fts USING fts5(name, tokenize = 'trigram');
CREATE TRIGGER function_names_ai AFTER INSERT ON function_names
BEGIN INSERT INTO function_names_fts (rowid, name) VALUES (new.id, new.name); END;
INSERT INTO function_names (name) SELECT DISTINCT function FROM frames WHERE function IS NOT NULL;
"""

# v3: databases created by an early v2 kept function_names current with a per-row trigger; code does it now.
_V3 = """
DROP TRIGGER IF EXISTS frames_function_name;
"""

# v4 (search): a narrow covering index over the columns searches filter, sort and facet on. The crashes rows
# are wide (raw annotations and processed crash inline), so a scan in date order that has to look at
# product/os/signature... otherwise reads a page per crash; this index answers those from ~150 bytes a crash.
_V4 = """
CREATE INDEX crashes_search_cover ON crashes(submitted_at, product COLLATE NOCASE, version_key, version,
    os COLLATE NOCASE, cpu, channel, source, state, signature COLLATE NOCASE);
"""

# v5 (search): facets over the whole store group on an index instead of sorting every crash
_V5 = """
CREATE INDEX crashes_version ON crashes(version);
CREATE INDEX crashes_cpu ON crashes(cpu);
"""

# v6 (search): how many crashes link each module, for the module facet over the whole store (15 million links
# for 100k crashes take seconds to count). ``CrashStore`` adds links as it writes them; this trigger (which
# also fires for cascaded deletes) takes removed ones off.
_V6 = """
CREATE TABLE module_counts (module INTEGER PRIMARY KEY, crashes INTEGER NOT NULL);
INSERT INTO module_counts (module, crashes) SELECT module, count(*) FROM crash_modules GROUP BY module;
CREATE TRIGGER crash_modules_ad AFTER DELETE ON crash_modules
BEGIN UPDATE module_counts SET crashes = crashes - 1 WHERE module = old.module; END;
"""

# v7: what signature generation reads of each processed crash (``model.summary.signature_input``), compressed JSON,
# kept narrow and apart from ``crashes`` so regeneration over many crashes doesn't parse whole documents.
# Crashes processed before v7 have no row; regeneration falls back to their processed crash.
_V7 = """
CREATE TABLE signature_inputs (crash INTEGER PRIMARY KEY REFERENCES crashes(id) ON DELETE CASCADE, doc BLOB NOT NULL);
"""

# v8 (ingest speed): B-tree indexes over millions of side-table rows were most of the cost of storing a
# crash (150 module links with two B-trees, 30 frames with two indexes, 40 annotations with two). Now:
# * ``crash_terms`` (FTS5, ``detail=none``) is the inverted index for module, missing-symbol, function and
#   annotation-value searches (``crashdesk.store.terms``);
# * a crash's module links are one ``crash_module_links`` row (ids, base addresses, a status letter and the
#   symbol note per module); ``crash_modules`` stays as a view with the old columns, for readers and for SQL;
# * ``annotations`` is clustered by (key, crash), so a key's values are one range (contains, facets, ordering)
#   and there is no second index;
# * ``frames`` keeps its primary key only;
# * ``signature_names``: every signature a crash has had, with a trigram index, so "signature contains X"
#   looks up a few names and then the signature index instead of reading every crash.
_V8 = """
CREATE TABLE signature_names (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE VIRTUAL TABLE signature_names_fts USING fts5(name, tokenize = 'trigram');
CREATE TRIGGER signature_names_ai AFTER INSERT ON signature_names
BEGIN INSERT INTO signature_names_fts (rowid, name) VALUES (new.id, new.name); END;
INSERT OR IGNORE INTO signature_names (name) SELECT DISTINCT signature FROM crashes WHERE signature IS NOT NULL;
INSERT OR IGNORE INTO signature_names (name) SELECT DISTINCT signature FROM signature_history;
CREATE VIRTUAL TABLE crash_terms USING fts5(annotations, processed, detail = 'none');
CREATE TABLE crash_module_links (
    crash INTEGER PRIMARY KEY REFERENCES crashes(id) ON DELETE CASCADE,
    modules TEXT NOT NULL,                -- JSON array of modules.id, in the processed crash's module order
    base_addrs TEXT NOT NULL,             -- JSON array: each module's base address
    status TEXT NOT NULL,                 -- a letter per module: L loaded, M missing, C corrupt, E error, . not asked
    notes TEXT                            -- JSON array (or NULL): why each module's symbols were missing
);
INSERT INTO crash_module_links (crash, modules, base_addrs, status, notes)
SELECT crash, json_group_array(module), json_group_array(base_addr),
       group_concat(CASE symbol_status WHEN 'loaded' THEN 'L' WHEN 'missing' THEN 'M' WHEN 'corrupt' THEN 'C'
                    WHEN 'error' THEN 'E' ELSE '.' END, ''),
       CASE WHEN count(symbol_note) THEN json_group_array(symbol_note) END
FROM (SELECT * FROM crash_modules ORDER BY crash, base_addr) GROUP BY crash;
DROP TRIGGER crash_modules_ad;
DROP TABLE crash_modules;
CREATE VIEW crash_modules (crash, module, base_addr, symbol_status, symbol_note) AS
SELECT l.crash, j.value, json_extract(l.base_addrs, '$[' || j.key || ']'),
       CASE substr(l.status, j.key + 1, 1) WHEN 'L' THEN 'loaded' WHEN 'M' THEN 'missing'
            WHEN 'C' THEN 'corrupt' WHEN 'E' THEN 'error' END,
       json_extract(l.notes, '$[' || j.key || ']')
FROM crash_module_links l, json_each(l.modules) j;
CREATE TRIGGER crash_module_links_ad AFTER DELETE ON crash_module_links
BEGIN UPDATE module_counts SET crashes = crashes - 1 WHERE module IN (SELECT value FROM json_each(old.modules)); END;
-- the terms are computed while annotations still has its (crash, key) key: one lookup per crash
INSERT INTO function_names (name) SELECT DISTINCT function FROM frames WHERE function IS NOT NULL
    AND function NOT IN (SELECT name FROM function_names);
INSERT INTO crash_terms (rowid, annotations, processed)
SELECT c.id,
       coalesce((SELECT group_concat(crashdesk_annotation_token(a.key, a.value), ' ') FROM annotations a
                 WHERE a.crash = c.id), ''),
       coalesce((SELECT group_concat('m' || j.value || CASE WHEN substr(l.status, j.key + 1, 1) IN ('M', 'C', 'E')
                                     THEN ' x' || j.value ELSE '' END, ' ')
                 FROM crash_module_links l, json_each(l.modules) j WHERE l.crash = c.id), '')
       || ' ' ||
       coalesce((SELECT group_concat(DISTINCT 'f' || n.id) FROM frames f JOIN function_names n ON n.name = f.function
                 WHERE f.crash = c.id), '')
FROM crashes c;
CREATE TABLE annotations_v8 (
    key TEXT NOT NULL,
    crash INTEGER NOT NULL REFERENCES crashes(id) ON DELETE CASCADE,
    value TEXT NOT NULL,
    PRIMARY KEY (key, crash)
) WITHOUT ROWID;
INSERT INTO annotations_v8 (key, crash, value) SELECT key, crash, value FROM annotations ORDER BY key, crash;
DROP TABLE annotations;
ALTER TABLE annotations_v8 RENAME TO annotations;
DROP INDEX frames_function;
DROP INDEX frames_module;
"""

# issue 29 (branch realwindow): imported dumps were dated by the import. Date them by their CrashTime annotation,
# else the minidump header's time stamp (crashdesk_crash_time, registered by _crash_time_function); the import
# time stays received_at (the CrashTime annotation read from the raw crash: since v13 there is no annotations
# table, and tests run this migration again on a current store). Only crashes whose date is their import time (source 'import', submitted_at equal to
# received_at) change; one with neither time keeps its date. Self-contained: renumber freely on merge.
_V_CRASH_TIME = """
UPDATE crashes SET submitted_at = coalesce(
    crashdesk_crash_time(crashdesk_raw_annotation(raw, 'CrashTime'),
                         (SELECT sha256 FROM dumps WHERE crash = crashes.id AND name = 'upload_file_minidump')),
    submitted_at)
WHERE source = 'import' AND submitted_at = received_at;
"""


def _raw_annotation(raw: str | bytes | None, key: str) -> str | None:
    """``crashdesk_raw_annotation(raw, key)``: an annotation's value as the ``annotations`` table stored it
    (``store.terms.annotation_value_text``), read from ``crashes.raw``; NULL when the crash has none."""
    import json

    from crashdesk.store import codec
    from crashdesk.store.terms import annotation_value_text

    try:
        annotations = json.loads(codec.text(raw) or "{}")
    except (ValueError, codec.CorruptDocument):
        return None
    if not isinstance(annotations, dict) or key not in annotations:
        return None
    return annotation_value_text(annotations[key])


def _crash_time_function(conn: sqlite3.Connection) -> None:
    """``crashdesk_crash_time(crash_time_annotation, dump_sha256)`` for :data:`_V_CRASH_TIME`: reads the first
    32 bytes of the dump in the store's blob folder (``<data>/dumps``, beside the database)."""
    from crashdesk.model.crash_time import crash_date, minidump_header_time

    rows = conn.execute("PRAGMA database_list").fetchall()
    db_file = next((r[2] for r in rows if r[1] == "main"), "")
    blobs = Path(db_file).parent / "dumps" if db_file else None

    def crash_time(annotation: str | None, sha256: str | None) -> str | None:
        stamp = None
        if blobs is not None and sha256 and len(sha256) == 64 and all(c in "0123456789abcdef" for c in sha256):
            try:
                with open(blobs / sha256[:2] / sha256[2:4] / sha256, "rb") as fh:
                    stamp = minidump_header_time(fh.read(32))
            except OSError:
                stamp = None
        return crash_date({} if annotation is None else {"CrashTime": annotation}, stamp)

    conn.create_function("crashdesk_crash_time", 2, crash_time)


# v9 (every thread searchable): per crash, the set of thread terms (``thread_terms``) and the stacks ordered
# matching needs (``crash_stacks``), see ``crashdesk.store.thread_index``; name dictionaries for thread names
# and frame modules; ``thread_top_counts`` (how many crashes have each function on top of a thread other than the
# crashing one: the ``thread.function`` facet over the whole store). Existing crashes are indexed from their
# processed document (``_v9_backfill``).
_V9 = """
CREATE VIRTUAL TABLE thread_terms USING fts5(terms, detail = 'none');
CREATE TABLE crash_stacks (
    crash INTEGER PRIMARY KEY REFERENCES crashes(id) ON DELETE CASCADE,
    frames INTEGER NOT NULL,              -- physical frames of the crashing thread
    stacks BLOB NOT NULL,                 -- JSON [[roles, thread name id, [function id, ...]], ...]
    tops TEXT NOT NULL DEFAULT '',        -- distinct top function ids of the other threads
    server_differs INTEGER                -- synced crashes: 1 when the local re-walk's crashing thread differs
);                                        -- from the server's (function, module or trust of a frame), else 0
CREATE INDEX crash_stacks_frames ON crash_stacks(frames);
CREATE INDEX crash_stacks_server_differs ON crash_stacks(server_differs) WHERE server_differs IS NOT NULL;
CREATE TABLE thread_names (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE frame_modules (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE thread_top_counts (function INTEGER PRIMARY KEY, crashes INTEGER NOT NULL);
CREATE TRIGGER crash_stacks_ad AFTER DELETE ON crash_stacks
BEGIN DELETE FROM thread_terms WHERE rowid = old.crash; UPDATE thread_top_counts SET crashes = crashes - 1
    WHERE function IN (SELECT value FROM json_each('[' || replace(old.tops, ' ', ',') || ']')); END;
"""


def _v9_backfill(conn: sqlite3.Connection) -> None:
    from crashdesk.store.thread_index import backfill, sql_function_ids

    backfill(conn, sql_function_ids)




# v11 (issue 27): bytes per crash.
# * ``frames`` rows go: the processed crash holds every frame, and searches use the ``f<id>`` terms for functions
#   and, new here, ``p<id>`` terms (``crash_terms``) over a dictionary of source file names with a trigram index
#   (``file_names``, like ``function_names``) for ``file:`` (5-13 KB a crash on the benchmark's data);
# * ``codec_dictionaries``: zstd dictionaries trained on the store's documents (``crashdesk.store.dictionaries``);
#   existing blobs stay as they are (``CrashStore.compact`` recompresses them);
# * ``crash_module_links.base_addrs`` may be a blob of 8 bytes per module (``store.terms.pack_base_addrs``);
#   ``_v_compact`` packs existing rows, and the ``crash_modules`` view reads both forms;
# * ``crashes.raw`` may be a compressed blob (``codec.text`` reads both);
# * ``thread_terms``, ``crash_terms`` and ``crash_fts`` without stored content (``_contentless_thread_terms``,
#   ``_contentless_search_text``): ~8 KB a crash the FTS5 tables kept a second copy of.
_V_COMPACT = """
CREATE TABLE IF NOT EXISTS codec_dictionaries (
    id INTEGER PRIMARY KEY,               -- the dictionary id zstd writes in each frame's header
    kind TEXT NOT NULL,                   -- processed | signature_input
    dict BLOB NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS file_names (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE VIRTUAL TABLE IF NOT EXISTS file_names_fts USING fts5(name, tokenize = 'trigram');
CREATE TRIGGER IF NOT EXISTS file_names_ai AFTER INSERT ON file_names
BEGIN INSERT INTO file_names_fts (rowid, name) VALUES (new.id, new.name); END;
DROP VIEW IF EXISTS crash_modules;
CREATE VIEW crash_modules (crash, module, base_addr, symbol_status, symbol_note) AS
SELECT l.crash, j.value,
       CASE WHEN typeof(l.base_addrs) = 'blob' THEN '0x' || lower(hex(substr(l.base_addrs, j.key * 8 + 1, 8)))
            ELSE json_extract(l.base_addrs, '$[' || j.key || ']') END,
       CASE substr(l.status, j.key + 1, 1) WHEN 'L' THEN 'loaded' WHEN 'M' THEN 'missing'
            WHEN 'C' THEN 'corrupt' WHEN 'E' THEN 'error' END,
       json_extract(l.notes, '$[' || j.key || ']')
FROM crash_module_links l, json_each(l.modules) j;
"""


_V_COMPACT_FRAMES = """
INSERT OR IGNORE INTO file_names (name) SELECT DISTINCT file FROM frames WHERE file IS NOT NULL;
UPDATE crash_terms SET processed = processed || ' ' ||
    (SELECT group_concat(DISTINCT 'p' || n.id) FROM frames f JOIN file_names n ON n.name = f.file
     WHERE f.crash = crash_terms.rowid)
WHERE rowid IN (SELECT crash FROM frames WHERE file IS NOT NULL);
DROP TABLE frames;
"""


_THREAD_TERMS_TRIGGERS = ("""
CREATE TRIGGER crash_stacks_ad AFTER DELETE ON crash_stacks
BEGIN UPDATE thread_top_counts SET crashes = crashes - 1
    WHERE function IN (SELECT value FROM json_each('[' || replace(old.tops, ' ', ',') || ']')); END
""", """
CREATE TRIGGER thread_terms_text_ad AFTER DELETE ON thread_terms_text
BEGIN INSERT INTO thread_terms (thread_terms, rowid, terms) VALUES ('delete', old.crash, crashdesk_text(old.terms)); END
""")


def _contentless_thread_terms(conn: sqlite3.Connection) -> None:
    """``thread_terms`` without stored content (SQLite 3.40 has no ``contentless_delete``): each crash's terms
    move, compressed, to ``thread_terms_text`` (a narrow table of its own, so ``crash_stacks`` rows stay small for
    the stack matcher), whose delete trigger gives them back to FTS5's 'delete'."""
    from crashdesk.store import codec

    (sql,) = conn.execute("SELECT sql FROM sqlite_schema WHERE name = 'thread_terms'").fetchone()
    if "content" in sql:
        return  # done already
    conn.execute("DROP TABLE IF EXISTS thread_terms_text")  # left from a layout this replaces: stale
    conn.execute("CREATE TABLE thread_terms_text (crash INTEGER PRIMARY KEY REFERENCES crashes(id) ON DELETE CASCADE, "
                 "terms BLOB NOT NULL)")  # a crash's thread terms, compressed
    conn.execute("CREATE VIRTUAL TABLE thread_terms_new USING fts5(terms, content = '', detail = 'none')")
    last = 0
    while True:
        rows = conn.execute("SELECT rowid, terms FROM thread_terms WHERE rowid > ? ORDER BY rowid LIMIT 2000",
                            (last,)).fetchall()
        if not rows:
            break
        last = rows[-1][0]
        conn.executemany("INSERT INTO thread_terms_new (rowid, terms) VALUES (?, ?)", rows)
        blobs = codec.compress_many([t.encode() for _, t in rows])
        conn.executemany("INSERT INTO thread_terms_text (crash, terms) VALUES (?, ?)",
                         [(rowid, blob) for (rowid, _), blob in zip(rows, blobs, strict=True)])
    conn.execute("DROP TRIGGER IF EXISTS crash_stacks_ad")
    conn.execute("DROP TABLE thread_terms")
    conn.execute("ALTER TABLE thread_terms_new RENAME TO thread_terms")
    for trigger in _THREAD_TERMS_TRIGGERS:
        conn.execute(trigger)


_SEARCH_TEXT_TRIGGER = """
CREATE TRIGGER search_text_ad AFTER DELETE ON search_text
BEGIN INSERT INTO crash_terms (crash_terms, rowid, annotations, processed)
    SELECT 'delete', old.crash, json_extract(t, '$[0]'), json_extract(t, '$[1]') FROM (SELECT crashdesk_text(old.doc) AS t);
    INSERT INTO crash_fts (crash_fts, rowid, signature, functions, annotations)
    SELECT 'delete', old.crash, json_extract(t, '$[2]'), json_extract(t, '$[3]'), json_extract(t, '$[4]')
    FROM (SELECT crashdesk_text(old.doc) AS t); END
"""


def _contentless_search_text(conn: sqlite3.Connection) -> None:
    """``crash_terms`` and ``crash_fts`` without stored content: their values move, compressed, to ``search_text``
    (``crashdesk.store.search_text``), whose delete trigger takes a crash's values out of both indexes."""
    from crashdesk.store import codec
    from crashdesk.store.search_text import encode

    (sql,) = conn.execute("SELECT sql FROM sqlite_schema WHERE name = 'crash_terms'").fetchone()
    if "content" in sql:
        return  # done already
    conn.execute("DROP TABLE IF EXISTS search_text")  # left from a layout this replaces: stale
    conn.execute("CREATE TABLE search_text (crash INTEGER PRIMARY KEY REFERENCES crashes(id) ON DELETE CASCADE, "
                 "doc BLOB NOT NULL)")
    conn.execute("CREATE VIRTUAL TABLE crash_terms_new USING fts5(annotations, processed, content = '', "
                 "detail = 'none')")
    conn.execute("CREATE VIRTUAL TABLE crash_fts_new USING fts5(signature, functions, annotations, content = '', "
                 "tokenize = 'unicode61')")
    last = 0
    while True:
        rows = conn.execute(
            "SELECT c.id, t.annotations, t.processed, f.signature, f.functions, f.annotations FROM crashes c "
            "LEFT JOIN crash_terms t ON t.rowid = c.id LEFT JOIN crash_fts f ON f.rowid = c.id WHERE c.id > ? "
            "ORDER BY c.id LIMIT 2000", (last,)).fetchall()
        if not rows:
            break
        last = rows[-1][0]
        rows = [(r[0], *("" if v is None else v for v in r[1:])) for r in rows if any(v is not None for v in r[1:])]
        conn.executemany("INSERT INTO crash_terms_new (rowid, annotations, processed) VALUES (?,?,?)",
                         [r[:3] for r in rows])
        conn.executemany("INSERT INTO crash_fts_new (rowid, signature, functions, annotations) VALUES (?,?,?,?)",
                         [(r[0], *r[3:]) for r in rows])
        blobs = codec.compress_many([encode(r[1:3], r[3:]) for r in rows])
        conn.executemany("INSERT INTO search_text (crash, doc) VALUES (?, ?)",
                         [(r[0], blob) for r, blob in zip(rows, blobs, strict=True)])
    for name in ("crash_terms", "crash_fts"):
        conn.execute(f"DROP TABLE {name}")
        conn.execute(f"ALTER TABLE {name}_new RENAME TO {name}")
    conn.execute(_SEARCH_TEXT_TRIGGER)


def _v_compact(conn: sqlite3.Connection) -> None:
    """:data:`_V_COMPACT`'s steps that depend on what is there (running it again changes nothing): the file
    terms from ``frames`` (then dropped), and packed base addresses."""
    import orjson

    from crashdesk.store.terms import pack_base_addrs

    if conn.execute("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'frames'").fetchone():
        for statement in _split(_V_COMPACT_FRAMES):
            conn.execute(statement)
    _contentless_thread_terms(conn)
    _contentless_search_text(conn)
    last = 0
    while True:
        rows = conn.execute("SELECT crash, base_addrs FROM crash_module_links WHERE crash > ? AND "
                            "typeof(base_addrs) = 'text' ORDER BY crash LIMIT 2000", (last,)).fetchall()
        if not rows:
            return
        last = rows[-1][0]
        packed = []
        for crash, text in rows:
            try:
                blob = pack_base_addrs(orjson.loads(text))
            except orjson.JSONDecodeError:
                blob = None
            if blob is not None:
                packed.append((blob, crash))
        conn.executemany("UPDATE crash_module_links SET base_addrs = ? WHERE crash = ?", packed)



# v12: the facet index's change log (crashdesk.store.facet_index): every insert, delete and
# update of a crash's indexed columns or module links appends the crash's rowid in the writing transaction,
# so an in-memory index re-reads exactly the crashes changed since it was built. The log trims itself to its
# last ~200,000 rows (LOG_KEEP); an index older than that rebuilds from the tables.
_V_FACET_CHANGES = """
CREATE TABLE IF NOT EXISTS facet_changes (seq INTEGER PRIMARY KEY, crash INTEGER NOT NULL);
CREATE TRIGGER IF NOT EXISTS facet_crashes_ai AFTER INSERT ON crashes
BEGIN INSERT INTO facet_changes (crash) VALUES (new.id); END;
CREATE TRIGGER IF NOT EXISTS facet_crashes_ad AFTER DELETE ON crashes
BEGIN INSERT INTO facet_changes (crash) VALUES (old.id); END;
CREATE TRIGGER IF NOT EXISTS facet_crashes_au AFTER UPDATE OF id, signature, server_signature, product, version, version_key,
    os, os_version, cpu, channel, source, state, reason, build_id ON crashes
BEGIN INSERT INTO facet_changes (crash) SELECT old.id UNION SELECT new.id; END;
CREATE TRIGGER IF NOT EXISTS facet_links_ai AFTER INSERT ON crash_module_links
BEGIN INSERT INTO facet_changes (crash) VALUES (new.crash); END;
CREATE TRIGGER IF NOT EXISTS facet_links_ad AFTER DELETE ON crash_module_links
BEGIN INSERT INTO facet_changes (crash) VALUES (old.crash); END;
CREATE TRIGGER IF NOT EXISTS facet_links_au AFTER UPDATE OF crash, modules ON crash_module_links
BEGIN INSERT INTO facet_changes (crash) SELECT old.crash UNION SELECT new.crash; END;
CREATE TRIGGER IF NOT EXISTS facet_changes_trim AFTER INSERT ON facet_changes WHEN new.seq % 4096 = 0
BEGIN DELETE FROM facet_changes WHERE seq <= new.seq - 200000; END;
INSERT OR IGNORE INTO settings (key, value) VALUES ('facet_index_id', lower(hex(randomblob(16))));
"""

# issue 27 (branch slimstore): bytes per crash, rows per crash. Renumber on merge.
# * ``annotation_columns`` (``crashdesk.store.annotation_columns``) replaces ``annotations``: one key's values for up
#   to 1,024 consecutive crashes per row, instead of a B-tree row per (key, crash); ``_v_slim`` moves them;
# * ``signature_inputs.split``: how ``crashes.processed`` was split from the signature input
#   (``crashdesk.store.split_document``; NULL: the whole document, as stored before);
# * ``crash_module_links.base_addrs`` is an empty blob for new crashes: the base addresses are read from the
#   processed crash (``CrashStore.get``); the ``crash_modules`` view gives NULL for those.
_V_SLIM = """
CREATE TABLE IF NOT EXISTS annotation_columns (
    key TEXT NOT NULL,
    first INTEGER NOT NULL,               -- the crash row id of vals[0]
    last INTEGER NOT NULL,                -- the crash row id of the last element
    vals BLOB NOT NULL,                   -- compressed JSON array: each crash's value, or null
    PRIMARY KEY (key, first)
) WITHOUT ROWID;
DROP VIEW IF EXISTS crash_modules;
CREATE VIEW crash_modules (crash, module, base_addr, symbol_status, symbol_note) AS
SELECT l.crash, j.value,
       CASE WHEN typeof(l.base_addrs) = 'blob' THEN CASE WHEN length(l.base_addrs) > 0
            THEN '0x' || lower(hex(substr(l.base_addrs, j.key * 8 + 1, 8))) END
            ELSE json_extract(l.base_addrs, '$[' || j.key || ']') END,
       CASE substr(l.status, j.key + 1, 1) WHEN 'L' THEN 'loaded' WHEN 'M' THEN 'missing'
            WHEN 'C' THEN 'corrupt' WHEN 'E' THEN 'error' END,
       json_extract(l.notes, '$[' || j.key || ']')
FROM crash_module_links l, json_each(l.modules) j;
CREATE TRIGGER IF NOT EXISTS annotation_columns_ad AFTER DELETE ON crashes
BEGIN UPDATE annotation_columns SET vals = crashdesk_annotation_unset(vals, old.id - first)
    WHERE first <= old.id AND last >= old.id; END;
"""


def _v_slim(conn: sqlite3.Connection) -> None:
    """:data:`_V_SLIM`'s steps that depend on what is there: the ``annotations`` rows move to
    ``annotation_columns`` (key by key, in crash order), ``signature_inputs`` gains ``split``."""
    from crashdesk.store import annotation_columns

    columns = {r[1] for r in conn.execute("PRAGMA table_info(signature_inputs)")}
    if "split" not in columns:
        conn.execute("ALTER TABLE signature_inputs ADD COLUMN split INTEGER")
    if not conn.execute("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'annotations'").fetchone():
        return
    key, values = None, {}
    for k, crash, value in conn.execute("SELECT key, crash, value FROM annotations ORDER BY key, crash"):
        if k != key or len(values) >= 4 * annotation_columns.CAP:
            if values:
                annotation_columns.write(conn, {key: values})
            key, values = k, {}
        values[crash] = value
    if values:
        annotation_columns.write(conn, {key: values})
    conn.execute("DROP TABLE annotations")


# v14 (issue 27, ingest at 1M): each full-text index keeps up to 16 MiB of a transaction's new terms in memory
# before writing them as a segment (FTS5's default, 1 MiB, wrote a bulk batch of 500 crashes as several small
# segments per index, each merged again later: the ``thread_terms`` insert was the largest cost of ingest). A
# write of a few crashes holds a few KB; what is written and what searches answer are the same. An SQLite whose
# FTS5 lacks the option refuses it: the store then keeps the default (and an older SQLite ignores the setting).
FTS_HASHSIZE = 16 << 20


def _fts_hashsize(conn: sqlite3.Connection) -> None:
    for index in ("thread_terms", "crash_terms", "crash_fts"):
        conn.execute("SAVEPOINT hashsize")
        try:
            conn.execute(f"INSERT INTO {index} ({index}, rank) VALUES ('hashsize', {FTS_HASHSIZE})")
        except sqlite3.OperationalError:
            conn.execute("ROLLBACK TO hashsize")
        conn.execute("RELEASE hashsize")


# The process uptime the minidump records (MiscInfo's creation time against the dump's time stamp), set when
# a crash is processed: the start-up share of clients that send no uptime annotation. Crashes processed before
# have NULL until they are processed again.
def _v_process_uptime(conn: sqlite3.Connection) -> None:
    """``crashes.process_uptime`` and its partial index (running it again changes nothing)."""
    if "process_uptime" not in {r[1] for r in conn.execute("PRAGMA table_info(crashes)")}:
        conn.execute("ALTER TABLE crashes ADD COLUMN process_uptime INTEGER")
    conn.execute("CREATE INDEX IF NOT EXISTS crashes_process_uptime ON crashes(id, process_uptime) "
                 "WHERE process_uptime IS NOT NULL")

MIGRATIONS: list[str | tuple[str, object]] = [_V1, _V2, _V3, _V4, _V5, _V6, _V7, _V8, (_V9, _v9_backfill),
                                             _V_CRASH_TIME,  # v10
                                             (_V_COMPACT, _v_compact),  # v11 (issue 27: bytes per crash)
                                             _V_FACET_CHANGES,  # v12 (issue 27: the facet index's change log)
                                             (_V_SLIM, _v_slim),  # v13 (issue 27: slimstore)
                                             ("", _fts_hashsize),  # v14 (issue 27: ingest at 1M)
                                             ("", _v_process_uptime)]  # v15 (start-up share from the dump)
SCHEMA_VERSION = len(MIGRATIONS)


def upgrade_needed(path: Path) -> int | None:
    """How many crashes an existing database at ``path`` holds when opening it will migrate it to
    :data:`SCHEMA_VERSION` (which can take minutes for a large store), else None."""
    if not Path(path).is_file():
        return None
    try:
        conn = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True)
        try:
            (current,) = conn.execute("PRAGMA user_version").fetchone()
            if not 0 < current < SCHEMA_VERSION:
                return None
            return conn.execute("SELECT count(*) FROM crashes").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return None


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the database up to :data:`SCHEMA_VERSION`; return the version it had before."""
    (current,) = conn.execute("PRAGMA user_version").fetchone()
    if 0 < current < SCHEMA_VERSION:
        (crashes,) = conn.execute("SELECT count(*) FROM crashes").fetchone()
        import logging  # only for an upgrade

        logging.getLogger(__name__).warning("upgrading the crash store from schema %d to %d (%d crashes); large stores take minutes",
                    current, SCHEMA_VERSION, crashes)
    if current > SCHEMA_VERSION:
        raise StoreError(
            f"the database has schema version {current}, newer than this CrashDesk understands "
            f"({SCHEMA_VERSION}); upgrade CrashDesk"
        )
    if current < SCHEMA_VERSION:
        from crashdesk.store.terms import annotation_token

        conn.create_function("crashdesk_annotation_token", 2, annotation_token, deterministic=True)
        conn.create_function("crashdesk_raw_annotation", 2, _raw_annotation, deterministic=True)
        _crash_time_function(conn)
    for version in range(current, SCHEMA_VERSION):
        conn.execute("BEGIN IMMEDIATE")
        try:
            # another process may have migrated while we waited for the write lock
            (now,) = conn.execute("PRAGMA user_version").fetchone()
            if now > version:
                conn.execute("COMMIT")
                continue
            step = MIGRATIONS[version]
            script, after = step if isinstance(step, tuple) else (step, None)
            for statement in _split(script):
                conn.execute(statement)
            if after is not None:
                after(conn)  # a step SQL alone cannot do (reading compressed documents)
            conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return current


def _split(script: str) -> list[str]:
    """Split a migration script into statements (our scripts have no ';' inside literals)."""
    out, buf = [], []
    for line in script.splitlines():
        code = line.split("--", 1)[0]
        buf.append(code)
        if code.rstrip().endswith(";"):
            statement = "\n".join(buf).strip()
            if statement.strip(";").strip():
                out.append(statement)
            buf = []
    tail = "\n".join(buf).strip()
    if tail:
        out.append(tail)
    return out
