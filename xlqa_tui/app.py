"""`xlqa`: the dashboard. `xlqa --db URL` opens another database; `xlqa --once` (or any stdout that is not a
terminal, e.g. `xlqa | cat`) prints the runs table as plain text and exits."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from textual.app import App

from db import Store
from xlqa_tui.commands import XlqaCommands
from xlqa_tui.keys import APP
from xlqa_tui.screens.runs import RunsScreen


class XlqaApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "xlqa"
    BINDINGS = APP
    COMMANDS = App.COMMANDS | {XlqaCommands}

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

    # commands of the palette ------------------------------------------------------------------------
    def runs_screen(self) -> RunsScreen:
        return next(s for s in self.screen_stack if isinstance(s, RunsScreen))

    def action_home(self) -> None:
        while len(self.screen_stack) > 2:
            self.pop_screen()

    def action_schedule(self) -> None:
        from engine.jobs.control import schedule
        self.notify(schedule(self.store))

    def action_new_experiment(self) -> None:
        from xlqa_tui.screens.new_experiment import NewExperimentScreen
        self.push_screen(NewExperimentScreen())

    def action_compare_marked(self) -> None:
        self.action_home()
        self.runs_screen().action_compare()

    def open_run(self, run_id: int) -> None:
        if self.store.get_run(run_id) is None:
            self.notify(f"no run {run_id}", severity="error")
            return
        from xlqa_tui.screens.run_detail import RunDetailScreen
        self.push_screen(RunDetailScreen(run_id))

    def open_matrix(self, run_id: int) -> None:
        from xlqa_tui.screens.matrix import MatrixScreen
        self.push_screen(MatrixScreen(run_id))

    def export_run(self, run_id: int) -> None:
        from engine.jobs.report import export_run
        self.write_into_run(run_id, f"run{run_id}.csv", lambda path: path.write_text(export_run(self.store, run_id, "csv")))

    def plot_run(self, run_id: int) -> None:
        from engine.jobs.report import plot_run
        self.write_into_run(run_id, f"run{run_id}.png", lambda path: plot_run(self.store, run_id, path))

    def write_into_run(self, run_id: int, name: str, write) -> Path | None:
        """`write(path)` into the run's folder, whatever folder the dashboard was started from; the notification
        names the absolute path, or says why nothing was written."""
        run = self.store.get_run(run_id)
        if run is None:
            self.notify(f"no run {run_id}", severity="error")
            return None
        path = Path(run["output_dir"]) / name
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write(path)
        except OSError as e:
            self.notify(f"could not write {path}: {e.strerror or e}", severity="error")
            return None
        self.notify(f"wrote {path}")
        return path


def print_runs(store: Store, limit: int = 40) -> None:
    """The runs table as plain text (no colour when stdout is not a terminal), for pipes and scripts."""
    from rich.console import Console
    from rich.table import Table

    from xlqa_tui.widgets.runs_table import hparams
    table = Table("run", "experiment", "kind", "status", "progress", "T/ntl/w", "G-XLT F1", box=None)
    for r in store.list_runs(limit=limit):
        progress = f"{r['step']}/{r['total_steps']}" if r["total_steps"] else ""
        score = f"{r['score']:.2f}" if r["score"] is not None else ""
        table.add_row(str(r["id"]), r["experiment"], r["kind"], r["status"], progress, hparams(r), score)
    Console(width=200 if not sys.stdout.isatty() else None).print(table)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", "db_url", envvar="XLQA_DB", default=None, help="SQLAlchemy URL or SQLite path")
@click.option("--once", is_flag=True, help="print the runs table as plain text and exit")
def main(db_url, once):
    """Open the xlqa dashboard on the results database (default ~/.local/share/xlqa/xlqa.db)."""
    from db.session import StoreError
    try:
        store = Store(db_url)
    except StoreError as e:
        raise click.ClickException(str(e)) from e
    if once or not sys.stdout.isatty():
        print_runs(store)
        return
    XlqaApp(store).run()


if __name__ == "__main__":
    main()
