"""The runs screen: every run, live progress, filter, sort, and the actions on a run."""

from __future__ import annotations

import time

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, Static

from db.states import LIVE, UNFINISHED
from xlqa_tui.keys import RUNS
from xlqa_tui.messages import RunsLoaded
from xlqa_tui.widgets.runs_table import RunsTable, compact_for

SORTS = ["id", "started", "best", "status", "kind", "experiment"]
STATUS_FILTERS = [(), LIVE, ("done",), UNFINISHED]
PAGE = 200
REFRESH_S = 1.5  # at most ~1 refresh a second: tmux does not flicker


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
        self.total = 0
        self.waiting = 0
        self.sweeps: dict = {}
        self.reconciled = 0.0

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="filter-bar"):
            yield Input(placeholder="words to match (all): experiment, kind, status · Esc clears", id="filter")
        yield RunsTable(id="runs-table")
        yield Static("", id="status-line")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "xlqa · runs"
        self.query_one(RunsTable).focus()
        self.refresh_runs()
        self.set_interval(REFRESH_S, self.refresh_runs)

    @work(thread=True, exclusive=True, group="runs")
    def refresh_runs(self) -> None:
        store = self.app.store
        if time.monotonic() - self.reconciled > 10:  # runs whose worker died become lost without a scheduler
            from engine.jobs.control import reconcile, waiting_without_scheduler
            from engine.jobs.sweep import sweep_progress
            reconcile(store)
            self.waiting = 0 if store.read_only else waiting_without_scheduler(store)
            self.sweeps = sweep_progress(store)
            self.reconciled = time.monotonic()
        statuses = STATUS_FILTERS[self.status_filter]
        total = store.count_runs(self.text_filter, statuses)
        self.page = min(self.page, max(0, (total - 1) // PAGE))
        rows = store.list_runs(self.text_filter, statuses, self.sort, self.descending, self.page * PAGE, PAGE)
        self.post_message(RunsLoaded(rows, total))

    def on_runs_loaded(self, message: RunsLoaded) -> None:
        self.total = message.total
        self.query_one(RunsTable).show_runs(message.rows, self.marked)
        status = ",".join(STATUS_FILTERS[self.status_filter]) or "all"
        first = self.page * PAGE + 1 if message.rows else 0
        shown = f"runs {first}–{self.page * PAGE + len(message.rows)} of {message.total:,}"
        if self.text_filter:
            shown += f" matching {self.text_filter!r}"
        marks = f" · {len(self.marked)} marked (u: unmark)" if self.marked else ""
        waiting = f" · {self.waiting} ready, no scheduler (ctrl+p: start it)" if self.waiting else ""
        sweeps = "".join(f" · sweep {name} {c['done']}/{c['total']} done" + (f", {c['running']} running" if c["running"] else "")
                         + (f", {c['failed'] + c['lost']} failed" if c["failed"] + c["lost"] else "")
                         for name, c in self.sweeps.items())
        self.query_one("#status-line", Static).update(
            f"{shown} · status {status} · sort {self.sort} {'↓' if self.descending else '↑'}{marks}{waiting}{sweeps}")

    def on_resize(self, event) -> None:
        table = self.query_one(RunsTable)
        compact = compact_for(event.size.width)
        if compact != table.compact:
            table.set_layout(compact)
            self.refresh_runs()

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
            self.app.open_matrix(run_id)

    def action_pin(self) -> None:
        if (run_id := self.selected()) is not None:
            self.app.pin(run_id)

    def action_mark(self) -> None:
        if (run_id := self.selected()) is not None:
            self.marked ^= {run_id}
            self.refresh_runs()

    def action_compare(self) -> None:
        """The marked runs against the pinned baseline (itself included), else against the first marked; with a
        baseline and no marks, the selected run against it."""
        base = self.app.baseline
        ids = sorted(self.marked)
        if base is not None and not ids and (run_id := self.query_one(RunsTable).selected_run_id()) is not None:
            ids = [run_id]
        if base is not None:
            ids = [base] + [r for r in ids if r != base]
        if len(ids) < 2:
            self.notify("mark two or more runs with space (or pin a baseline with b), then press c",
                        severity="warning")
            return
        from xlqa_tui.screens.compare import CompareScreen
        self.app.push_screen(CompareScreen(ids))
        self.marked.clear()  # a comparison consumes the marks
        self.refresh_runs()

    def action_unmark(self) -> None:
        self.marked.clear()
        self.refresh_runs()

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
        """Esc closes the filter and clears it: what is shown is never filtered by something hidden."""
        bar = self.query_one("#filter-bar")
        if bar.has_class("visible") or self.text_filter:
            bar.remove_class("visible")
            self.query_one("#filter", Input).value = ""
            self.text_filter = ""
            self.query_one(RunsTable).focus()
            self.refresh_runs()

    def action_status_filter(self) -> None:
        self.status_filter = (self.status_filter + 1) % len(STATUS_FILTERS)
        self.refresh_runs()

    def action_sort(self) -> None:
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
        self.refresh_runs()

    def action_next_page(self) -> None:
        if (self.page + 1) * PAGE < self.total:
            self.page += 1
            self.refresh_runs()

    def action_prev_page(self) -> None:
        if self.page:
            self.page -= 1
            self.refresh_runs()

    def action_reverse(self) -> None:
        self.descending = not self.descending
        self.refresh_runs()
