#!/usr/bin/env python3
"""Record what Mozilla's Antenna stores for given HTTP uploads: the reference the collector's parity tests
compare against (``tests/data/collector/antenna-reference/``).

Antenna is not bundled (MPL-2.0, not on PyPI): pass a checkout of https://github.com/mozilla-services/antenna
and run this with a Python that has its few run-time packages::

    python3 -m venv /tmp/antenna-venv
    /tmp/antenna-venv/bin/pip install falcon==4.3.1 everett markus attrs isodate more-itertools pyyaml
    /tmp/antenna-venv/bin/python scripts/antenna_reference.py --antenna /path/to/antenna \\
        tests/data/collector/01-null-deref/upload.http ... --out tests/data/collector/antenna-reference

Each upload file is a raw HTTP request (as ``upload.http``); a chunked body is de-chunked first, as nginx does
in front of Antenna. Antenna's own ``BreakpadSubmitterResource`` runs in-process (``falcon.testing``) with its
accept-all throttle rules, every product, and the stage-submitter token ``s3cret``; its crash mover is replaced
by one that records the raw crash and the dump sizes instead of saving them. For each upload
``<name>.antenna.json`` holds the status, the body and, when accepted, the raw crash and dump sizes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def split_request(raw: bytes) -> tuple[str, str, dict[str, str], bytes]:
    head, _, rest = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip()] = value.strip()
    if headers.get("Transfer-Encoding", "").lower() == "chunked":
        body = bytearray()
        pos = 0
        while True:
            end = rest.index(b"\r\n", pos)
            size = int(rest[pos:end].split(b";")[0], 16)
            pos = end + 2
            if size == 0:
                break
            body += rest[pos:pos + size]
            pos += size + 2
        rest = bytes(body)
        del headers["Transfer-Encoding"]
    headers["Content-Length"] = str(len(rest))
    return method, target, headers, rest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--antenna", required=True, type=Path, help="a checkout of mozilla-services/antenna")
    parser.add_argument("--out", required=True, type=Path, help="folder for the <name>.antenna.json files")
    parser.add_argument("uploads", nargs="+", type=Path, help="raw HTTP requests (upload.http)")
    args = parser.parse_args()
    sys.path.insert(0, str(args.antenna))

    import falcon
    import falcon.testing
    from antenna.breakpad_resource import BreakpadSubmitterResource
    from everett.manager import ConfigDictEnv, ConfigManager

    stored: dict[str, dict] = {}

    class RecordingMover:
        def handle_crashreport(self, raw_crash, dumps, crash_id):
            stored[crash_id] = {"raw_crash": raw_crash, "dump_sizes": {k: len(v) for k, v in dumps.items()}}
            return True

    config = ConfigManager([ConfigDictEnv({
        "BREAKPAD_THROTTLER_RULES": "antenna.throttler.ACCEPT_ALL",
        "BREAKPAD_THROTTLER_PRODUCTS": "antenna.throttler.ALL_PRODUCTS",
        "BREAKPAD_STAGE_SUBMITTER_BEARER_TOKEN": "s3cret"})])
    app = falcon.App()
    app.add_route("/submit", BreakpadSubmitterResource(config.with_namespace("breakpad"), RecordingMover()))
    client = falcon.testing.TestClient(app)
    args.out.mkdir(parents=True, exist_ok=True)
    for upload in args.uploads:
        method, target, headers, body = split_request(upload.read_bytes())
        path, _, query = target.partition("?")
        result = client.simulate_request(method, path, query_string=query or None, headers=headers, body=body)
        record: dict = {"status": result.status_code, "body": result.text}
        if result.text.startswith("CrashID=bp-"):
            record.update(stored[result.text.strip()[len("CrashID=bp-"):]])
        name = upload.parent.name if upload.name == "upload.http" else upload.stem
        (args.out / f"{name}.antenna.json").write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
        print(name, record["status"], record["body"].strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
