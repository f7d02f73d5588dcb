"""``(no signature)`` (crashes not processed yet or failed) never heads the Signatures list; crashes without a
Version are listed under "?", not "2" (issue 20)."""

from __future__ import annotations

from crashdesk.services.signature_stats import signature_table
from crashdesk.store.crashes import SignatureRecord


def test_no_signature_row_comes_last_and_versions_are_real(store):
    for _ in range(5):  # unprocessed: no signature, the biggest group
        store.add_crash({"ProductName": "P", "version": 2}, {}, source="import")
    signed = []
    for sig, n in (("big | one", 3), ("small", 1)):
        for _ in range(n):
            cid = store.add_crash({"ProductName": "P", "Version": "1.0"}, {}, source="import")
            store.mark_signed(cid, SignatureRecord(sig, profile="test"))
            signed.append(cid)
    table = signature_table(store)
    assert [r.label for r in table.rows] == ["big | one", "small", "(no signature)"]
    assert table.rows[-1].count == 5
    assert table.rows[-1].versions == [("?", 5)]  # no product Version: not the raw crash format's "2"
    assert table.rows[0].versions == [("1.0", 3)]
