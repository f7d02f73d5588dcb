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


def integer_ticks(top: int, max_ticks: int) -> tuple[int, int]:
    """The y axis for counts up to ``top``: (step, last tick), the step a whole 1, 2 or 5 times a power of ten
    with at most ``max_ticks`` intervals, the last tick above ``top`` (a little headroom)."""
    max_ticks = max(1, max_ticks)
    ceiling = max(1, top + max(1, -(-top * 15 // 100)))
    step, scale = 1, 1
    while -(-ceiling // step) > max_ticks:
        for m in (1, 2, 5):
            step = m * scale
            if -(-ceiling // step) <= max_ticks:
                break
        else:
            scale *= 10
            continue
        break
    return step, -(-ceiling // step) * step


class BarChart(QWidget):
    """Counts per category as vertical bars; :meth:`set_data` replaces what is shown."""

    def __init__(self, title: str, colour: str = "#2c5a85", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.colour = QColor(colour)
        self.data: list[tuple[str, int]] = []
        self._full: list[tuple[str, int]] = []
        self._subtitle = ""
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
        self._full, self._subtitle = list(data), subtitle
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
        x.setTruncateLabels(False)  # Qt elided rotated dates to "20…": every label whole (they are short)
        y = QValueAxis()
        top = max((c for _, c in shown), default=0)
        step, top_tick = integer_ticks(top, self.max_ticks())
        y.setRange(0, top_tick)
        y.setTickType(QValueAxis.TickType.TicksDynamic)  # ticks at 0, step, 2*step...: whole numbers only
        y.setTickAnchor(0)
        y.setTickInterval(step)
        y.setMinorTickCount(0)
        y.setLabelFormat("%d")
        chart.addAxis(x, Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(y, Qt.AlignmentFlag.AlignLeft)
        series.attachAxis(x)
        series.attachAxis(y)
        self._apply_theme()

    def max_ticks(self) -> int:
        """How many y intervals fit the chart's height with room for each label (two text lines apiece)."""
        line = self.fontMetrics().height()
        plot = self.view.height() - 5 * line if self.view is not None else 0  # title and x labels
        return max(2, min(10, plot // (2 * line)))

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        if self.data and self.view is not None and event.oldSize().height() != event.size().height():
            step, _top = integer_ticks(max(self.counts()), self.max_ticks())
            axes = self.chart.axes(Qt.Orientation.Vertical)
            if axes and int(axes[0].tickInterval()) != step:
                self.set_data(self._full, self._subtitle)

    def categories(self) -> list[str]:
        return [label for label, _ in self.data]

    def counts(self) -> list[int]:
        return [count for _, count in self.data]
