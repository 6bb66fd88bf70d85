"""The question x context matrix of a run for a suite and checkpoint; F1/EM toggle; delta vs another run (the
pinned baseline when one is pinned, opened through app.open_matrix)."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, Static

from engine.matrix import build_matrix, delta
from engine.scoring.summary import format_summary
from xlqa_tui.keys import MATRIX
from xlqa_tui.messages import SignificanceLoaded
from xlqa_tui.widgets.matrix_table import MatrixTable


class MatrixScreen(Screen):
    BINDINGS = MATRIX

    def __init__(self, run_id: int, other: int | None = None):
        super().__init__()
        self.run_id, self.other = run_id, other
        self.metric = "f1"
        self.suite_index = 0
        self.marked: set[tuple[str, str]] = set()   # delta cells that differ, corrected for the cells

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="matrix-title", classes="section-title")
        yield MatrixTable(id="matrix-table", cursor_type="cell")
        yield Static("", id="matrix-summary")
        yield Input(placeholder="run id to compare against (Enter)", id="delta-input", classes="hidden")
        yield Footer()

    def on_mount(self) -> None:
        self.title = f"xlqa · matrix · run {self.run_id}"
        self.query_one("#delta-input").display = False
        self.render_matrix()
        self.refresh_marks()

    def suites(self) -> list[str]:
        return list(dict.fromkeys(e["suite"] for e in self.app.store.eval_suites(self.run_id)))

    def render_matrix(self) -> None:
        suites = self.suites()
        title = self.query_one("#matrix-title", Static)
        if not suites:
            title.update(f"run {self.run_id} has no evaluation cells yet")
            return
        suite = suites[self.suite_index % len(suites)]
        cells = self.app.store.eval_cells(self.run_id, suite)
        metric = "exact_match" if self.metric == "em" else "f1"
        m = build_matrix(cells, metric)
        label = f"{suite} · {self.metric.upper()} · {cells[0]['checkpoint']} checkpoint @ step {cells[0]['step']}"
        shown, signed = m, False
        if self.other is not None:
            other_cells = self.app.store.eval_cells(self.other, suite)
            if other_cells:
                from engine.significance import cell_mark_note
                shown, signed = delta(m, build_matrix(other_cells, metric)), True
                label += f" · delta vs run {self.other} ({cell_mark_note(len(cells))})"
        title.update(f"run {self.run_id} · {label}   (rows: question language, columns: context language)")
        self.query_one(MatrixTable).show(shown, signed, self.marked if signed else set())
        s = m.summary()
        text = format_summary(s, " · ")
        if signed:
            o = build_matrix(self.app.store.eval_cells(self.other, suite), metric).summary()
            text += f"\nrun {self.other}: {format_summary(o, ' · ')}"
        self.query_one("#matrix-summary", Static).update(text)

    def action_toggle_metric(self) -> None:
        self.metric = "em" if self.metric == "f1" else "f1"
        self.refresh_marks()
        self.render_matrix()

    def refresh_marks(self) -> None:
        self.marked = set()
        if self.other is not None:
            self.load_cell_significance()

    def action_next_suite(self) -> None:
        self.suite_index += 1
        self.refresh_marks()
        self.render_matrix()

    def action_pin(self) -> None:
        self.app.pin(self.run_id)

    def action_delta(self) -> None:
        box = self.query_one("#delta-input", Input)
        box.display = True
        box.focus()

    @on(Input.Submitted, "#delta-input")
    def delta_submitted(self, event: Input.Submitted) -> None:
        event.input.display = False
        try:
            other = int(event.value.strip())
        except ValueError:
            self.notify("a run id is a number", severity="error")
            return
        if self.app.store.get_run(other) is None:
            self.notify(f"no run {other}", severity="error")
            return
        self.other = other
        self.marked = set()
        self.render_matrix()
        self.load_cell_significance()

    @work(thread=True, exclusive=True, group="cells")
    def load_cell_significance(self) -> None:
        from engine.analysis.tables import significance
        suites = self.suites()
        suite = suites[self.suite_index % len(suites)] if suites else None
        try:
            result = significance(self.app.store, [self.other], [self.run_id], suite,
                                  "em" if self.metric == "em" else "f1", resamples=2000, per_cell=True)
        except ValueError as e:
            result = {"error": str(e)}
        self.post_message(SignificanceLoaded(result))

    def on_significance_loaded(self, message: SignificanceLoaded) -> None:
        from engine.significance import significant_cells
        if "error" in message.results:
            self.notify(message.results["error"], severity="warning")
            return
        self.marked = significant_cells(message.results)
        self.render_matrix()

    def action_back(self) -> None:
        self.app.pop_screen()
