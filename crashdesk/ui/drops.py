"""What a drop on the main window does with each dropped path (issue 17: dropping symbols on the window).

- a minidump (``.dmp``/``.mdmp``/``.minidump``), a crash bundle ``.zip`` or a bundle folder (``raw_crash/`` or
  ``processed_crash/`` inside) is imported, as File → Open does;
- a Breakpad ``.sym`` file (first line ``MODULE ...``, whatever its name) is installed into the symbol cache
  in store layout, named by its MODULE line, then the crashes that lacked it are re-walked;
- a native debug file (ELF, PE, PDB, Mach-O, recognised by its first bytes) adds its folder as a build folder
  (a separate ``.debug``, the PDB beside the ``.exe`` or the other libraries are usually next to it);
- any other folder (a dSYM bundle too) is a build folder: scanned for native and ``.sym`` files, added to the
  symbol folders, the crashes it can symbolicate re-walked. Minidumps inside such a folder are NOT imported
  (a build folder full of old test dumps would flood the store); they are counted and the status bar says so.

Classification reads at most 32 bytes of each dropped file and never walks a folder, so it is cheap enough for
``dragEnterEvent``.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from crashdesk.engine.native.ids import SNIFF_BYTES, sniff_kind

DUMP_SUFFIXES = (".dmp", ".mdmp", ".minidump")
NATIVE_KINDS = ("elf", "pe", "pdb", "macho")


@dataclass
class DropPlan:
    imports: list[str] = field(default_factory=list)  # dumps, bundle zips and bundle folders
    sym_files: list[str] = field(default_factory=list)  # Breakpad .sym files to install
    build_folders: list[str] = field(default_factory=list)  # folders to scan (dropped, or a native file's)
    ignored: list[str] = field(default_factory=list)  # neither

    @property
    def empty(self) -> bool:
        return not (self.imports or self.sym_files or self.build_folders)


def is_bundle_folder(path: Path) -> bool:
    return (path / "raw_crash").is_dir() or (path / "processed_crash").is_dir()


def dumps_inside(folder: str) -> int:
    """Minidumps directly inside ``folder`` (not imported when the folder is dropped as a build folder)."""
    try:
        return sum(1 for p in Path(folder).iterdir() if p.suffix.lower() in DUMP_SUFFIXES and p.is_file())
    except OSError:
        return 0


def _head(path: Path) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(SNIFF_BYTES)
    except OSError:
        return b""


def classify(paths: list[str]) -> DropPlan:
    plan = DropPlan()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            target = plan.imports if is_bundle_folder(path) else plan.build_folders
            if raw not in target:
                target.append(raw)
            continue
        if not path.is_file():
            plan.ignored.append(raw)
            continue
        if path.suffix.lower() in DUMP_SUFFIXES or (path.suffix.lower() == ".zip" and zipfile.is_zipfile(path)):
            plan.imports.append(raw)
            continue
        kind = sniff_kind(_head(path))
        if kind == "breakpad":
            plan.sym_files.append(raw)
        elif kind in NATIVE_KINDS:
            folder = str(path.parent)
            if folder not in plan.build_folders:
                plan.build_folders.append(folder)
        else:
            plan.ignored.append(raw)
    return plan
