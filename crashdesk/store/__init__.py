"""The SQLite crash store and its content-addressed dump folder.

``CrashStore`` (``crashdesk.store.crashes``) is the one entry point: raw crashes in, processed crashes and
signatures recorded, the processing queue, search (``crashdesk.store.search``) and bundles
(``crashdesk.store.bundles``).
"""

from crashdesk.store.crashes import CrashStore
from crashdesk.store.errors import CrashNotFound, StoreError

__all__ = ["CrashStore", "CrashNotFound", "StoreError"]
