"""The runs screen: every run, live progress, filter, sort, and the actions on a run."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, Static

from xlqa_tui.keys import RUNS
from xlqa_tui.messages import RunsLoaded
from xlqa_tui.widgets.runs_table import RunsTable

SORTS = ["id", "started", "best", "status", "kind", "experiment"]
STATUS_FILTERS = [(), ("running", "queued"), ("done",), ("failed", "lost", "cancelled")]
PAGE = 200


class RunsScreen(Screen):
    BINDINGS = RUNS

    def __init__(self):
        super().__init__()
        self.text_filter = ""
        self.sort = "id"
        self.descending = True
        self.status_filter = 0
        self.marked: set[int] = set()
        self.page = 0

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="filter-bar"):
            yield Input(placeholder="filter by experiment, kind or status (Enter to apply, Esc to close)", id="filter")
        yield RunsTable(id="runs-table")
        yield Static("", id="status-line")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "xlqa · runs"
        self.query_one(RunsTable).focus()
        self.refresh_runs()
        self.set_interval(1.5, self.refresh_runs)  # at most ~1 refresh a second: tmux does not flicker

    @work(thread=True, exclusive=True, group="runs")
    def refresh_runs(self) -> None:
        rows = self.app.store.list_runs(self.text_filter, STATUS_FILTERS[self.status_filter], self.sort,
                                        self.descending, self.page * PAGE, PAGE)
        self.post_message(RunsLoaded(rows))

    def on_runs_loaded(self, message: RunsLoaded) -> None:
        self.query_one(RunsTable).show_runs(message.rows, self.marked)
        status = ",".join(STATUS_FILTERS[self.status_filter]) or "all"
        marks = f" · marked {sorted(self.marked)}" if self.marked else ""
        self.query_one("#status-line", Static).update(
            f"page {self.page + 1}: {len(message.rows)} runs · status {status} · sort {self.sort} {'↓' if self.descending else '↑'}{marks} · ? help")

    def selected(self) -> int | None:
        run_id = self.query_one(RunsTable).selected_run_id()
        if run_id is None:
            self.notify("no run selected", severity="warning")
        return run_id

    # actions ------------------------------------------------------------------------------------
    def action_new(self) -> None:
        from xlqa_tui.screens.new_experiment import NewExperimentScreen
        self.app.push_screen(NewExperimentScreen())

    def action_copy_config(self) -> None:
        if (run_id := self.selected()) is not None:
            from xlqa_tui.screens.new_experiment import NewExperimentScreen
            self.app.push_screen(NewExperimentScreen(self.app.store.get_run(run_id)["config"]))

    def action_open(self) -> None:
        if (run_id := self.selected()) is not None:
            from xlqa_tui.screens.run_detail import RunDetailScreen
            self.app.push_screen(RunDetailScreen(run_id))

    @on(RunsTable.RowSelected)
    def row_selected(self) -> None:
        self.action_open()

    def action_matrix(self) -> None:
        if (run_id := self.selected()) is not None:
            from xlqa_tui.screens.matrix import MatrixScreen
            self.app.push_screen(MatrixScreen(run_id))

    def action_mark(self) -> None:
        if (run_id := self.selected()) is not None:
            self.marked ^= {run_id}
            self.refresh_runs()

    def action_compare(self) -> None:
        ids = sorted(self.marked) or []
        if len(ids) < 2:
            self.notify("mark two or more runs with space, then press c", severity="warning")
            return
        from xlqa_tui.screens.compare import CompareScreen
        self.app.push_screen(CompareScreen(ids))

    def action_cancel_run(self) -> None:
        if (run_id := self.selected()) is not None:
            from engine.jobs.control import cancel_run
            self.notify(cancel_run(self.app.store, run_id))
            self.refresh_runs()

    def action_resume_run(self) -> None:
        if (run_id := self.selected()) is None:
            return
        from engine.jobs.control import resume_run
        try:
            self.notify(resume_run(self.app.store, run_id))
        except ValueError as e:
            self.notify(str(e), severity="warning")
        self.refresh_runs()

    def action_delete_run(self) -> None:
        if (run_id := self.selected()) is None:
            return
        from xlqa_tui.screens.confirm import ConfirmScreen

        def done(yes: bool | None) -> None:
            if yes:
                run = self.app.store.get_run(run_id)
                if run and run["status"] == "running":
                    self.notify("cancel the run before deleting it", severity="error")
                    return
                self.app.store.delete_run(run_id)
                self.marked.discard(run_id)
                self.notify(f"deleted run {run_id} (its files stay on disk)")
                self.refresh_runs()
        self.app.push_screen(ConfirmScreen(f"Delete run {run_id} and all its metrics?"), done)

    def action_filter(self) -> None:
        bar = self.query_one("#filter-bar")
        bar.add_class("visible")
        self.query_one("#filter", Input).focus()

    @on(Input.Submitted, "#filter")
    def filter_submitted(self, event: Input.Submitted) -> None:
        self.text_filter = event.value.strip()
        self.query_one(RunsTable).focus()
        self.refresh_runs()

    @on(Input.Changed, "#filter")
    def filter_changed(self, event: Input.Changed) -> None:
        self.text_filter = event.value.strip()
        self.refresh_runs()

    def key_escape(self) -> None:
        bar = self.query_one("#filter-bar")
        if bar.has_class("visible"):
            bar.remove_class("visible")
            self.query_one(RunsTable).focus()

    def action_status_filter(self) -> None:
        self.status_filter = (self.status_filter + 1) % len(STATUS_FILTERS)
        self.refresh_runs()

    def action_sort(self) -> None:
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
        self.refresh_runs()

    def action_next_page(self) -> None:
        if self.query_one(RunsTable).row_count == PAGE:
            self.page += 1
            self.refresh_runs()

    def action_prev_page(self) -> None:
        if self.page:
            self.page -= 1
            self.refresh_runs()

    def action_reverse(self) -> None:
        self.descending = not self.descending
        self.refresh_runs()
