"""The product -> signature profile table (Settings), kept in ``<data-dir>/signature-profiles.json``::

    {"default": "generic", "products": {"MyApp": "myapp", "OtherTool": "mozilla"}}

Read by the command line, the processing service and the app, so one crash gets one profile everywhere
(the rule itself: :mod:`crashdesk.engine.signature.choice`).
"""

from __future__ import annotations

import json
from pathlib import Path

from crashdesk.engine.signature.choice import DEFAULT_PROFILE, ProfileChoice
from crashdesk.errors import CrashDeskError

FILE_NAME = "signature-profiles.json"


class ProfileTableError(CrashDeskError):
    """The product -> profile table cannot be read."""


def table_path(data_dir: Path) -> Path:
    return Path(data_dir) / FILE_NAME


def load_choice(data_dir: Path | None) -> ProfileChoice:
    """The table of ``data_dir`` (the built-in rule when the file does not exist)."""
    if data_dir is None:
        return ProfileChoice()
    path = table_path(data_dir)
    if not path.is_file():
        return ProfileChoice()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise ProfileTableError(f"{path}: cannot read the product -> profile table: {exc}") from None
    if not isinstance(data, dict):
        raise ProfileTableError(f"{path}: expected a JSON object")
    products = data.get("products") or {}
    default = data.get("default") or DEFAULT_PROFILE
    if not isinstance(products, dict) or not all(isinstance(k, str) and isinstance(v, str) and v
                                                 for k, v in products.items()):
        raise ProfileTableError(f"{path}: 'products' must map product names to profile names")
    if not isinstance(default, str):
        raise ProfileTableError(f"{path}: 'default' must be a profile name")
    return ProfileChoice(tuple(sorted(products.items())), default)


def save_choice(data_dir: Path, choice: ProfileChoice) -> Path:
    path = table_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"default": choice.default, "products": dict(choice.products)}
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
