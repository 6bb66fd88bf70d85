"""The dashboard's Textual app (`xlqa`, started by xlqa_tui.launch)."""

from __future__ import annotations

from pathlib import Path

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
        self.baseline: int | None = None   # the pinned run: what Compare and Matrix measure the others against

    def pin(self, run_id: int) -> None:
        """Pin `run_id` as the baseline (or unpin it when it is the pinned one); the header of every screen says so."""
        self.baseline = None if self.baseline == run_id else run_id
        self.sub_title = f"baseline: run {self.baseline}" if self.baseline is not None else ""
        self.notify(f"run {run_id} is the baseline of Compare and Matrix (b again: unpin)"
                    if self.baseline is not None else f"run {run_id} is no longer the baseline")

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
        self.push_screen(MatrixScreen(run_id, self.against(run_id)))

    def against(self, run_id: int) -> int | None:
        """The run a matrix of `run_id` is a delta against: the pinned baseline, unless it is that run."""
        return self.baseline if self.baseline not in (None, run_id) else None

    def export_run(self, run_id: int) -> None:
        from engine.analysis.report import export_run
        self.write_into_run(run_id, f"run{run_id}.csv", lambda path: path.write_text(export_run(self.store, run_id, "csv")))

    def plot_run(self, run_id: int) -> None:
        from engine.analysis.report import plot_run
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


# `xlqa` starts in xlqa_tui.launch, which imports this module (and Textual) only to open the dashboard
from xlqa_tui.launch import main, print_runs  # noqa: E402,F401

if __name__ == "__main__":
    main()
