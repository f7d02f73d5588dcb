"""The text behind the two full-text tables ``crash_terms`` and ``crash_fts``, kept once and compressed.

Both FTS5 tables are contentless (``content=''``): FTS5 keeps only its index, not a second copy of every crash's
terms and words (which was ~4 KB a crash). SQLite 3.40 has no ``contentless_delete``, so taking a crash's old
terms out of the index needs them spelled as they were indexed: ``search_text`` keeps, per crash, the values of
both tables' columns as one compressed JSON list (:data:`COLUMNS` order; dictionary kind ``search_text``), and
its delete trigger (schema) gives FTS5's ``'delete'`` command those values when the row goes: :func:`update`
replaces the row, and deleting a crash cascades to it.

Nothing reads the tables' columns back (searches only MATCH them and read the rowid); :func:`read` is for tests
and tools.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import orjson

from crashdesk.store import codec

TERMS = ("annotations", "processed")  # crash_terms' columns (crashdesk.store.terms)
FTS = ("signature", "functions", "annotations")  # crash_fts' columns
COLUMNS = ("terms.annotations", "terms.processed", "fts.signature", "fts.functions", "fts.annotations")

_TERMS_SQL = "INSERT INTO crash_terms (rowid, annotations, processed) VALUES (?,?,?)"
_FTS_SQL = "INSERT INTO crash_fts (rowid, signature, functions, annotations) VALUES (?,?,?,?)"


def encode(terms: Sequence[str], fts: Sequence[str]) -> bytes:
    """A crash's ``search_text.doc`` before compression."""
    return codec.dumps([*terms, *fts])


def insert(conn, rows: list[tuple[int, tuple[str, str], tuple[str, str, str]]], blobs: list[bytes], *,
           later: list[tuple[str, tuple]] | None = None) -> None:
    """Index new crashes: (rowid, crash_terms values, crash_fts values) each, with :func:`encode`'s bytes
    compressed (``blobs``). ``later``: the two full-text inserts are appended to it as single statements
    (:func:`json_rows_insert`) for the caller to run, instead of run here."""
    if later is None:
        conn.executemany(_TERMS_SQL, [(rowid, *terms) for rowid, terms, _ in rows])
        conn.executemany(_FTS_SQL, [(rowid, *fts) for rowid, _, fts in rows])
    else:
        later.append(json_rows_insert("crash_terms", ("annotations", "processed"),
                                      [(rowid, *terms) for rowid, terms, _ in rows]))
        later.append(json_rows_insert("crash_fts", ("signature", "functions", "annotations"),
                                      [(rowid, *fts) for rowid, _, fts in rows]))
    conn.executemany("INSERT INTO search_text (crash, doc) VALUES (?, ?)",
                     [(row[0], blob) for row, blob in zip(rows, blobs, strict=True)])


def json_rows_insert(table: str, columns: tuple[str, ...], rows: list[tuple]) -> tuple[str, tuple]:
    """One statement (SQL, parameters) inserting ``rows`` (rowid first, then ``columns``' values: integers and
    text only) into ``table``, read from one JSON array: SQLite runs it in one call that holds no GIL
    throughout, where ``executemany`` takes the GIL back for every row."""
    values = ", ".join(f"json_extract(value, '$[{n}]')" for n in range(len(columns) + 1))
    data = orjson.dumps(rows)
    if b"\\u0000" in data:
        # SQLite's json_extract ends a text at a NUL character; the tokenizers take NUL for a separator, as
        # they take a space, so a space in its place gives the same terms at the same positions
        data = orjson.dumps([(row[0], *(v.replace("\x00", " ") if type(v) is str else v for v in row[1:]))
                             for row in rows])
    return f"INSERT INTO {table} (rowid, {', '.join(columns)}) SELECT {values} FROM json_each(?)", (data,)


def read(conn, rowid: int) -> tuple[tuple[str, str], tuple[str, str, str]] | None:
    """The indexed values of a crash (crash_terms', crash_fts'), or None when it has none."""
    row = conn.execute("SELECT doc FROM search_text WHERE crash = ?", (rowid,)).fetchone()
    if row is None:
        return None
    values = codec.unpack(row[0])
    return (values[0], values[1]), (values[2], values[3], values[4])


def update(conn, rowid: int, *, terms: Mapping[str, str] | None = None, fts: Mapping[str, str] | None = None,
           dict_id: int | None = None, create: bool = True) -> None:
    """Replace some column values of a crash in both tables (the others stay). A crash with no row yet gets one
    (missing values empty) unless ``create`` is false, which leaves it without. The old row's delete trigger
    takes its values out of both indexes."""
    old = read(conn, rowid)
    if old is None and not create:
        return
    old_terms, old_fts = old if old is not None else (("", ""), ("", "", ""))
    new_terms = tuple((terms or {}).get(c, v) for c, v in zip(TERMS, old_terms, strict=True))
    new_fts = tuple((fts or {}).get(c, v) for c, v in zip(FTS, old_fts, strict=True))
    if old is not None:
        if new_terms == old_terms and new_fts == old_fts:
            return
        conn.execute("DELETE FROM search_text WHERE crash = ?", (rowid,))
    insert(conn, [(rowid, new_terms, new_fts)],  # type: ignore[list-item]
           [codec.compress(encode(new_terms, new_fts), dict_id)])
