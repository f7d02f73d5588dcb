"""The collector's fixed defaults (kept import-free: the command line reads them at start-up)."""

#: The fixed default port, so a crash reporter's ``--url`` survives restarts (``--port`` changes it).
DEFAULT_PORT = 8787
DEFAULT_HOST = "127.0.0.1"
