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


def load_evil_json(path: str | Path) -> Evil:
    try:
        data = json.loads(Path(path).read_bytes())
    except OSError:
        return Evil({}, None, f"Could not load Extra JSON at {str(path)!r}")
    except ValueError:
        return Evil({}, None, "Could not parse Extra JSON (was not valid JSON)")
    if not isinstance(data, dict):
        return Evil({}, None, "Could not parse Extra JSON (was not valid JSON)")
    certs: dict[str, str] = {}
    problem = None
    info = data.get("ModuleSignatureInfo")
    if isinstance(info, str):
        try:
            info = json.loads(info)
        except ValueError:
            info = None
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
