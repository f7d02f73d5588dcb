"""Signature profiles: a name, the rule set they follow, an ordered rule list and the signature lists.

On disk a profile is a folder (the services and the command line use ``<data-dir>/profiles/<name>/``)::

    profile.json                         {"name", "follows", "rules": [...], "description"}
    signature_sentinels.txt              literal frame strings that mark the real top of the stack
    irrelevant_signature_re.txt          regexes of frames to skip
    prefix_signature_re.txt              regexes of frames kept but not informative alone
    signatures_with_line_numbers_re.txt  regexes of frames that get ":<line>" appended
    module_rules.txt                     ordered "+app GLOB" / "-app GLOB" module rules (generic walk)

The list files use siggen's names and format, so a profile folder is also a valid ``signature_list_dir``
for siggen (handy for comparing). Two profiles are built in: ``mozilla`` (siggen's own list files, read
from the installed ``siggen`` package at run time, never copied into CrashDesk) and ``generic`` (for any
Breakpad/Crashpad application, version 2: signatures led by the first application frame, see
:mod:`crashdesk.engine.signature.appwalk`). ``generic-v1``, the generic profile before that (siggen's walk
with CrashDesk's first generic lists), stays built in so a regeneration can show what version 2 changed.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from crashdesk.engine.signature import generic_lists, generic_lists_v1
from crashdesk.engine.signature.appwalk import AppFrameSignatureRule
from crashdesk.engine.signature.errors import ProfileError
from crashdesk.engine.signature.lists import LIST_FILES, UNUSED_LIST_FILES, SignatureLists
from crashdesk.engine.signature.modules import MODULE_RULES_FILE
from crashdesk.engine.signature.rules import RULES, SIGGEN_RULE_ORDER

SIGGEN_RULES_VERSION = "2.2.20241029"
#: The rule set CrashDesk's rules implement.
SIGGEN_RULE_SET = f"siggen {SIGGEN_RULES_VERSION}"
PROFILE_FILE = "profile.json"
BUILTIN_NAMES = ("mozilla", "generic", "generic-v1")

GENERIC_V1_RULES: tuple[str, ...] = (
    "SignatureGenerationRule", "StackwalkerErrorSignatureRule", "BadHardware", "OOMSignature", "AbortSignature",
    "StackOverflowSignature", "SigFixWhitespace", "SigTruncate",
)
GENERIC_RULES: tuple[str, ...] = (
    AppFrameSignatureRule.name, "StackwalkerErrorSignatureRule", "BadHardware", "OOMSignature", "AbortSignature",
    "StackOverflowSignature", "SigFixWhitespace", "SigTruncate",
)


@dataclass(frozen=True)
class Profile:
    """Everything signature generation needs; plain data (picklable, comparable)."""

    name: str
    follows: str
    rules: tuple[str, ...]
    lists: SignatureLists
    description: str = ""
    #: the folder it was loaded from, or ``builtin:<name>``
    source: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        unknown = [r for r in self.rules if r not in RULES]
        if unknown:
            raise ProfileError(
                f"profile {self.name!r} ({self.source or 'in memory'}): unknown rule(s) {', '.join(unknown)}; "
                f"known rules: {', '.join(SIGGEN_RULE_ORDER)}"
            )

    def metadata(self) -> dict:
        return {"name": self.name, "follows": self.follows, "rules": list(self.rules),
                "description": self.description}


# -- siggen's lists ---------------------------------------------------------------------------------------
def siggen_version() -> str:
    """Version of the installed ``siggen`` package (``"not installed"`` if absent)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("siggen")
    except PackageNotFoundError:
        return "not installed"


def _siggen_list_dir():
    from importlib.resources import files

    try:
        return files("siggen").joinpath("siglists")
    except ModuleNotFoundError:
        raise ProfileError(
            "the built-in 'mozilla' profile reads its lists from the siggen package, which is not installed "
            f"(pip install siggen=={SIGGEN_RULES_VERSION})"
        ) from None


def siggen_list_texts() -> dict[str, bytes]:
    """``{file name: bytes}`` of every list file shipped in the installed siggen package (incl. unused)."""
    folder = _siggen_list_dir()
    out = {}
    for filename in (*LIST_FILES.values(), *UNUSED_LIST_FILES, "README.rst"):
        entry = folder.joinpath(filename)
        if entry.is_file():
            out[filename] = entry.read_bytes()
    missing = [f for f in LIST_FILES.values() if f not in out]
    if missing:
        raise ProfileError(f"siggen's list files are incomplete (missing {', '.join(missing)})")
    return out


