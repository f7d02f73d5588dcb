"""A plain-text editor for signature list files: line numbers in a gutter and live validation that marks
every line whose regular expression does not compile (the same check the engine applies when it loads the
list, :func:`crashdesk.engine.signature.parse_list_text`)."""

from __future__ import annotations

from dataclasses import dataclass

from crashdesk.ui.qt import (
    QColor,
    QFont,
    QFontDatabase,
    QPainter,
    QPlainTextEdit,
    QRect,
    QSize,
    Qt,
    QTextCursor,
    QTextEdit,
    QTextFormat,
    QTimer,
    QWidget,
    Signal,
    emit,
)

BAD_LINE = QColor("#f8c4c0")
GUTTER = QColor("#eef1f4")
GUTTER_BAD = QColor("#c0392b")


@dataclass(frozen=True)
class LineError:
    line: int  # 1-based
    message: str


def validate_list_text(text: str, label: str = "list") -> list[LineError]:
    """Every bad line of a list file (not only the first, as loading reports): one engine check per line.
    ``module_rules.txt`` lines are module rules (``+app GLOB`` / ``-app GLOB``), the others regexes."""
    from crashdesk.engine.signature import ListSyntaxError, parse_list_text
    from crashdesk.engine.signature.modules import MODULE_RULES_FILE, parse_module_rules

    if label.endswith(MODULE_RULES_FILE):
        parse_list_text = parse_module_rules  # noqa: N806 - same call shape, other syntax

    errors = []
    for lineno, raw in enumerate(text.split("\n"), 1):
        entry = raw.strip()
        if not entry or entry.startswith("#"):
            continue
        try:
            parse_list_text(entry, label)
        except ListSyntaxError as exc:
            errors.append(LineError(lineno, exc.reason))
    return errors


class _Gutter(QWidget):
    def __init__(self, editor: ListEditor) -> None:
        super().__init__(editor)
        self.editor = editor

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(self.editor.gutter_width(), 0)

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        self.editor.paint_gutter(event)


class ListEditor(QPlainTextEdit):
    """Editor with line numbers; ``validated`` fires (debounced) with the list of bad lines."""

    validated = Signal(list)  # [LineError]

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("list_editor")
        self.label = "list"
        self.errors: list[LineError] = []
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.setFont(font)
        self.gutter = _Gutter(self)
        self.blockCountChanged.connect(self._update_margin)
        self.updateRequest.connect(self._update_gutter)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(150)
        self._timer.timeout.connect(self.validate)
        self.textChanged.connect(self._timer.start)
        self._update_margin()

    # ------------------------------------------------------------------ validation

    def set_list_text(self, text: str, label: str) -> None:
        self.label = label
        self.setPlainText(text)
        self.validate()

    def validate(self) -> list[LineError]:
        """Check every line now; mark bad ones; return them."""
        self._timer.stop()
        self.errors = validate_list_text(self.toPlainText(), self.label)
        selections = []
        doc = self.document()
        for err in self.errors:
            block = doc.findBlockByNumber(err.line - 1)
            if not block.isValid():
                continue
            sel = QTextEdit.ExtraSelection()
            sel.format.setBackground(BAD_LINE)
            sel.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
            sel.format.setToolTip(err.message)
            cursor = QTextCursor(block)
            sel.cursor = cursor
            selections.append(sel)
        self.setExtraSelections(selections)
        self.gutter.update()
        emit(self.validated, list(self.errors))
        return self.errors

    def go_to_line(self, line: int) -> None:
        block = self.document().findBlockByNumber(max(0, line - 1))
        if block.isValid():
            self.setTextCursor(QTextCursor(block))
            self.centerCursor()
            self.setFocus()

    # ------------------------------------------------------------------ gutter

    def gutter_width(self) -> int:
        digits = max(3, len(str(max(1, self.blockCount())))) + 2  # room for the error mark
        return 10 + self.fontMetrics().horizontalAdvance("9") * digits

    def _update_margin(self, *_args) -> None:
        self.setViewportMargins(self.gutter_width(), 0, 0, 0)

    def _update_gutter(self, rect: QRect, dy: int) -> None:
        if dy:
            self.gutter.scroll(0, dy)
        else:
            self.gutter.update(0, rect.y(), self.gutter.width(), rect.height())
        if rect.contains(self.viewport().rect()):
            self._update_margin()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        cr = self.contentsRect()
        self.gutter.setGeometry(QRect(cr.left(), cr.top(), self.gutter_width(), cr.height()))

    def paint_gutter(self, event) -> None:
        painter = QPainter(self.gutter)
        painter.fillRect(event.rect(), GUTTER)
        bad = {e.line for e in self.errors}
        block = self.firstVisibleBlock()
        number = block.blockNumber()
        top = round(self.blockBoundingGeometry(block).translated(self.contentOffset()).top())
        bottom = top + round(self.blockBoundingRect(block).height())
        height = self.fontMetrics().height()
        bold = QFont(self.font())
        bold.setBold(True)
        while block.isValid() and top <= event.rect().bottom():
            if block.isVisible() and bottom >= event.rect().top():
                is_bad = (number + 1) in bad
                painter.setFont(bold if is_bad else self.font())
                painter.setPen(GUTTER_BAD if is_bad else QColor("#7a8590"))
                painter.drawText(0, top, self.gutter.width() - 5, height, Qt.AlignmentFlag.AlignRight,
                                 ("✗ " if is_bad else "") + str(number + 1))
            block = block.next()
            top = bottom
            bottom = top + round(self.blockBoundingRect(block).height())
            number += 1
        painter.end()
