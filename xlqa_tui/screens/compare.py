"""Runs side by side: config diff (only what differs, toggle), dev curves overlaid, summary scores."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from engine.matrix import build_matrix
from engine.scoring.summary import G_XLT, G_XLT_CROSS, XLT
from xlqa_tui.keys import COMPARE
from xlqa_tui.messages import SignificanceLoaded
from xlqa_tui.widgets.chart import Chart

CURVES = [("dev_gxlt_f1", "dev G-XLT F1"), ("loss", "training loss"), ("coef", "coefficient w")]


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
        self.curve = 0

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("summary (best checkpoint, first suite)", classes="section-title")
        yield DataTable(id="compare-summary")
        yield Static("is it real? run - first run (95% interval over question ids)",
                     classes="section-title", id="significance-title")
        yield DataTable(id="compare-significance")
        yield Static("config", classes="section-title", id="config-title")
        yield DataTable(id="compare-config")
        yield Chart("dev G-XLT F1 of each run (k: next curve)", id="compare-curves",
                    empty="no dev evaluation logged by these runs (k: next curve)")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "xlqa · compare " + " ".join(map(str, self.run_ids))
        store = self.app.store
        summary = self.query_one("#compare-summary", DataTable)
        summary.add_columns("run", "experiment", "kind", *(v.short for v in (XLT, G_XLT, G_XLT_CROSS)))
        for rid in self.run_ids:
            run = store.get_run(rid)
            cells = store.eval_cells(rid)
            s = build_matrix(cells).summary() if cells else {}
            fmt = lambda k, s=s: f"{s[k]:.2f}" if k in s else ""
            summary.add_row(str(rid), run["experiment"], run["kind"], *(fmt(v.key) for v in (XLT, G_XLT, G_XLT_CROSS)))
        self.draw_curves()
        table = self.query_one("#compare-significance", DataTable)
        table.add_columns("run", "G-XLT delta", "95% interval", "p", "XLT delta", "95% interval", "p", "n")
        table.add_row("…", "computing", "", "", "", "", "", "")
        self.render_config()
        self.load_significance()

    @work(thread=True, exclusive=True, group="significance")
    def load_significance(self) -> None:
        from engine.analysis.tables import significance
        results = {}
        for rid in self.run_ids[1:]:
            try:
                results[rid] = significance(self.app.store, [self.run_ids[0]], [rid], resamples=2000)
            except ValueError as e:
                results[rid] = {"error": str(e)}
        self.post_message(SignificanceLoaded(results))

    def on_significance_loaded(self, message: SignificanceLoaded) -> None:
        table = self.query_one("#compare-significance", DataTable)
        table.clear()
        fmt = lambda r: (f"{r['delta']:+.2f}", f"[{r['ci95'][0]:+.2f}, {r['ci95'][1]:+.2f}]",
                         "<0.001" if r["p"] < 1e-3 else f"{r['p']:.3f}")
        for rid, result in message.results.items():
            if "error" in result:
                table.add_row(str(rid), result["error"][:60], "", "", "", "", "", "")
                continue
            table.add_row(f"{rid} vs {self.run_ids[0]}", *fmt(result["g_xlt"]), *fmt(result["xlt"]),
                          f"{result['g_xlt']['n']:,}")

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
        identical = self.only_diff and table.row_count == 0
        table.display = not identical
        self.query_one("#config-title", Static).update(
            "config: identical (o: all keys)" if identical else
            "config: " + ("only what differs (o: all)" if self.only_diff else "all keys (o: only diffs)"))

    def draw_curves(self) -> None:
        key, label = CURVES[self.curve]
        series = {f"run {rid}": self.app.store.metric_series(rid, key) for rid in self.run_ids}
        chart = self.query_one("#compare-curves", Chart)
        chart.empty = f"no {label} logged by these runs (k: next curve)"
        chart.query_one(".chart-empty").update(chart.empty)
        chart.show(series, f"{label} of each run (k: next curve)")

    def action_next_metric(self) -> None:
        self.curve = (self.curve + 1) % len(CURVES)
        self.draw_curves()

    def action_toggle_only_diff(self) -> None:
        self.only_diff = not self.only_diff
        self.render_config()

    def action_back(self) -> None:
        self.app.pop_screen()
