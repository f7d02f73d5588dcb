"""The Top crashers view (a tab beside Signatures) and the versions side-by-side window.

Top crashers: pick a product, a version (or all), a window of days and what to compare with (the previous
window or another version); one row per signature with rank, movement, "new" and spike marks, share, share
before, start-up share, platforms, installations and the last 8 days. Double-click lists the signature's
crashes; "Open in Signatures" selects it in the signature view; "Versions side by side…" opens the
comparison. All numbers come from :mod:`crashdesk.services.topcrashers`, run in background jobs with progress.

Versions side by side: two versions or two windows, every signature with its crashes and share in each,
new and disappeared ones first, then by share moved; a chart of the top movers.
"""

from __future__ import annotations

from typing import Any

from crashdesk.ui.jobs import Jobs
from crashdesk.ui.qt import (
    QAbstractItemView,
    QColor,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QModelIndex,
    QPainter,
    QPalette,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QRectF,
    QSortFilterProxyModel,
    QSpinBox,
    QSplitter,
    QStandardItem,
    QStandardItemModel,
    Qt,
    QTableView,
    QVBoxLayout,
    QWidget,
    Signal,
    emit,
)
from crashdesk.ui.views.signatures import SIGNATURE_ROLE, signature_index

HEADERS = ("Rank", "Change", "Signature", "Crashes", "Share", "Share before", "Start-up", "Platforms",
           "Installs", "Last 8 days")
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
PREVIOUS_PERIOD = "previous period"
ALL_VERSIONS_LABEL = "all versions"
BARS = "▁▂▃▄▅▆▇█"
NEW_COLOUR, UP_COLOUR, DOWN_COLOUR, SPIKE_COLOUR = "#1f7a3a", "#1f7a3a", "#b03a2e", "#c0392b"


def sparkline(values: list[int]) -> str:
    top = max(values) if values else 0
    if not top:
        return BARS[0] * len(values)
    return "".join(BARS[min(len(BARS) - 1, round(v / top * (len(BARS) - 1)))] for v in values)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}%"


def _label(signature: str | None) -> str:
    return signature if signature else "(no signature)"


def _table(headers: tuple[str, ...], name: str) -> tuple[QStandardItemModel, QSortFilterProxyModel, QTableView]:
    model = QStandardItemModel(0, len(headers))
    model.setHorizontalHeaderLabels(list(headers))
    proxy = QSortFilterProxyModel()
    proxy.setSourceModel(model)
    proxy.setSortRole(SORT_ROLE)
    table = QTableView()
    table.setObjectName(name)
    table.setModel(proxy)
    table.setSortingEnabled(True)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setAlternatingRowColors(True)
    table.verticalHeader().hide()
    table.setWordWrap(False)
    header = table.horizontalHeader()
    header.setStretchLastSection(True)
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    return model, proxy, table


def _refill(owner: QWidget, proxy: QSortFilterProxyModel, headers: tuple[str, ...],
            rows: list[list[QStandardItem]]) -> QStandardItemModel:
    """A new model holding ``rows``, swapped in under ``proxy`` (appending to a model under a sorting proxy
    re-sorts at every row: seconds for a thousand rows)."""
    model = QStandardItemModel(0, len(headers), owner)
    model.setHorizontalHeaderLabels(list(headers))
    for row in rows:
        model.appendRow(row)
    old = proxy.sourceModel()
    proxy.setSourceModel(model)
    if old is not None:
        old.deleteLater()
    return model


def _progress_bar() -> QProgressBar:
    """The hidden 0-100 bar shown beside a view's summary while its job runs."""
    bar = QProgressBar()
    bar.setRange(0, 100)
    bar.setMaximumWidth(180)
    bar.setTextVisible(False)
    bar.hide()
    return bar


def _select(table: QTableView, proxy: QSortFilterProxyModel, signature: str | None) -> QModelIndex | None:
    """Make ``signature``'s row the only selected and current one; its index, or None when it is not listed."""
    from crashdesk.ui.qt import QItemSelectionModel

    index = signature_index(proxy, signature)
    if index is not None:
        table.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.Rows | QItemSelectionModel.SelectionFlag.ClearAndSelect)
    return index


def _item(text: str, sort_value: Any, signature: str | None, *, right: bool = False) -> QStandardItem:
    item = QStandardItem(text)
    item.setData(sort_value, SORT_ROLE)
    item.setData(signature, SIGNATURE_ROLE)
    if right:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


