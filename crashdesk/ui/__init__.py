"""The desktop workstation (PySide6). The only package that imports Qt, and only through :mod:`crashdesk.ui.qt`."""
