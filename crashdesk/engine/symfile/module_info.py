"""What a ``.sym`` file's ``MODULE`` and ``INFO`` lines say: :class:`ModuleInfo`, and
:func:`parse_module_line` for the first line.

Its own module so that opening an already-built index, or sniffing a folder's files, does not import the
scanner (:mod:`.scan`, the record grammar and the parallel scan).
"""

from __future__ import annotations

from crashdesk.engine.record_class import Record, field
from crashdesk.engine.symfile.errors import NotASymbolFile


class ModuleInfo(Record, slots=True):
    """What the ``MODULE`` and ``INFO`` lines say."""

    os: str
    arch: str
    debug_id: str
    debug_file: str
    code_id: str = ""
    code_file: str = ""
    generator: str = ""
    urls: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "os": self.os, "arch": self.arch, "debug_id": self.debug_id, "debug_file": self.debug_file,
            "code_id": self.code_id, "code_file": self.code_file, "generator": self.generator,
            "urls": list(self.urls),
        }

    @classmethod
    def from_json(cls, obj: dict) -> ModuleInfo:
        return cls(
            os=str(obj["os"]), arch=str(obj["arch"]), debug_id=str(obj["debug_id"]),
            debug_file=str(obj["debug_file"]), code_id=str(obj.get("code_id", "")),
            code_file=str(obj.get("code_file", "")), generator=str(obj.get("generator", "")),
            urls=[str(u) for u in obj.get("urls", [])],
        )


def parse_module_line(first_line: bytes, path: str = "") -> ModuleInfo:
    """Parse ``MODULE <os> <arch> <debug_id> <debug_file>``; raise :class:`NotASymbolFile` otherwise."""
    line = first_line.rstrip(b"\r\n")
    if line.startswith(b"\xef\xbb\xbf"):
        line = line[3:]
    parts = line.split(b" ", 4)
    if len(parts) < 5 or parts[0] != b"MODULE" or not parts[4]:
        shown = line[:60].decode("utf-8", "replace")
        raise NotASymbolFile(f"{path or 'symbol file'}: not a Breakpad symbol file (first line {shown!r})")
    text = [p.decode("utf-8", "replace") for p in parts]
    return ModuleInfo(os=text[1], arch=text[2], debug_id=text[3].upper(), debug_file=text[4])
