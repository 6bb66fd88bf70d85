"""`xlqa`: the dashboard. `xlqa --db URL` opens another database."""

from __future__ import annotations

import click
from textual.app import App

from db import Store
from xlqa_tui.keys import APP
from xlqa_tui.screens.runs import RunsScreen


class XlqaApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "xlqa"
    BINDINGS = APP

    def __init__(self, store: Store):
        super().__init__()
        self.store = store

    def on_mount(self) -> None:
        self.push_screen(RunsScreen())

    def action_help(self) -> None:
        from xlqa_tui.screens.help import HelpScreen
        self.push_screen(HelpScreen())

    def action_back(self) -> None:
        if len(self.screen_stack) > 2:
            self.pop_screen()


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", "db_url", envvar="XLQA_DB", default=None, help="SQLAlchemy URL or SQLite path")
def main(db_url):
    """Open the xlqa dashboard on the results database (default ~/.local/share/xlqa/xlqa.db)."""
    XlqaApp(Store(db_url)).run()


if __name__ == "__main__":
    main()
