"""Runs side by side: config diff (only what differs, toggle), dev curves overlaid, summary scores."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from engine.jobs.report import config_diff
from engine.matrix import build_matrix
from xlqa_tui.keys import COMPARE
from xlqa_tui.widgets.curves import Curves


def flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        out.update(flatten(v, f"{prefix}{k}.") if isinstance(v, dict) else {prefix + k: v})
    return out


class CompareScreen(Screen):
    BINDINGS = COMPARE

    def __init__(self, run_ids: list[int]):
        super().__init__()
        self.run_ids = run_ids
        self.only_diff = True

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("summary (best checkpoint, first suite)", classes="section-title")
        yield DataTable(id="compare-summary")
        yield Static("config", classes="section-title", id="config-title")
        yield DataTable(id="compare-config")
        yield Curves("dev G-XLT F1", id="compare-curves")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "xlqa · compare " + " ".join(map(str, self.run_ids))
        store = self.app.store
        summary = self.query_one("#compare-summary", DataTable)
        summary.add_columns("run", "experiment", "kind", "XLT", "G-XLT (all)", "G-XLT (cross)")
        for rid in self.run_ids:
            run = store.get_run(rid)
            cells = store.eval_cells(rid)
            s = build_matrix(cells).summary() if cells else {}
            fmt = lambda k: f"{s[k]:.2f}" if k in s else ""
            summary.add_row(str(rid), run["experiment"], run["kind"], fmt("xlt"), fmt("gxlt"), fmt("gxlt_cross"))
        self.query_one("#compare-curves", Curves).show(
            {f"run {rid}": store.metric_series(rid, "dev_gxlt_f1") for rid in self.run_ids})
        self.render_config()

    def render_config(self) -> None:
        store = self.app.store
        configs = [flatten(store.get_run(r)["config"]) for r in self.run_ids]
        table = self.query_one("#compare-config", DataTable)
        table.clear(columns=True)
        table.add_columns("key", *[f"run {r}" for r in self.run_ids])
        for key in sorted(set().union(*configs)):
            values = [c.get(key) for c in configs]
            if self.only_diff and all(v == values[0] for v in values):
                continue
            table.add_row(key, *[str(v) for v in values])
        self.query_one("#config-title", Static).update("config: " + ("only what differs (o: all)" if self.only_diff else "all keys (o: only diffs)"))

    def action_toggle_only_diff(self) -> None:
        self.only_diff = not self.only_diff
        self.render_config()

    def action_back(self) -> None:
        self.app.pop_screen()
