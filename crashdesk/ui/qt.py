"""The single place CrashDesk imports PySide6. Every other UI module imports Qt names from here."""
# ruff: noqa: F401  (a re-export module: the names are used by the rest of crashdesk.ui)

from __future__ import annotations

from PySide6 import __version__ as PYSIDE_VERSION
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
    qVersion,
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
    QProgressDialog,
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

# --- issue 29: one app per data folder (a second start raises the first window)
from PySide6.QtNetwork import QLocalServer, QLocalSocket  # noqa: E402

__all__ = [name for name in dir() if name[:1] == "Q" or name in ("Qt", "Signal", "Slot", "delete_now")]


# PySide6 6.12.0 on Python 3.11 drops a reference to ``None`` on every void call and to ``True`` on every
# emit, ending a session in "Fatal Python error: none_dealloc"; pyproject.toml pins PySide6 below 6.12 and
# tests/ui/test_jobs.py checks the installed binding.


def emit(signal, *args) -> None:
    """``signal.emit(*args)``. (Kept as the one place UI code emits from, should a binding bug need it again.)"""
    signal.emit(*args)
