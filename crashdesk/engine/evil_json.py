"""The ``--evil-json`` side file of ``minidump-stackwalk``: Mozilla's legacy "raw JSON" of a crash.

Two keys are read, as the reference reads them: ``ModuleSignatureInfo`` (an object, or a string holding
one, mapping a certificate subject to the module names it signed) and ``CPUMicrocodeVersion`` (``"0x..."``,
used when the dump's own Linux CPU info has none). A file that cannot be read or parsed gives nothing and a
one-line reason, as the reference logs an error and goes on.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple


class Evil(NamedTuple):
    certs: dict[str, str]  # module name -> certificate subject
    microcode: str | None
    problem: str | None  # why nothing (or not everything) was read


MAX_BYTES = 64 << 20  # far above any real one (a few KB); a bigger file is refused, not read


def _parse(text: bytes | str):
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser's stack
        return None


def load_evil_json(path: str | Path) -> Evil:
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except OSError:
        return Evil({}, None, f'Could not load Extra JSON at "{path}"')
    if len(raw) > MAX_BYTES:
        return Evil({}, None, f'Could not load Extra JSON at "{path}" (larger than {MAX_BYTES >> 20} MiB)')
    data = _parse(raw)
    if not isinstance(data, dict):
        return Evil({}, None, "Could not parse Extra JSON (was not valid JSON)")
    certs: dict[str, str] = {}
    problem = None
    info = data.get("ModuleSignatureInfo")
    if isinstance(info, str):
        info = _parse(info)
    if "ModuleSignatureInfo" in data:
        if isinstance(info, dict) and all(
            isinstance(v, list) and all(isinstance(m, str) for m in v) for v in info.values()
        ):
            for cert, modules in info.items():
                for module in modules:
                    certs[module] = cert
        else:
            problem = "Could not parse Evil JSON's ModuleSignatureInfo (not an object)"
    microcode = data.get("CPUMicrocodeVersion")
    return Evil(certs, microcode if isinstance(microcode, str) else None, problem)
