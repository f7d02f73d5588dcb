"""The root of CrashDesk's exception tree.

Every layer raises subclasses of :class:`CrashDeskError` for expected failures (bad file, bad query,
unreachable server). The command line turns them into a one-line message and exit status 1; the UI shows
``str(error)``. Anything else is a bug and keeps its traceback.
"""


class CrashDeskError(Exception):
    """An expected failure with a message fit for the user."""


class UsageError(CrashDeskError):
    """The user asked for something that cannot be done as asked (exit status 2 on the command line)."""