@lru_cache(maxsize=1)
def mozilla_profile() -> Profile:
    """The built-in profile equal to siggen 2.2.20241029: its rules and the installed package's lists."""
    texts = siggen_list_texts()
    label = f"siggen {siggen_version()}:siglists/"
    lists = SignatureLists.from_texts(
        {name: texts[filename] for name, filename in LIST_FILES.items()},
        {name: label + filename for name, filename in LIST_FILES.items()},
    )
    lists_version = siggen_version()
    follows = SIGGEN_RULE_SET if lists_version == SIGGEN_RULES_VERSION else (
        f"{SIGGEN_RULE_SET} rules with siggen {lists_version} lists")
    return Profile(name="mozilla", follows=follows, rules=SIGGEN_RULE_ORDER, lists=lists,
                   description="Mozilla's Socorro signatures (siggen's rules and lists)", source="builtin:mozilla")


@lru_cache(maxsize=1)
def generic_profile() -> Profile:
    """The built-in profile for any Breakpad/Crashpad application (no Mozilla-specific lists or rules)."""
    texts = generic_lists.texts()
    lists = SignatureLists.from_texts(texts, {name: f"builtin:generic/{_FILES[name]}" for name in texts})
    return Profile(name="generic", follows=f"CrashDesk generic v{generic_lists.VERSION}: first application frame "
                   f"(module rules), {SIGGEN_RULE_SET} normalisation and rules",
                   rules=GENERIC_RULES, lists=lists,
                   description="Any Breakpad/Crashpad app: led by the first application frame; C/C++ runtimes, "
                   "Windows, macOS, Linux, Android, Rust panics, crash reporters, Qt/Chromium fatal paths",
                   source="builtin:generic")


@lru_cache(maxsize=1)
def generic_v1_profile() -> Profile:
    """The generic profile as it was before version 2 (siggen's walk, the first generic lists)."""
    texts = generic_lists_v1.texts()
    lists = SignatureLists.from_texts(texts, {name: f"builtin:generic-v1/{LIST_FILES[name]}" for name in texts})
    return Profile(name="generic-v1", follows=f"{SIGGEN_RULE_SET} rules, CrashDesk generic lists 1",
                   rules=GENERIC_V1_RULES, lists=lists,
                   description="The generic profile before version 2 (siggen's walk with generic lists)",
                   source="builtin:generic-v1")


_FILES = {**LIST_FILES, "module_rules": MODULE_RULES_FILE}


def builtin_profile(name: str) -> Profile:
    if name == "mozilla":
        return mozilla_profile()
    if name == "generic":
        return generic_profile()
    if name == "generic-v1":
        return generic_v1_profile()
    raise ProfileError(f"no built-in profile {name!r} (built-in: {', '.join(BUILTIN_NAMES)})")


# -- folders ----------------------------------------------------------------------------------------------
def load_profile(folder: str | os.PathLike[str]) -> Profile:
    """Read a profile folder. A folder holding only siggen-style list files (no ``profile.json``) is read
    as a list directory with siggen's rule order. Errors name the file (and line for list files)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ProfileError(f"profile folder {folder} does not exist")
    meta_path = folder / PROFILE_FILE
    meta: dict = {}
    if meta_path.is_file():
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise ProfileError(f"{meta_path}: not valid JSON: {exc}") from None
        except OSError as exc:
            raise ProfileError(f"{meta_path}: cannot read: {exc}") from None
        if not isinstance(meta, dict):
            raise ProfileError(f"{meta_path}: expected a JSON object")
    rules = meta.get("rules", list(SIGGEN_RULE_ORDER))
    if not isinstance(rules, list) or not all(isinstance(r, str) for r in rules):
        raise ProfileError(f"{meta_path}: 'rules' must be a list of rule names")
    texts: dict[str, bytes] = {}
    origins: dict[str, str] = {}
    for name, filename in LIST_FILES.items():
        path = folder / filename
        origins[name] = str(path)
        if path.is_file():
            try:
                texts[name] = path.read_bytes()
            except OSError as exc:
                raise ProfileError(f"{path}: cannot read: {exc}") from None
    rules_path = folder / MODULE_RULES_FILE
    origins["module_rules"] = str(rules_path)
    if rules_path.is_file():
        try:
            texts["module_rules"] = rules_path.read_bytes()
        except OSError as exc:
            raise ProfileError(f"{rules_path}: cannot read: {exc}") from None
    if not texts:
        raise ProfileError(f"{folder} holds no signature list files ({', '.join(LIST_FILES.values())})")
    lists = SignatureLists.from_texts(texts, origins)
    name = meta.get("name") or folder.name
    follows = meta.get("follows") or f"{SIGGEN_RULE_SET} rules, custom lists"
    try:
        return Profile(name=str(name), follows=str(follows), rules=tuple(rules), lists=lists,
                       description=str(meta.get("description", "")), source=str(folder))
    except ProfileError as exc:
        raise ProfileError(f"{meta_path}: {exc}") from None


def save_profile(profile: Profile, dest: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """Write a profile folder (``profile.json`` + one list file per list)."""
    dest = Path(dest)
    _prepare(dest, overwrite)
    for filename, text in profile.lists.as_texts(f"{profile.name}: {profile.follows}").items():
        (dest / filename).write_text(text, encoding="utf-8")
    _write_meta(dest, profile.metadata())
    return dest


def create_profile_from_mozilla(dest: str | os.PathLike[str], name: str | None = None, *,
                                overwrite: bool = False) -> Profile:
    """New editable profile: copies siggen's list files verbatim (comments included) into ``dest``."""
    dest = Path(dest)
    _prepare(dest, overwrite)
    for filename, data in siggen_list_texts().items():
        (dest / filename).write_bytes(data)
    base = mozilla_profile()
    meta = base.metadata()
    meta.update(name=name or dest.name, description=f"copied from the built-in Mozilla profile ({base.follows})")
    _write_meta(dest, meta)
    return load_profile(dest)