class TopCrashersView(QWidget):
    """Top crashers of a product/version/window beside the previous window or another version."""

    crashes_requested = Signal(str)       # a query listing a signature's crashes
    signature_requested = Signal(object)  # open a signature (None = no signature) in the signature view
    compare_requested = Signal(object, object, object)  # product, version A, version B (None: periods)
    loaded = Signal()

    def __init__(self, store: Any, jobs: Jobs, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.jobs = jobs
        self.query = ""
        self.report: Any = None
        self.end: Any = None  # the window's end (datetime, UTC); None: now
        self.newest: Any = None  # with an empty window: the scope's newest crash before it (datetime), else None
        self._gen = 0
        self._choices_gen = 0

        self.product_combo = QComboBox()
        self.product_combo.setObjectName("tc_product")
        self.product_combo.setMinimumContentsLength(14)
        self.version_combo = QComboBox()
        self.version_combo.setObjectName("tc_version")
        self.version_combo.setMinimumContentsLength(10)
        self.days_spin = QSpinBox()
        self.days_spin.setRange(1, 365)
        self.days_spin.setValue(7)
        self.days_spin.setSuffix(" days")
        self.against_combo = QComboBox()
        self.against_combo.setObjectName("tc_against")
        self.against_combo.setMinimumContentsLength(12)
        self.limit_combo = QComboBox()
        self.limit_combo.setObjectName("tc_limit")
        self.limit_combo.addItems(["top 50", "top 100", "top 300"])  # Crash Stats offers 50 to 300 too
        self.limit_combo.setCurrentIndex(1)
        self.limit_combo.activated.connect(lambda _i: self.refresh())
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        controls = QHBoxLayout()
        for text, widget in (("Product", self.product_combo), ("Version", self.version_combo),
                             ("Last", self.days_spin), ("against", self.against_combo)):
            controls.addWidget(QLabel(text))
            controls.addWidget(widget)
        controls.addWidget(self.limit_combo)
        controls.addWidget(self.refresh_button)
        controls.addStretch(1)
        self.product_combo.activated.connect(lambda _i: self._load_choices(keep_product=True))
        self.version_combo.activated.connect(lambda _i: self.refresh())
        self.against_combo.activated.connect(lambda _i: self.refresh())
        self.days_spin.editingFinished.connect(self.refresh)

        self.summary = QLabel("Top crashers")
        self.summary.setWordWrap(True)
        self.progress = _progress_bar()
        self.list_button = QPushButton("List crashes")
        self.list_button.clicked.connect(lambda: self._list_crashes(self.table.currentIndex()))
        self.signature_button = QPushButton("Open in Signatures")
        self.signature_button.clicked.connect(self._open_signature)
        self.versions_button = QPushButton("Versions side by side…")
        self.versions_button.clicked.connect(self._compare)
        # crashes imported or synced from an earlier time: a window up to now can hold none of them
        self.newest_button = QPushButton("Show the days up to the newest crash")
        self.newest_button.setObjectName("tc_newest")
        self.newest_button.clicked.connect(self.show_up_to_newest)
        self.newest_button.hide()
        self.now_button = QPushButton("Up to now")
        self.now_button.setObjectName("tc_now")
        self.now_button.setToolTip("End the window now again")
        self.now_button.clicked.connect(lambda: self.set_end(None))
        self.now_button.hide()
        for b in (self.list_button, self.signature_button):
            b.setEnabled(False)
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(self.progress)
        top.addWidget(self.newest_button)
        top.addWidget(self.now_button)
        top.addWidget(self.list_button)
        top.addWidget(self.signature_button)
        top.addWidget(self.versions_button)

        self.model, self.proxy, self.table = _table(HEADERS, "topcrashers_table")
        self.model.setParent(self)
        self.proxy.setParent(self)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        for col, width in enumerate((48, 62, 380, 66, 66, 90, 70, 170, 62, 90)):
            self.table.setColumnWidth(col, width)
        self.table.doubleClicked.connect(self._list_crashes)
        self.table.selectionModel().selectionChanged.connect(self._on_selection)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addLayout(controls)
        lay.addLayout(top)
        lay.addWidget(self.table, 1)
        legend = QLabel("Change: places moved up (+) or down (−) against the comparison; <b>new</b>: first seen in "
                        "this window or version; <b>spike</b>: the last 24 h far above the 7 days before "
                        "(Poisson tail probability under 0.001, at least 3 crashes). Start-up: uptime under 60 s "
                        "(the UptimeTS or CrashTime annotations, else the minidump's process uptime).")
        legend.setWordWrap(True)
        legend.setObjectName("tc_legend")
        lay.addWidget(legend)

    # ------------------------------------------------------------------ loading

    def set_query(self, query: str) -> None:
        """Use ``query`` (the search bar's) as extra filters and reload the choices and the table."""
        self.query = query or ""
        self._load_choices(keep_product=True)

    def _load_choices(self, keep_product: bool = True) -> None:
        """Products and versions with crashes in the window (background), then the table."""
        from crashdesk.services import topcrashers as tc

        self._choices_gen += 1
        gen, store, days, end = self._choices_gen, self.store, self.days_spin.value(), self.end
        product = self.product_combo.currentText() if keep_product and self.product_combo.count() else None
        query = self.query

        def load(cancel, report):
            scope = tc.resolve(store, tc.Scope(query, product or None, None, days, end))
            products = [r[0] for r in store.db.conn.execute(
                "SELECT product FROM crashes WHERE product IS NOT NULL AND product != '' "
                "GROUP BY product COLLATE NOCASE ORDER BY count(*) DESC")]
            versions = tc.versions_with_crashes(store, scope) if scope.product else []
            return scope, products, versions

        self.summary.setText("Finding products and versions…")
        self.jobs.submit(load, on_done=lambda res: self._on_choices(gen, res),
                         on_error=lambda exc: self._on_error(gen, exc, choices=True))

    def _on_choices(self, gen: int, result: tuple) -> None:
        if gen != self._choices_gen:
            return
        scope, products, versions = result
        for combo in (self.product_combo, self.version_combo, self.against_combo):
            combo.blockSignals(True)
        self.product_combo.clear()
        self.product_combo.addItems(products)
        if scope.product:
            self.product_combo.setCurrentText(scope.product)
        self.version_combo.clear()
        self.version_combo.addItem(ALL_VERSIONS_LABEL)
        self.version_combo.addItems([v for v, _n in versions])
        if scope.version and scope.version != "*":
            self.version_combo.setCurrentText(scope.version)
        self.against_combo.clear()
        self.against_combo.addItem(PREVIOUS_PERIOD)
        self.against_combo.addItems([v for v, _n in versions])
        for combo in (self.product_combo, self.version_combo, self.against_combo):
            combo.blockSignals(False)
        self.refresh()

    def current_scope(self):
        from crashdesk.services import topcrashers as tc

        version = self.version_combo.currentText()
        return tc.Scope(self.query, self.product_combo.currentText() or None,
                        tc.ALL_VERSIONS if version in ("", ALL_VERSIONS_LABEL) else version, self.days_spin.value(),
                        self.end)

    def set_end(self, end: Any) -> None:
        """End the window at ``end`` (a UTC datetime; None: now), then reload the choices and the table (the
        default version is the newest with crashes in the window)."""
        self.end = end
        self.now_button.setVisible(end is not None)
        self._load_choices(keep_product=True)

    def show_up_to_newest(self) -> None:
        """End the window just after the newest crash of the product and version (an empty window's offer)."""
        from crashdesk.services import topcrashers as tc

        if self.newest is not None:
            self.set_end(tc.window_ending_at(self.newest))

    def against_version(self) -> str | None:
        text = self.against_combo.currentText()
        return None if text in ("", PREVIOUS_PERIOD) else text

    def refresh(self) -> None:
        from crashdesk.services import topcrashers as tc

        self._gen += 1
        gen, store, scope, against = self._gen, self.store, self.current_scope(), self.against_version()
        limit = int(self.limit_combo.currentText().split()[-1])
        if against is not None and scope.version == tc.ALL_VERSIONS:
            against = None
        self.summary.setText("Computing top crashers…")
        self.progress.setValue(0)
        self.progress.show()
        def work(cancel, report):
            result = tc.top_crashers(store, scope, against_version=against, limit=limit, progress=report,
                                     resolve_defaults=False)
            newest = tc.newest_crash(store, result.scope) if result.total == 0 else None
            start = result.scope.start
            return result, newest if newest is not None and start is not None and newest < start else None

        self.jobs.submit(
            work, on_done=lambda r: self._on_report(gen, *r), on_error=lambda exc: self._on_error(gen, exc),
            on_progress=lambda f, _t: self._on_progress(gen, f), title="Top crashers", visible=True)

    def _on_progress(self, gen: int, fraction: float) -> None:
        if gen == self._gen:
            self.progress.setValue(int(100 * fraction))

    def _on_error(self, gen: int, exc: BaseException, choices: bool = False) -> None:
        if gen == (self._choices_gen if choices else self._gen):
            self.progress.hide()
            self.summary.setText(f"Cannot compute top crashers: {exc}")

    def _on_report(self, gen: int, report: Any, newest: Any = None) -> None:
        if gen != self._gen:
            return
        self.progress.hide()
        self.report = report
        self.newest = newest
        self.model = _refill(self, self.proxy, HEADERS, [self._row_items(r) for r in report.rows])
        against = (f"version {report.previous.version}" if report.mode == "version"
                   else f"the {report.scope.days} days before")
        spikes = sum(1 for r in report.rows if r.spike)
        new = sum(1 for r in report.rows if r.is_new)
        text = (f"<b>{report.total}</b> crashes, {len(report.rows)} signatures in {report.scope.label()}; "
                f"against {against} ({report.previous_total} crashes). {new} new, {spikes} spiking.")
        if newest is not None:
            text += f"<br>No crash in this window: the newest is from {newest:%Y-%m-%d %H:%M} UTC."
        self.summary.setText(text)
        self.newest_button.setVisible(newest is not None)
        self.newest_button.setText(f"Show the {report.scope.days} days up to it")
        emit(self.loaded)

    def _row_items(self, r: Any) -> list[QStandardItem]:
        sig = r.signature
        if r.is_new:
            change, change_sort = "new", 10**6
        elif r.rank_change is None:
            change, change_sort = "", -(10**6)
        else:
            change, change_sort = (f"{r.rank_change:+d}" if r.rank_change else "="), r.rank_change
        platforms = ", ".join(f"{name} {100 * n / r.count:.0f}%" for name, n in list(r.platforms.items())[:3])
        trend = sparkline(r.daily) + ("  spike" if r.spike else "")
        items = [
            _item(str(r.rank), r.rank, sig, right=True),
            _item(change, change_sort, sig, right=True),
            _item(_label(sig), _label(sig).lower(), sig),
            _item(str(r.count), r.count, sig, right=True),
            _item(_pct(r.percent), r.percent, sig, right=True),
            _item(_pct(r.previous_percent), -1.0 if r.previous_percent is None else r.previous_percent, sig,
                  right=True),
            _item(f"{r.startup_percent:.0f}%" if r.startup_known else "—",
                  r.startup_percent if r.startup_known else -1.0, sig, right=True),
            _item(platforms, platforms, sig),
            _item("" if r.installations is None else str(r.installations), r.installations or 0, sig, right=True),
            _item(trend, (r.spike, r.last_day), sig),
        ]
        items[2].setToolTip(_label(sig))
        items[7].setToolTip("\n".join(f"{name}: {n}" for name, n in r.platforms.items()))
        items[9].setToolTip("crashes per 24 h, oldest first: " + " ".join(map(str, r.daily))
                            + f"\nbaseline {r.baseline_per_day:.2f}/day, P(≥{r.last_day}) = {r.spike_p:.2g}")
        colour = NEW_COLOUR if r.is_new else (UP_COLOUR if (r.rank_change or 0) > 0 else
                                              DOWN_COLOUR if (r.rank_change or 0) < 0 else None)
        if colour:
            items[1].setForeground(QColor(colour))
        if r.is_new:
            font = items[1].font()
            font.setBold(True)
            items[1].setFont(font)
        if r.spike:
            items[9].setForeground(QColor(SPIKE_COLOUR))
        if not sig:
            items[2].setForeground(Qt.GlobalColor.gray)
        return items

    # ------------------------------------------------------------------ commands

    def _on_selection(self, *_args: Any) -> None:
        one = bool(self.table.selectionModel().selectedRows())
        self.list_button.setEnabled(one)
        self.signature_button.setEnabled(one)

    def current_signature(self) -> tuple[bool, str | None]:
        index = self.table.currentIndex()
        if not index.isValid():
            return False, None
        return True, self.proxy.index(index.row(), 0).data(SIGNATURE_ROLE)

    def select_signature(self, signature: str | None) -> bool:
        return _select(self.table, self.proxy, signature) is not None

    def query_for(self, signature: str | None) -> str:
        """The search-bar query listing ``signature``'s crashes in the shown scope."""
        from crashdesk.services.signature_stats import signature_query
        from crashdesk.ui.mainwindow import quote_term

        scope = self.report.scope if self.report is not None else self.current_scope()
        parts = [self.query.strip()]
        if scope.product:
            parts.append(quote_term("product", scope.product))
        if scope.version and scope.version != "*":
            parts.append(quote_term("version", scope.version))
        if scope.start is not None:
            parts.append(f"date:>={scope.start:%Y-%m-%dT%H:%M:%S}Z date:<{scope.end:%Y-%m-%dT%H:%M:%S}Z")
        parts.append(signature_query(signature))
        return " ".join(p for p in parts if p)

    def _list_crashes(self, index: QModelIndex) -> None:
        if index.isValid():
            emit(self.crashes_requested, self.query_for(self.proxy.index(index.row(), 0).data(SIGNATURE_ROLE)))

    def _open_signature(self) -> None:
        ok, sig = self.current_signature()
        if ok:
            emit(self.signature_requested, sig)

    def _compare(self) -> None:
        scope = self.current_scope()
        version = None if scope.version == "*" else scope.version
        emit(self.compare_requested, scope.product, self.against_version(), version)


# ---------------------------------------------------------------------------------------------- side by side


class MoversChart(QWidget):
    """The top movers as horizontal bars around a zero line: share change in percentage points (B - A)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.movers: list[tuple[str, float, str]] = []  # label, change, status
        self.setMinimumHeight(200)

    def set_movers(self, movers: list[tuple[str, float, str]]) -> None:
        self.movers = movers
        self.update()

    def paintEvent(self, _event) -> None:  # noqa: N802 - Qt API
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        p.fillRect(self.rect(), pal.color(QPalette.ColorRole.Base))
        text = pal.color(QPalette.ColorRole.Text)
        p.setPen(text)
        fm = p.fontMetrics()
        title_h = fm.height() + 6
        p.drawText(QRectF(8, 2, self.width() - 16, title_h), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                   "Top movers: share change, percentage points (B − A)")
        if not self.movers:
            p.drawText(QRectF(0, title_h, self.width(), self.height() - title_h), Qt.AlignmentFlag.AlignCenter,
                       "nothing to compare")
            p.end()
            return
        label_w = min(max(fm.horizontalAdvance(m[0]) for m in self.movers) + 12, self.width() * 0.45)
        value_w = fm.horizontalAdvance("+100.0") + 8
        left = label_w + value_w  # room for a negative bar's value left of it
        width = max(10.0, self.width() - left - value_w - 8)
        scale = max(abs(m[1]) for m in self.movers) or 1.0
        zero = left + width / 2
        row_h = max(fm.height() + 4, (self.height() - title_h - 6) / len(self.movers))
        for i, (label, change, status) in enumerate(self.movers):
            y = title_h + i * row_h
            p.setPen(text)
            shown = fm.elidedText(label, Qt.TextElideMode.ElideMiddle, int(label_w - 10))
            p.drawText(QRectF(4, y, label_w - 8, row_h), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                       shown)
            bar = width / 2 * abs(change) / scale
            colour = QColor(NEW_COLOUR if status == "new" else UP_COLOUR if change > 0 else DOWN_COLOUR)
            if change < 0:
                colour = QColor(DOWN_COLOUR)
            rect = QRectF(zero if change >= 0 else zero - bar, y + row_h * 0.2, bar, row_h * 0.6)
            p.fillRect(rect, colour)
            p.setPen(text)
            tx = rect.right() + 4 if change >= 0 else rect.left() - value_w
            align = Qt.AlignmentFlag.AlignLeft if change >= 0 else Qt.AlignmentFlag.AlignRight
            p.drawText(QRectF(tx, y, value_w - 4, row_h), align | Qt.AlignmentFlag.AlignVCenter, f"{change:+.1f}")
        p.setPen(pal.color(QPalette.ColorRole.Mid))
        p.drawLine(int(zero), title_h, int(zero), int(title_h + row_h * len(self.movers)))
        p.end()


COMPARE_HEADERS = ("Status", "Signature", "A crashes", "A share", "B crashes", "B share", "Change")


class VersionsWindow(QWidget):
    """Two versions (or two windows) side by side."""

    crashes_requested = Signal(str)
    loaded = Signal()

    def __init__(self, store: Any, jobs: Jobs, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Versions side by side — CrashDesk")
        self.store = store
        self.jobs = jobs
        self.query = ""
        self.comparison: Any = None
        self._gen = 0

        self.product_combo = QComboBox()
        self.product_combo.setObjectName("cmp_product")
        self.product_combo.setMinimumContentsLength(14)
        self.by_version = QRadioButton("Versions")
        self.by_period = QRadioButton("Periods")
        self.by_version.setChecked(True)
        self.a_combo = QComboBox()
        self.a_combo.setObjectName("cmp_a")
        self.b_combo = QComboBox()
        self.b_combo.setObjectName("cmp_b")
        for c in (self.a_combo, self.b_combo):
            c.setMinimumContentsLength(10)
        self.days_spin = QSpinBox()
        self.days_spin.setRange(1, 365)
        self.days_spin.setValue(7)
        self.days_spin.setSuffix(" days")
        self.days_spin.setToolTip("Periods: the last N days (B) against the N days before (A)")
        self.compare_button = QPushButton("Compare")
        self.compare_button.clicked.connect(self.refresh)
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Product"))
        controls.addWidget(self.product_combo)
        controls.addWidget(self.by_version)
        controls.addWidget(QLabel("A"))
        controls.addWidget(self.a_combo)
        controls.addWidget(QLabel("B"))
        controls.addWidget(self.b_combo)
        controls.addWidget(self.by_period)
        controls.addWidget(self.days_spin)
        controls.addWidget(self.compare_button)
        controls.addStretch(1)
        self.product_combo.activated.connect(lambda _i: self._load_versions())
        self.by_version.toggled.connect(self._mode_changed)

        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.progress = _progress_bar()
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(self.progress)

        self.model, self.proxy, self.table = _table(COMPARE_HEADERS, "versions_table")
        self.model.setParent(self)
        self.proxy.setParent(self)
        for col, width in enumerate((60, 560, 80, 70, 80, 70, 80)):
            self.table.setColumnWidth(col, width)
        self.table.doubleClicked.connect(self._list_crashes)
        self.chart = MoversChart()
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(self.chart)
        split.setSizes([380, 280])
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addLayout(controls)
        lay.addLayout(top)
        lay.addWidget(split, 1)
        self.resize(1100, 760)
        self._pending: tuple[str | None, str | None] = (None, None)
        self._focus: tuple[str | None] | None = None

    def _mode_changed(self, by_version: bool) -> None:
        self.a_combo.setEnabled(by_version)
        self.b_combo.setEnabled(by_version)
        self.days_spin.setEnabled(not by_version)

    def open_for(self, product: str | None, a: str | None = None, b: str | None = None, *, periods: bool = False,
                 query: str = "", focus: tuple[str | None] | None = None) -> None:
        """Show ``product``'s versions ``a`` and ``b`` (defaults: the two newest), or its last two windows;
        ``focus`` = ``(signature,)`` selects that signature's row once loaded."""
        self.query = query or ""
        self._focus = focus
        self._pending = (a, b)
        (self.by_period if periods else self.by_version).setChecked(True)
        self._mode_changed(not periods)
        self._load_versions(product)

    def _load_versions(self, product: str | None = None) -> None:
        from crashdesk.services import topcrashers as tc

        store = self.store
        product = product or self.product_combo.currentText() or None
        self._gen += 1
        gen = self._gen

        def load(cancel, report):
            products = [r[0] for r in store.db.conn.execute(
                "SELECT product FROM crashes WHERE product IS NOT NULL AND product != '' "
                "GROUP BY product COLLATE NOCASE ORDER BY count(*) DESC")]
            chosen = product or (products[0] if products else None)
            versions = tc.versions_with_crashes(store, tc.Scope("", chosen, None, None)) if chosen else []
            return products, chosen, versions

        self.summary.setText("Finding versions…")
        self.jobs.submit(load, on_done=lambda res: self._on_versions(gen, res),
                         on_error=lambda exc: self._on_error(gen, exc))

    def _on_versions(self, gen: int, result: tuple) -> None:
        if gen != self._gen:
            return
        products, chosen, versions = result
        names = [v for v, _n in versions]
        self.product_combo.clear()
        self.product_combo.addItems(products)
        if chosen:
            self.product_combo.setCurrentText(chosen)
        a, b = self._pending
        self._pending = (None, None)
        for combo in (self.a_combo, self.b_combo):
            combo.clear()
            combo.addItems(names)
        b = b if b in names else (names[0] if names else None)
        a = a if a in names else next((v for v in names if v != b), b)
        if a:
            self.a_combo.setCurrentText(a)
        if b:
            self.b_combo.setCurrentText(b)
        self.refresh()

    def refresh(self) -> None:
        from crashdesk.services import topcrashers as tc

        product = self.product_combo.currentText() or None
        if self.by_version.isChecked():
            if not self.a_combo.currentText() or not self.b_combo.currentText():
                self.summary.setText("No versions with crashes to compare.")
                return
            a, b = tc.version_scopes(product, [self.a_combo.currentText(), self.b_combo.currentText()], self.query)
        else:
            a, b = tc.period_scopes(self.query, product, None, self.days_spin.value())
        self._gen += 1
        gen, store = self._gen, self.store
        self.summary.setText("Comparing…")
        self.progress.setValue(0)
        self.progress.show()
        self.jobs.submit(lambda cancel, report: tc.compare(store, a, b, progress=report),
                         on_done=lambda c: self._on_comparison(gen, c), on_error=lambda exc: self._on_error(gen, exc),
                         on_progress=lambda f, _t: self.progress.setValue(int(100 * f)) if gen == self._gen else None,
                         title="Versions side by side", visible=True)

    def _on_error(self, gen: int, exc: BaseException) -> None:
        if gen == self._gen:
            self.progress.hide()
            self.summary.setText(f"Cannot compare: {exc}")

    def _on_comparison(self, gen: int, cmp: Any) -> None:
        if gen != self._gen:
            return
        self.progress.hide()
        self.comparison = cmp
        order = {"new": 0, "gone": 1, "both": 2}
        rows = []
        for i, m in enumerate(cmp.rows):
            sig = m.signature
            items = [
                _item(m.status if m.status != "both" else "", (order[m.status], i), sig),
                _item(_label(sig), _label(sig).lower(), sig),
                _item(str(m.count_a), m.count_a, sig, right=True),
                _item(_pct(m.percent_a), m.percent_a, sig, right=True),
                _item(str(m.count_b), m.count_b, sig, right=True),
                _item(_pct(m.percent_b), m.percent_b, sig, right=True),
                _item(f"{m.change:+.2f}", m.change, sig, right=True),
            ]
            items[1].setToolTip(_label(sig))
            colour = NEW_COLOUR if m.status == "new" else DOWN_COLOUR if m.status == "gone" else (
                UP_COLOUR if m.change > 0 else DOWN_COLOUR if m.change < 0 else None)
            if colour:
                for it in (items[0], items[6]):
                    it.setForeground(QColor(colour))
            rows.append(items)
        self.model = _refill(self, self.proxy, COMPARE_HEADERS, rows)
        self.table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # the service's order: new, gone, moved most
        self.chart.set_movers([(_label(m.signature), m.change, m.status) for m in cmp.top_movers(10)])
        new = sum(1 for m in cmp.rows if m.status == "new")
        gone = sum(1 for m in cmp.rows if m.status == "gone")
        self.summary.setText(f"A: {cmp.a.label()} — <b>{cmp.total_a}</b> crashes<br>B: {cmp.b.label()} — "
                             f"<b>{cmp.total_b}</b> crashes<br>{new} new, {gone} disappeared, "
                             f"{len(cmp.rows) - new - gone} in both")
        if self._focus is not None:
            self.select_signature(self._focus[0])
            self._focus = None
        emit(self.loaded)

    def select_signature(self, signature: str | None) -> bool:
        index = _select(self.table, self.proxy, signature)
        if index is not None:
            self.table.scrollTo(index)
        return index is not None

    def _list_crashes(self, index: QModelIndex) -> None:
        if not index.isValid() or self.comparison is None:
            return
        from crashdesk.services.signature_stats import signature_query
        from crashdesk.ui.mainwindow import quote_term

        sig = self.proxy.index(index.row(), 0).data(SIGNATURE_ROLE)
        b = self.comparison.b
        parts = [self.query, quote_term("product", b.product) if b.product else "", signature_query(sig)]
        emit(self.crashes_requested, " ".join(p for p in parts if p))
