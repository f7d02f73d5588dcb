"""What this build of CrashDesk is, said in two places.

* :func:`version_json` is the collector's ``/__version__`` answer. Antenna answers the contents of its
  ``version.json`` file: exactly the keys ``source``, ``version``, ``commit`` and ``build`` (or ``{}``), and
  monitoring written for Antenna checks that key set; nothing else goes there.
* :func:`about_lines` is everything a person may want besides (the collector's own name, the Python it runs
  on): ``crashdesk --version`` prints it and the app's About box shows it.
"""

from __future__ import annotations

import platform

from crashdesk import __version__

#: the project name, as ``/__version__``'s ``source``
SOURCE = "crashdesk"
#: what the collector calls itself (its HTTP ``Server`` header and the About box)
COLLECTOR_NAME = "crashdesk-collector"
#: the keys of Antenna's ``version.json``, in the order it writes them
VERSION_KEYS = ("source", "version", "commit", "build")


def version_json(commit: str = "", build: str = "") -> dict[str, str]:
    """The ``/__version__`` document: Antenna's four keys. ``commit`` and ``build`` stay empty for a build
    from a source tree (no CI build record to point at)."""
    return {"source": SOURCE, "version": __version__, "commit": commit, "build": build}


def about_lines() -> list[str]:
    """``crashdesk X.Y.Z`` first (what scripts parse), then the facts ``/__version__`` leaves out."""
    return [
        f"crashdesk {__version__}",
        f"collector: {COLLECTOR_NAME} {__version__} (Antenna-compatible POST /submit; "
        f"/__version__ answers {', '.join(VERSION_KEYS)})",
        f"Python {platform.python_version()} ({platform.python_implementation()}) on {platform.system()} "
        f"{platform.machine()}",
    ]
