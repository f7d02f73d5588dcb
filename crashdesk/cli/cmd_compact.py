"""``crashdesk compact``: give the store its current layout's size after an upgrade (or a large deletion).

Trains the compression dictionaries from the stored documents if the store has none, recompresses the documents
written before them, then rewrites the file (``VACUUM``) so the space they and the dropped tables held goes back
to the file system (``crashdesk.store.compaction``). The store stays readable throughout; the final rewrite
needs free disk space about the size of the result and waits for other writers. ``--no-vacuum`` skips it.
"""

from __future__ import annotations

import argparse

from crashdesk.cli.common import Progress, open_store, print_json


def register(sub) -> None:
    p = sub.add_parser("compact", common_options=True, help="recompress stored documents and shrink the store file",
                       description="Recompress the stored documents with the store's compression dictionaries "
                                   "(trained first if needed) and give freed space back (VACUUM).")
    p.add_argument("--no-vacuum", action="store_true", help="recompress only; leave the file's size as it is")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    store = open_store(args, write=True)
    bar = Progress("recompressing")
    try:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.advance(done - bar.done)
        result = store.compact(vacuum=not args.no_vacuum, progress=progress)
    finally:
        bar.close()
        store.close()
    if getattr(args, "json", False):
        print_json({"bytes_before": result.bytes_before, "bytes_after": result.bytes_after,
                    "documents_recompressed": result.documents_recompressed,
                    "dictionaries_trained": result.dictionaries_trained})
    else:
        print(f"{result.documents_recompressed} documents recompressed"
              + (f"; dictionaries trained: {', '.join(result.dictionaries_trained)}" if result.dictionaries_trained
                 else "")
              + f"; store file {result.bytes_before / 1e6:.1f} MB -> {result.bytes_after / 1e6:.1f} MB")
    return 0
