"""A filterable list of every key."""

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Input

from xlqa_tui.keys import HELP_TEXT


class HelpScreen(ModalScreen):
    BINDINGS = [Binding("escape", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        yield Input(placeholder="filter keys…", id="help-filter")
        yield DataTable(id="help-table", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("screen", "key", "action")
        self.fill("")

    def fill(self, text: str) -> None:
        table = self.query_one(DataTable)
        table.clear()
        text = text.lower()
        for screen, bindings in HELP_TEXT.items():
            for b in bindings:
                key = b.key_display or b.key
                if not text or text in f"{screen} {key} {b.description}".lower():
                    table.add_row(screen, key, b.description)

    @on(Input.Changed, "#help-filter")
    def filter_changed(self, event: Input.Changed) -> None:
        self.fill(event.value)
