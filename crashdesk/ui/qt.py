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

__all__ = [name for name in dir() if name[:1] == "Q" or name in ("Qt", "Signal", "Slot")]


# --------------------------------------------------------------------------------------------------------
# PySide6 6.12 on Python 3.11: ``SignalInstance.emit`` returns ``True`` without taking a reference for it, so
# every emit from Python drops one reference to ``True`` and a long session ends with "Fatal Python error:
# bool_dealloc". (Python 3.12+ makes ``True`` immortal, which hides it.) All CrashDesk code emits through
# :func:`emit`, which gives the reference back when this build has the bug.

def _probe_emit_steals_reference() -> bool:
    import sys

    if sys.version_info >= (3, 12):
        return False

    class _Probe(QObject):
        fired = Signal()

    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(16):
        probe.fired.emit()
    lost = before - sys.getrefcount(True)
    if lost >= 16:
        import ctypes

        for _ in range(lost):
            ctypes.pythonapi.Py_IncRef(ctypes.py_object(True))
        return True
    return False


_EMIT_STEALS = _probe_emit_steals_reference()


def emit(signal, *args) -> None:
    """``signal.emit(*args)``, compensating PySide6's stolen reference where needed (see above)."""
    result = signal.emit(*args)
    if _EMIT_STEALS:
        import ctypes

        ctypes.pythonapi.Py_IncRef(ctypes.py_object(result))
