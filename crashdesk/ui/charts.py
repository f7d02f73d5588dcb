"""A small bar chart (Qt Charts) for crash counts per category: per day, per version.

Without Qt Charts in the installed PySide6 the chart degrades to a text list, so the view stays usable.
"""

from __future__ import annotations

from crashdesk.ui.qt import (
    QBarCategoryAxis,
    QBarSeries,
    QBarSet,
    QBrush,
    QChart,
    QChartView,
    QColor,
    QEvent,
    QLabel,
    QPainter,
    QPalette,
    Qt,
    QValueAxis,
    QVBoxLayout,
    QWidget,
)

#: at most this many bars; older categories are folded away (the title says so)
MAX_BARS = 60


class BarChart(QWidget):
    """Counts per category as vertical bars; :meth:`set_data` replaces what is shown."""

    def __init__(self, title: str, colour: str = "#2c5a85", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.colour = QColor(colour)
        self.data: list[tuple[str, int]] = []
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        if QChart is None:  # pragma: no cover - depends on the wheel
            self.view = None
            self.fallback = QLabel()
            self.fallback.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
            lay.addWidget(self.fallback)
            return
        self.chart = QChart()
        self.chart.setTitle(title)
        self.chart.legend().hide()
        self.chart.setMargins(self.chart.margins() * 0)
        self.chart.setBackgroundRoundness(0)
        self.view = QChartView(self.chart)
        self.view.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.view.setMinimumHeight(160)
        lay.addWidget(self.view)
        self._apply_theme()

    def _apply_theme(self) -> None:
        """Colours from the app's palette (so dark mode gives a dark chart); the bars keep their colour."""
        if self.view is None:  # pragma: no cover
            return
        pal = self.palette()
        text = pal.color(QPalette.ColorRole.WindowText)
        grid = pal.color(QPalette.ColorRole.Mid)
        self.chart.setBackgroundBrush(QBrush(pal.color(QPalette.ColorRole.Base)))
        self.chart.setTitleBrush(QBrush(text))
        self.view.setBackgroundBrush(QBrush(pal.color(QPalette.ColorRole.Window)))
        for axis in self.chart.axes():
            axis.setLabelsBrush(QBrush(text))
            axis.setGridLineColor(grid)
            axis.setLinePenColor(grid)

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self._apply_theme()

    def set_data(self, data: list[tuple[str, int]], subtitle: str = "") -> None:
        """Show ``[(category, count), ...]`` in the given order."""
        shown = list(data)[-MAX_BARS:]
        self.data = shown
        title = self.title + (f" — {subtitle}" if subtitle else "")
        if len(data) > len(shown):
            title += f" (last {len(shown)} of {len(data)})"
        if self.view is None:  # pragma: no cover
            self.fallback.setText(title + "\n" + "\n".join(f"{k}: {v}" for k, v in shown))
            return
        chart = self.chart
        chart.removeAllSeries()
        for axis in list(chart.axes()):
            chart.removeAxis(axis)
        chart.setTitle(title)
        bars = QBarSet("crashes")
        bars.setColor(self.colour)
        for _, count in shown:
            bars.append(count)
        series = QBarSeries()
        series.append(bars)
        chart.addSeries(series)
        x = QBarCategoryAxis()
        x.append([label for label, _ in shown] or [""])
        if len(shown) > 8:
            x.setLabelsAngle(-60)
        y = QValueAxis()
        top = max((c for _, c in shown), default=0)
        ceiling = max(1, top + max(1, -(-top * 15 // 100)))  # a little headroom, a whole number
        if ceiling <= 10:
            y.setRange(0, ceiling)
            y.setTickCount(ceiling + 1)  # one tick per crash: labels sit on whole numbers
        else:
            y.setRange(0, ceiling)
            y.applyNiceNumbers()
        y.setLabelFormat("%d")
        chart.addAxis(x, Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(y, Qt.AlignmentFlag.AlignLeft)
        series.attachAxis(x)
        series.attachAxis(y)
        self._apply_theme()

    def categories(self) -> list[str]:
        return [label for label, _ in self.data]

    def counts(self) -> list[int]:
        return [count for _, count in self.data]
