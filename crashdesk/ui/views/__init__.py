"""Widgets. Views emit what the user did; the main window wires them to background work."""
