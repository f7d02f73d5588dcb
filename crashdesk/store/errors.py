"""The store's exception tree."""

from crashdesk.errors import CrashDeskError


class StoreError(CrashDeskError):
    """Something about the store itself went wrong (corrupt database, newer schema, unwritable folder)."""


class CrashNotFound(StoreError):
    def __init__(self, crash_id: str) -> None:
        super().__init__(f"no crash with id {crash_id}")
        self.crash_id = crash_id


class DuplicateCrash(StoreError):
    def __init__(self, crash_id: str) -> None:
        super().__init__(f"crash {crash_id} is already stored")
        self.crash_id = crash_id
