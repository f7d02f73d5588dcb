"""CrashDesk: a desktop crash-triage workstation."""

__version__ = "0.1.0"
