"""``crashdesk compact`` on a real data folder: documents written before the store had its compression
dictionaries are recompressed with them, the file shrinks, and every search and document reads the same."""

from __future__ import annotations

import json

from crashdesk.cli import main
from crashdesk.store import CrashStore, dictionaries
from crashdesk.store.crashes import NewCrash, SignatureRecord

QUERIES = ("", "function:~render", "file:~demo_viewer", "module:libdemo_codec.so", "thread:any function:~start",
           "ann.Seq:=7", "tile_blit", "signature:~sig3")


def test_compact_recompresses_what_came_before_the_dictionaries(capsys, tmp_path, test_data):
    home = tmp_path / "home"
    first = dictionaries.TRAIN_MIN - 50
    items = []
    for k in range(dictionaries.TRAIN_MIN + 20):
        name = ("01-null-deref", "05-thread")[k % 2]
        folder = test_data / "crashes" / name
        ann = {**json.loads((folder / "annotations.json").read_text()), "Seq": str(k)}
        items.append(NewCrash(ann, processed=json.loads((folder / "expected.json").read_text()),
                              signature=SignatureRecord(f"sig{k % 5} | {name}")))
    with CrashStore.open(home) as store:
        store.add_many(items[:first])  # too few to train on: stored without dictionaries
        store.add_many(items[first:])  # now there are enough: trained, used from here on
        answers = {q: sorted(h["crash_id"] for h in store.search(q, limit=1000).hits) for q in QUERIES}
        docs = {cid: store.get(cid) for cid in answers[""]}
    assert all(answers.values())
    code = main(["compact", "--data-dir", str(home), "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    result = json.loads(out)
    # five documents a crash: processed, signature input, raw annotations, thread terms, full-text values
    assert result["documents_recompressed"] == first * len(dictionaries.KINDS)
    assert result["dictionaries_trained"] == []
    assert result["bytes_after"] < result["bytes_before"]
    with CrashStore.open(home) as store:
        assert {q: sorted(h["crash_id"] for h in store.search(q, limit=1000).hits) for q in QUERIES} == answers
        assert {cid: store.get(cid) for cid in answers[""]} == docs
    code = main(["compact", "--data-dir", str(home), "--json"])  # nothing left to recompress
    assert code == 0 and json.loads(capsys.readouterr()[0])["documents_recompressed"] == 0
