"""Strip on receipt: the collector's removed fields (``Email``, the telemetry ids) taken out of the Crashpad
annotations inside each received dump too, so they are stored nowhere. Off by default
(:attr:`CollectorConfig.strip_dump_annotations`): the dump is the user's evidence."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping

from crashdesk.collector.parsing import SpooledDump
from crashdesk.engine.minidump import MinidumpError
from crashdesk.engine.minidump.scrub import remove_annotations


def strip_dump_annotations(dumps: Mapping[str, SpooledDump], names: tuple[str, ...]) -> list[str]:
    """Rewrite each spooled dump without the annotations ``names``; update its sha256 and size; return one
    collector note per dump changed. A part that is not a readable minidump is left as it is (noted)."""
    notes = []
    for part, dump in dumps.items():
        try:
            data = dump.path.read_bytes()
            new, removed = remove_annotations(data, names)
        except (OSError, MinidumpError) as exc:
            notes.append(f"{part}: annotations inside the dump not checked ({exc})")
            continue
        if not removed:
            continue
        tmp = dump.path.with_name(dump.path.name + ".strip")
        with open(tmp, "wb") as fh:
            fh.write(new)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, dump.path)
        dump.sha256 = hashlib.sha256(new).hexdigest()
        dump.size = len(new)
        notes.append(f"Removed {', '.join(removed)} from the Crashpad annotations of {part}.")
    return notes
