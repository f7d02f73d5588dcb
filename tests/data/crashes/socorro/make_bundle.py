"""Rebuild ``bundle-01-null-deref/`` (a crashstats-tools fetch-data layout) from ``../01-null-deref/``.

Run from this folder: ``python make_bundle.py``. The raw crash is the upload's annotations plus the collector
fields Antenna adds (collector.md §6); the processed crash wraps the reference stackwalk output as
``json_dump`` with the signature siggen 2.2.20241029 computes for it.
"""

import hashlib
import json
from pathlib import Path

from siggen.generator import SignatureGenerator

CRASH_ID = "3f2a9c1e-7b4d-4e8a-9c2f-5d1e0b261129"
here = Path(__file__).parent
src = here.parent / "01-null-deref"
out = here / "bundle-01-null-deref"
dump = (src / "dump.dmp").read_bytes()
annotations = json.loads((src / "annotations.json").read_text())
stackwalk = json.loads((src / "expected.json").read_text())

raw = dict(annotations)
raw.update({
    "submitted_timestamp": "2026-11-29T06:59:12.502113+00:00",
    "uuid": CRASH_ID,
    "version": 2,
    "metadata": {"collector_notes": [], "dump_checksums": {"upload_file_minidump": hashlib.sha256(dump).hexdigest()},
                 "payload": "multipart", "payload_compressed": "0", "payload_size": len(dump) + 1200,
                 "throttle_rule": "accept_everything", "user_agent": "Crashpad/0.8.0"},
})
info = stackwalk["crash_info"]
thread = info["crashing_thread"]
result = SignatureGenerator().generate({
    "os": stackwalk["system_info"]["os"], "crashing_thread": thread, "reason": info["type"],
    "threads": [{"frames": t["frames"]} for t in stackwalk["threads"]],
})
processed = {
    "uuid": CRASH_ID, "crash_id": CRASH_ID, "signature": result.signature,
    "proto_signature": result.extra.get("proto_signature"), "product": annotations["ProductName"],
    "version": annotations["Version"], "build": annotations["BuildID"],
    "release_channel": annotations["ReleaseChannel"], "os_name": stackwalk["system_info"]["os"],
    "cpu_arch": stackwalk["system_info"]["cpu_arch"], "reason": info["type"], "address": info["address"],
    "crashing_thread": thread, "date_processed": raw["submitted_timestamp"],
    "submitted_timestamp": raw["submitted_timestamp"], "json_dump": stackwalk,
}


def write(rel: str, data: bytes) -> None:
    path = out / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


write(f"raw_crash/20{CRASH_ID[-6:]}/{CRASH_ID}", json.dumps(raw, indent=2, sort_keys=True).encode())
write(f"dump_names/{CRASH_ID}", json.dumps(["upload_file_minidump"]).encode())
write(f"upload_file_minidump/{CRASH_ID}", dump)
write(f"processed_crash/{CRASH_ID}", json.dumps(processed, indent=2, sort_keys=True).encode())
