"""The single place CrashDesk imports PySide6. Every other UI module imports Qt names from here."""
# ruff: noqa: F401  (a re-export module: the names are used by the rest of crashdesk.ui)

from __future__ import annotations

from PySide6.QtCore import (
    QAbstractItemModel,
    QAbstractTableModel,
    QByteArray,
    QEvent,
    QEventLoop,
    QItemSelectionModel,
    QMimeData,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    QRect,
    QRectF,
    QRunnable,
    QSettings,
    QSize,
    QSortFilterProxyModel,
    QStringListModel,
    Qt,
    QThreadPool,
    QTimer,
    QUrl,
    Signal,
    Slot,
)
from PySide6.QtGui import (
    QAction,
    QBrush,
    QClipboard,
    QColor,
    QDesktopServices,
    QDragEnterEvent,
    QDropEvent,
    QFont,
    QFontDatabase,
    QGuiApplication,
    QIcon,
    QImage,
    QKeySequence,
    QPainter,
    QPalette,
    QPixmap,
    QShortcut,
    QStandardItem,
    QStandardItemModel,
    QTextCharFormat,
    QTextCursor,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QCheckBox,
    QComboBox,
    QCompleter,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMenu,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QStatusBar,
    QStyle,
    QTableView,
    QTabWidget,
    QTextBrowser,
    QToolButton,
    QTreeView,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import delete as delete_now  # destroy a Qt object's C++ side now (not at the next GC)

try:  # QtSvg ships with PySide6-Essentials; keep the app usable without it
    from PySide6.QtSvg import QSvgRenderer
except ImportError:  # pragma: no cover - depends on the wheel
    QSvgRenderer = None  # type: ignore[assignment,misc]

# --- issue 10 views (signatures, workbench, compare, collector/sync panels, settings): extra names
from PySide6.QtGui import QPaintEvent, QStyleHints, QTextFormat  # noqa: E402
from PySide6.QtWidgets import (  # noqa: E402
    QAbstractSpinBox,
    QRadioButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QTextEdit,
)

try:  # Qt Charts ships with PySide6-Addons; the signatures view shows tables only without it
    from PySide6.QtCharts import QBarCategoryAxis, QBarSeries, QBarSet, QChart, QChartView, QValueAxis
except ImportError:  # pragma: no cover - depends on the wheel
    QChart = QChartView = QBarSeries = QBarSet = QBarCategoryAxis = QValueAxis = None  # type: ignore[assignment,misc]
# --- end of issue 10 names

__all__ = [name for name in dir() if name[:1] == "Q" or name in ("Qt", "Signal", "Slot", "delete_now")]


# --------------------------------------------------------------------------------------------------------
# PySide6 6.12 on Python 3.11: the bindings hand out ``None``, ``True`` and ``False`` without taking a
# reference (they are immortal on Python 3.12+, which the build seems to assume). Every void method called
# from Python (``widget.resize(...)``, ``timer.setInterval(...)``) drops a reference to ``None`` and every
# ``signal.emit()`` one to ``True``, so a session ends with "Fatal Python error: none_dealloc". Where the
# probe below sees that, the three singletons get a huge reference count once (what Python 3.12 does for them
# anyway), which no session can exhaust. Nothing else changes: they are never freed in either case.

IMMORTAL_BOOST = 1 << 40


def _probe_stolen_singletons() -> bool:
    import sys

    if sys.version_info >= (3, 12):
        return False

    class _Probe(QObject):
        fired = Signal()

    probe = _Probe()
    none_before, true_before = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(16):
        probe.setObjectName("probe")  # a void method
        probe.fired.emit()
    return (none_before - sys.getrefcount(None) >= 16) or (true_before - sys.getrefcount(True) >= 16)


def _immortalize_singletons() -> None:
    import ctypes
    import platform

    if platform.python_implementation() != "CPython":
        return
    for obj in (None, True, False):
        ctypes.c_ssize_t.from_address(id(obj)).value += IMMORTAL_BOOST  # ob_refcnt is PyObject's first field


SINGLETONS_PATCHED = _probe_stolen_singletons()
if SINGLETONS_PATCHED:
    _immortalize_singletons()


def emit(signal, *args) -> None:
    """``signal.emit(*args)``. (Kept as the one place UI code emits from, should a binding bug need it again.)"""
    signal.emit(*args)
