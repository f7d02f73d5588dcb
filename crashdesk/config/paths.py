"""Where CrashDesk keeps its state.

Resolution order for the data folder: an explicit ``--data-dir``, then ``$CRASHDESK_HOME``, then the
platform user-data folder. The cache folder is ``<data-dir>/cache`` when the data folder was given
explicitly, else the platform cache folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from crashdesk.errors import CrashDeskError

APP_NAME = "CrashDesk"


class DataFolderError(CrashDeskError):
    """The data folder cannot be used: a file is in its place or above it, or it cannot be created."""


class ReadOnlyDataFolder(DataFolderError):
    """A command that writes was pointed at a data folder it cannot write to."""


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

    @property
    def writable(self) -> bool:
        """Whether the data folder (existing) can be written to: not on a read-only file system, not denied."""
        return os.access(self.data_dir, os.W_OK | os.X_OK)

    def check(self) -> None:
        """Raise :class:`DataFolderError` when a file stands where the data folder, or a folder above it, should
        be."""
        for folder in (self.data_dir, *self.data_dir.parents):
            if folder.exists() and not folder.is_dir():
                if folder == self.data_dir:
                    raise DataFolderError(f"the data folder {self.data_dir} is a file, not a folder")
                raise DataFolderError(f"the data folder {self.data_dir} cannot exist: {folder} is a file")
            if folder.is_dir():
                return

    def ensure(self, *, write: bool = True) -> Paths:
        """Create the folders. A data folder that exists but cannot be written is left as it is when ``write``
        is false (reading commands open it read-only) and refused with :class:`ReadOnlyDataFolder` when true."""
        self.check()
        if self.data_dir.is_dir() and not self.writable:
            if write:
                raise ReadOnlyDataFolder(f"the data folder {self.data_dir} is read-only; this command writes to it "
                                         "(reading commands such as search, show and export still work)")
            return self
        for folder in (self.data_dir, self.cache_dir):
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                reason = exc.strerror or str(exc)
                if isinstance(exc, PermissionError) or exc.errno == 30:  # EROFS
                    raise ReadOnlyDataFolder(f"cannot create {folder}: {reason}") from None
                raise DataFolderError(f"cannot create {folder}: {reason}") from None
        return self


def resolve_paths(data_dir: str | os.PathLike[str] | None = None) -> Paths:
    """Return the folders to use; nothing is created until :meth:`Paths.ensure`."""
    explicit = data_dir if data_dir else os.environ.get(ENV_HOME)
    if explicit:
        root = Path(explicit).expanduser().resolve()
        return Paths(data_dir=root, cache_dir=root / "cache")
    import platformdirs  # only without --data-dir / $CRASHDESK_HOME

    return Paths(
        data_dir=Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
        cache_dir=Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)),
    )
