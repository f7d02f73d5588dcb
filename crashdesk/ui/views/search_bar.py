"""The query editor: completion of field names and values, history, and errors shown where they are."""

from __future__ import annotations

import html
import re

from crashdesk.engine.query import OPERATOR_WORDS, SYNTAX_HELP
from crashdesk.ui.qt import (
    QCompleter,
    QEvent,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QObject,
    QStringListModel,
    Qt,
    QToolButton,
    QVBoxLayout,
    QWidget,
    Signal,
    emit,
)

HISTORY_SIZE = 30
OPERATORS = ("=", "~", "^", "$", "!", ">", "<", ">=", "<=")
_TOKEN_START = re.compile(r'(?:^|\s)(-?[^\s"]*(?:"[^"]*)?)$')


def current_token(text: str, cursor: int) -> tuple[int, str]:
    """The start and text of the token being typed at ``cursor`` (quotes allowed in values)."""
    m = _TOKEN_START.search(text[:cursor])
    if not m:
        return cursor, ""
    return m.start(1), m.group(1)


def completions(token: str, fields: tuple[str, ...], values: dict[str, list[str]]) -> list[str]:
    """What to offer for ``token``: ``field:`` names, or ``field:value`` for a known field."""
    neg = "-" if token.startswith("-") else ""
    body = token[len(neg):]
    if ":" not in body:
        return [f"{neg}{f}" if f.endswith(".") else f"{neg}{f}:" for f in fields
                if f.lower().startswith(body.lower())]
    field, _, rest = body.partition(":")
    op = next((o for o in sorted(OPERATORS, key=len, reverse=True) if rest.startswith(o)), "")
    prefix = rest[len(op):].strip('"').lower()
    out = []
    for value in values.get(field.lower(), []):
        if value.lower().startswith(prefix) or prefix in value.lower():
            out.append(f"{neg}{field}:{op}{quote_value(value)}")
    return out


_WORD = re.compile(r"(?<![A-Za-z0-9_])[A-Za-z_][A-Za-z0-9_]{2,}")  # a name in a signature, not a hex digit run


