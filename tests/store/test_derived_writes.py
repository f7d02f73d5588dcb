"""``Database.derived_writes``: only this thread's commits skip the fsync, only inside the block (issue 24:
one fsync per processed crash held the first pass back). Received crashes, written by other connections, keep
``synchronous = FULL``."""

from __future__ import annotations

import threading

FULL, NORMAL = 2, 1


def _sync(conn) -> int:
    return conn.execute("PRAGMA synchronous").fetchone()[0]


def test_only_this_thread_and_only_inside_the_block(store):
    db = store.db
    assert _sync(db.conn) == FULL
    other: list[int] = []
    with db.derived_writes():
        assert _sync(db.conn) == NORMAL
        t = threading.Thread(target=lambda: other.append(_sync(db.conn)))  # another thread's connection
        t.start()
        t.join()
        with db.write() as conn:  # writes still commit
            conn.execute("CREATE TABLE IF NOT EXISTS t_derived (x)")
            conn.execute("INSERT INTO t_derived VALUES (1)")
    assert other == [FULL]
    assert _sync(db.conn) == FULL
    assert db.conn.execute("SELECT count(*) FROM t_derived").fetchone()[0] == 1


def test_full_again_after_an_error(store):
    try:
        with store.db.derived_writes():
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert _sync(store.db.conn) == FULL


def test_an_interrupted_write_is_rolled_back_and_the_interrupt_goes_up(store):
    """Ctrl-C between a write's BEGIN and its COMMIT leaves the transaction open; leaving the block must still
    raise the interrupt (not SQLite's "Safety level may not be changed inside a transaction") and keep none of
    the interrupted write."""
    db = store.db
    with db.write() as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS t_interrupted (x)")
    try:
        with db.derived_writes():
            db.conn.execute("BEGIN IMMEDIATE")
            db.conn.execute("INSERT INTO t_interrupted VALUES (1)")
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    assert not db.conn.in_transaction
    assert _sync(db.conn) == FULL
    assert db.conn.execute("SELECT count(*) FROM t_interrupted").fetchone()[0] == 0
