"""A processed crash kept as two parts without overlap: its signature input (``model.summary.signature_input``,
``signature_inputs.doc``: what regeneration reads) and the rest (``crashes.processed``).

The signature input holds the crashing thread with all its frames, which the processed crash also holds (often
twice: ``threads[i]`` and ``crashing_thread.frames``); keeping both was ~1.8 KB a crash of compressed bytes
(issue 27). ``signature_inputs.split`` says how a crash's document was split (NULL: ``crashes.processed`` is the
whole document, as every crash stored before schema v13 has it).
"""

from __future__ import annotations

from typing import Any

import orjson


def split_processed(processed: dict[str, Any], slim: dict[str, Any] | None) -> tuple[dict[str, Any], int | None]:
    """The processed crash without what its :func:`signature_input` ``slim`` holds in full, and how to put it
    back (:func:`join_processed`): the crashing thread (``threads[i]``) becomes ``null`` and, when it repeats that
    thread's frames, ``crashing_thread.frames`` too. The store keeps the two parts instead of the document and a
    copy of its largest part. Returns ``(processed, None)`` (nothing taken out) when there is no such thread.
    The split code is ``2 * i + 1`` when ``crashing_thread.frames`` was taken out too, else ``2 * i``."""
    threads = processed.get("threads")
    slim_threads = slim.get("threads") if slim else None
    if type(threads) is not list or type(slim_threads) is not list or len(slim_threads) != len(threads):
        return processed, None
    keep = next((i for i, t in enumerate(slim_threads) if t is threads[i] and t), None)
    if keep is None:
        return processed, None
    rest = dict(processed)
    rest["threads"] = [None if i == keep else t for i, t in enumerate(threads)]
    code = 2 * keep
    crashing = rest.get("crashing_thread")
    thread = threads[keep]
    if type(crashing) is dict and type(thread) is dict and "frames" in crashing and "frames" in thread and (
            crashing["frames"] is thread["frames"] or orjson.dumps(crashing["frames"]) == orjson.dumps(thread["frames"])):
        rest["crashing_thread"] = {k: (None if k == "frames" else v) for k, v in crashing.items()}
        code += 1
    return rest, code


def join_processed(rest: dict[str, Any], slim: dict[str, Any], code: int) -> dict[str, Any]:
    """The processed crash :func:`split_processed` took apart (``code`` its split code)."""
    keep, frames = divmod(code, 2)
    thread = slim["threads"][keep]
    rest["threads"][keep] = thread
    if frames:
        rest["crashing_thread"]["frames"] = thread["frames"]
    return rest
