"""Where CrashDesk keeps its state.

Resolution order for the data folder: an explicit ``--data-dir``, then ``$CRASHDESK_HOME``, then the
platform user-data folder. The cache folder is ``<data-dir>/cache`` when the data folder was given
explicitly, else the platform cache folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "CrashDesk"
ENV_HOME = "CRASHDESK_HOME"


@dataclass(frozen=True)
class Paths:
    data_dir: Path
    cache_dir: Path

    @property
    def database(self) -> Path:
        return self.data_dir / "crashdesk.sqlite"

    @property
    def blobs(self) -> Path:
        return self.data_dir / "dumps"

    @property
    def profiles(self) -> Path:
        return self.data_dir / "profiles"

    @property
    def symbols_cache(self) -> Path:
        return self.cache_dir / "symbols"

    @property
    def symbol_indexes(self) -> Path:
        return self.cache_dir / "symindex"

    def ensure(self) -> Paths:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        return self


def resolve_paths(data_dir: str | os.PathLike[str] | None = None) -> Paths:
    """Return the folders to use; nothing is created until :meth:`Paths.ensure`."""
    explicit = data_dir if data_dir else os.environ.get(ENV_HOME)
    if explicit:
        root = Path(explicit).expanduser().resolve()
        return Paths(data_dir=root, cache_dir=root / "cache")
    return Paths(
        data_dir=Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
        cache_dir=Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)),
    )
