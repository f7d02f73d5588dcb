"""The sample crashes shipped in ``crashdesk/samples/``, loaded into a store for a first look.

Each sample is a real minidump with its upload's annotations and the reference stackwalker output. A sample
is stored as a crash with source ``import``; its processed crash is the shipped reference output, clearly
noted as such, and its signature comes from CrashDesk's signature engine (siggen when that is absent).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import crashdesk

SAMPLES_DIR = Path(crashdesk.__file__).parent / "samples"
SAMPLE_NOTE = ("sample crash: the processed crash is the reference minidump-stackwalk 0.25.0 output shipped "
               "with it ({name}), not a result of this installation")


@dataclass(frozen=True)
class Sample:
    name: str
    folder: Path

    @property
    def dump(self) -> Path:
        return self.folder / "dump.dmp"

    def annotations(self) -> dict[str, Any]:
        return json.loads((self.folder / "annotations.json").read_text(encoding="utf-8"))

    def processed(self) -> dict[str, Any]:
        return json.loads((self.folder / "expected.json").read_text(encoding="utf-8"))


def samples(root: Path = SAMPLES_DIR) -> list[Sample]:
    return [Sample(p.name, p) for p in sorted(root.iterdir())
            if p.is_dir() and (p / "dump.dmp").is_file() and (p / "expected.json").is_file()]


def signature_for(processed: dict[str, Any], annotations: dict[str, Any]) -> Any:
    """A ``SignatureRecord`` for a processed crash, from the project's engine or siggen."""
    from crashdesk.store.crashes import SignatureRecord

    try:
        from crashdesk.engine.signature import generate_signature
    except ImportError:
        generate_signature = None
    if generate_signature is not None:
        res = generate_signature({"stackwalk": processed, "annotations": annotations})
        return SignatureRecord(res.signature, res.proto_signature or None, list(res.notes),
                               profile=res.profile or "mozilla")
    from siggen.generator import SignatureGenerator
    from siggen.utils import convert_to_crash_data

    res = SignatureGenerator().generate(convert_to_crash_data({"json_dump": processed}))
    return SignatureRecord(res.signature, (res.extra or {}).get("proto_signature"), list(res.notes),
                           profile="siggen")


def load_samples(store: Any, cancel: Any = None, report: Callable[[float, str], None] | None = None,
                 root: Path = SAMPLES_DIR) -> list[str]:
    """Add every sample to ``store`` (already processed); return the new crash ids."""
    found = samples(root)
    ids: list[str] = []
    for n, sample in enumerate(found):
        if cancel is not None:
            cancel.check()
        if report:
            report(n / max(1, len(found)), f"Loading sample {sample.name}")
        annotations = sample.annotations()
        processed = sample.processed()
        crash_id = store.add_crash(annotations, {"upload_file_minidump": sample.dump.read_bytes()},
                                   source="import")
        store.save_processed(crash_id, processed, signature=signature_for(processed, annotations),
                             notes=[SAMPLE_NOTE.format(name=f"samples/{sample.name}/expected.json")])
        ids.append(crash_id)
    if report:
        report(1.0, f"Loaded {len(ids)} sample crashes")
    return ids