def create_generic_profile(dest: str | os.PathLike[str], name: str | None = None, *,
                           overwrite: bool = False) -> Profile:
    """New editable profile from the built-in generic one."""
    dest = Path(dest)
    _prepare(dest, overwrite)
    for name_, text in generic_lists.texts().items():
        (dest / _FILES[name_]).write_text(text, encoding="utf-8")
    meta = generic_profile().metadata()
    meta.update(name=name or dest.name, description="copied from the built-in generic profile")
    _write_meta(dest, meta)
    return load_profile(dest)


def _prepare(dest: Path, overwrite: bool) -> None:
    if dest.exists() and any(dest.iterdir()) and not overwrite:
        raise ProfileError(f"{dest} already exists and is not empty")
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ProfileError(f"cannot create {dest}: {exc}") from None


def _write_meta(dest: Path, meta: dict) -> None:
    (dest / PROFILE_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def list_profiles(profiles_dir: str | os.PathLike[str] | None) -> list[str]:
    """Built-in names plus the folders under ``profiles_dir``."""
    names = list(BUILTIN_NAMES)
    if profiles_dir and Path(profiles_dir).is_dir():
        for child in sorted(Path(profiles_dir).iterdir()):
            if child.is_dir() and child.name not in names:
                names.append(child.name)
    return names


def resolve_profile(spec: str | None, profiles_dir: str | os.PathLike[str] | None = None) -> Profile:
    """Find a profile by name or path: ``<profiles_dir>/<spec>/`` first (user profiles may shadow the
    built-ins), then the built-in names, then ``spec`` as a folder path. ``None`` means ``mozilla``."""
    spec = spec or "mozilla"
    if profiles_dir and os.sep not in spec and "/" not in spec:
        candidate = Path(profiles_dir) / spec
        if candidate.is_dir():
            return load_profile(candidate)
    if spec in BUILTIN_NAMES:
        return builtin_profile(spec)
    if Path(spec).is_dir():
        return load_profile(spec)
    raise ProfileError(f"no profile {spec!r} (available: {', '.join(list_profiles(profiles_dir))})")


def diff_profiles(old: Profile, new: Profile) -> dict:
    """What changed between two profiles: per list the entries added and removed (in file order), and the
    rule lists when they differ. Empty dict when the profiles would produce the same signatures."""
    out: dict = {}
    for name in LIST_FILES:
        before, after = getattr(old.lists, name), getattr(new.lists, name)
        if before == after:
            continue
        before_set, after_set = set(before), set(after)
        removed = [e for e in before if e not in after_set]
        added = [e for e in after if e not in before_set]
        out[name] = {"added": added, "removed": removed, "reordered": not added and not removed}
    if old.lists.module_rules != new.lists.module_rules:
        before_r = [r.text() for r in old.lists.module_rules]
        after_r = [r.text() for r in new.lists.module_rules]
        added = [e for e in after_r if e not in set(before_r)]
        removed = [e for e in before_r if e not in set(after_r)]
        out["module_rules"] = {"added": added, "removed": removed, "reordered": not added and not removed}
    if old.rules != new.rules:
        out["rules"] = {"old": list(old.rules), "new": list(new.rules)}
    return out