def quote_value(value: str) -> str:
    """A value as the query grammar reads it back: in double quotes (backslashes and quotes escaped) when it is
    empty, an operator word, or holds a space, a quote, a parenthesis, a colon or a backslash."""
    if value and value.upper() not in OPERATOR_WORDS and not any(ch.isspace() or ch in '"():\\' for ch in value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def placeholder(values: dict[str, list[str]]) -> str:
    """The search box's example: a query over the store's own most common product, version and signature word
    (facet values, most common first), or a neutral one before they are known."""
    products, versions = values.get("product") or [], values.get("version") or []
    words = [w for sig in values.get("signature") or [] for w in _WORD.findall(sig)]
    parts = [f"product:{quote_value(products[0] if products else 'MyApp')}",
             f"version:>={quote_value(versions[0]) if versions else '1.2'}",
             f'signature:~"{words[0] if words else "parse"}"']
    return f"Search crashes: {' '.join(parts)}   (Ctrl+F)"


class SearchBar(QWidget):
    """Emits ``query_submitted`` when the user presses Enter (or picks a history entry)."""

    query_submitted = Signal(str)

    def __init__(self, fields: tuple[str, ...], parent=None) -> None:
        super().__init__(parent)
        self.fields = fields
        self.values: dict[str, list[str]] = {}
        self.history: list[str] = []
        self._history_pos = -1
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        row = QHBoxLayout()
        self.edit = QLineEdit()
        self.edit.setObjectName("query")
        self.edit.setClearButtonEnabled(True)
        self.edit.setPlaceholderText(placeholder({}))
        self.history_button = QToolButton()
        self.history_button.setText("History")
        self.history_button.setToolTip("Recent queries (Up/Down in the search box also walks them)")
        self.history_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.history_menu = QMenu(self)
        self.history_button.setMenu(self.history_menu)
        self.history_menu.aboutToShow.connect(self._fill_history_menu)
        self.help_button = QToolButton()
        self.help_button.setObjectName("query_help_button")
        self.help_button.setText("?")
        self.help_button.setCheckable(True)
        help_html = f"<pre>{html.escape(SYNTAX_HELP)}</pre>"
        self.help_button.setToolTip("Query syntax" + help_html)
        row.addWidget(self.edit, 1)
        row.addWidget(self.history_button)
        row.addWidget(self.help_button)
        layout.addLayout(row)
        self.help = QLabel(help_html)
        self.help.setObjectName("query_help")
        self.help.setTextFormat(Qt.TextFormat.RichText)
        self.help.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.help.hide()
        self.help_button.toggled.connect(self.help.setVisible)
        layout.addWidget(self.help)
        self.error = QLabel()
        self.error.setObjectName("query_error")
        self.error.setTextFormat(Qt.TextFormat.RichText)
        self.error.setWordWrap(True)
        self.error.hide()
        layout.addWidget(self.error)
        self._model = QStringListModel(self)
        self.completer = QCompleter(self._model, self)
        self.completer.setWidget(self.edit)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.completer.activated.connect(self._on_completer_activated)
        self.edit.textEdited.connect(self._on_edit_text_edited)
        self.edit.returnPressed.connect(self._on_edit_return_pressed)
        self.edit.installEventFilter(self)

    # ------------------------------------------------------------------ API

    def text(self) -> str:
        return self.edit.text()

    def set_text(self, text: str) -> None:
        self.edit.setText(text)

    def submit(self) -> None:
        self._on_edit_return_pressed()

    def set_values(self, field: str, values: list[str]) -> None:
        self.values[field] = list(dict.fromkeys([*values, *self.values.get(field, [])]))[:200]
        self.edit.setPlaceholderText(placeholder(self.values))

    def add_history(self, query: str) -> None:
        if not query.strip():
            return
        self.history = [query, *[q for q in self.history if q != query]][:HISTORY_SIZE]

    def show_error(self, message: str, position: int | None) -> None:
        """Show ``message`` under the box and mark ``position`` in the query."""
        query = self.edit.text()
        if position is not None and 0 <= position <= len(query):
            before, at, after = query[:position], query[position:position + 1] or " ", query[position + 1:]
            marked = (f"<code>{html.escape(before)}<span style='background:#f4c7c3;color:#b3261e'>"
                      f"<b>{html.escape(at)}</b></span>{html.escape(after)}</code>")
            self.error.setText(f"<span style='color:#b3261e'>{html.escape(message)}</span><br>{marked}")
            self.edit.setCursorPosition(position)
        else:
            self.error.setText(f"<span style='color:#b3261e'>{html.escape(message)}</span>")
        self.error.show()
        self.edit.setStyleSheet("QLineEdit { border: 1px solid #b3261e; }")
        self.error_position = position

    def clear_error(self) -> None:
        self.error.hide()
        self.error.setText("")
        self.edit.setStyleSheet("")
        self.error_position = None

    # ------------------------------------------------------------------ internals

    def _on_edit_return_pressed(self) -> None:
        popup = self.completer.popup()
        if popup.isVisible():
            # Enter runs the query whatever the popup shows: a highlighted completion is taken first
            current = popup.currentIndex()
            popup.hide()
            if current.isValid():
                self._on_completer_activated(str(current.data()))
        self._history_pos = -1
        emit(self.query_submitted, self.edit.text().strip())

    def _on_edit_text_edited(self, text: str) -> None:
        start, token = current_token(text, self.edit.cursorPosition())
        options = completions(token, self.fields, self.values) if token else []
        if not options or options == [token]:
            self.completer.popup().hide()
            return
        self._model.setStringList(options)
        self.completer.setCompletionPrefix("")
        self.completer.complete()

    def _on_completer_activated(self, choice: str) -> None:
        text, cursor = self.edit.text(), self.edit.cursorPosition()
        start, token = current_token(text, cursor)
        if token == choice:  # already taken (Enter took it before the completer did)
            return
        new = text[:start] + choice + text[cursor:]
        self.edit.setText(new)
        self.edit.setCursorPosition(start + len(choice))

    def _fill_history_menu(self) -> None:
        self.history_menu.clear()
        if not self.history:
            self.history_menu.addAction("(no recent queries)").setEnabled(False)
        for query in self.history:
            action = self.history_menu.addAction(query or "(everything)")
            action.triggered.connect(lambda _=False, q=query: self._pick_history(q))

    def _pick_history(self, query: str) -> None:
        self.edit.setText(query)
        emit(self.query_submitted, query)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if obj is self.edit and event.type() == QEvent.Type.KeyPress and not self.completer.popup().isVisible():
            key = event.key()
            if key in (Qt.Key.Key_Up, Qt.Key.Key_Down) and self.history:
                step = 1 if key == Qt.Key.Key_Up else -1
                self._history_pos = max(-1, min(len(self.history) - 1, self._history_pos + step))
                self.edit.setText(self.history[self._history_pos] if self._history_pos >= 0 else "")
                return True
            if key == Qt.Key.Key_Escape and self.error.isVisible():
                self.clear_error()
                return True
        return super().eventFilter(obj, event)
