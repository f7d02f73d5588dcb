"""A small bar chart (Qt Charts) for crash counts per category: per day, per version.

Without Qt Charts in the installed PySide6 the chart degrades to a text list, so the view stays usable.
"""

from __future__ import annotations

from crashdesk.ui.qt import (
    QBarCategoryAxis,
    QBarSeries,
    QBarSet,
    QChart,
    QChartView,
    QColor,
    QLabel,
    QPainter,
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
        series.setLabelsVisible(len(shown) <= 20)
        series.setLabelsPosition(QBarSeries.LabelsPosition.LabelsOutsideEnd)
        chart.addSeries(series)
        x = QBarCategoryAxis()
        x.append([label for label, _ in shown] or [""])
        if len(shown) > 8:
            x.setLabelsAngle(-60)
        y = QValueAxis()
        top = max((c for _, c in shown), default=0)
        y.setRange(0, max(1, top) * 1.15)
        y.setLabelFormat("%d")
        y.setTickCount(min(6, max(2, top + 1)))
        chart.addAxis(x, Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(y, Qt.AlignmentFlag.AlignLeft)
        series.attachAxis(x)
        series.attachAxis(y)

    def categories(self) -> list[str]:
        return [label for label, _ in self.data]

    def counts(self) -> list[int]:
        return [count for _, count in self.data]
