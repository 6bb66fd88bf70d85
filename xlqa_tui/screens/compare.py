"""Runs side by side, against a baseline (the pinned run, else the first), one tab each so that every part fits
80x24: 1 scores (summary, and the paired test of each run against the baseline, one row per view so the numbers
are never cut), 2 config (only what differs, toggle), 3 curves (dev G-XLT F1, loss, w overlaid), 4 logs (the
tail of each run's worker.log, read again while a run is live)."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Log, Static, TabbedContent, TabPane

from db.states import LIVE
from engine.matrix import build_matrix
from engine.scoring.summary import G_XLT, G_XLT_CROSS, VIEWS, XLT
from xlqa_tui.keys import COMPARE
from xlqa_tui.messages import LogsLoaded, SignificanceLoaded
from xlqa_tui.widgets.chart import Chart

CURVES = [("dev_gxlt_f1", "dev G-XLT F1"), ("loss", "training loss"), ("coef", "coefficient w")]
TABS = ["scores", "config", "curves", "logs"]
LOG_LINES = 12


def flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        out.update(flatten(v, f"{prefix}{k}.") if isinstance(v, dict) else {prefix + k: v})
    return out


SIGNIFICANCE_COLUMNS = ("run", "view", "delta", "95% interval", "p", "n")


def significance_rows(base: int, results: dict) -> list[tuple[str, ...]]:
    """(run, view, delta, 95% interval, p, n) per compared run and view: six columns that fit 80, as the CLI's
    table puts the views in rows rather than side by side."""
    rows = []
    for rid, result in results.items():
        label = f"{rid} vs {base}"
        if "error" in result:
            rows.append((label, result["error"][:60], "", "", "", ""))
            continue
        for view in VIEWS:
            if view.name not in result:
                continue
            r = result[view.name]
            lo, hi = r["ci95"]
            rows.append((label, view.short, f"{r['delta']:+.2f}", f"[{lo:+.2f}, {hi:+.2f}]",
                         "<0.001" if r["p"] < 1e-3 else f"{r['p']:.3f}", f"{r['n']:,}"))
            label = ""
    return rows


class CompareScreen(Screen):
    BINDINGS = COMPARE + [Binding(str(i + 1), f"tab('{t}')", t, show=False) for i, t in enumerate(TABS)]

    def __init__(self, run_ids: list[int]):
        """run_ids[0] is the baseline the others are tested against."""
        super().__init__()
        self.run_ids = run_ids
        self.only_diff = True
        self.curve = 0
        self.timer = None

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(initial="scores", id="compare-tabs"):
            with TabPane("1 scores", id="scores"):
                yield Static("summary (best checkpoint, first suite)", classes="section-title")
                yield DataTable(id="compare-summary")
                yield Static(f"is it real? run - baseline run {self.run_ids[0]} (95% interval over question ids)",
                             classes="section-title", id="significance-title")
                yield DataTable(id="compare-significance")
            with TabPane("2 config", id="config"):
                yield Static("config", classes="section-title", id="config-title")
                yield DataTable(id="compare-config")
            with TabPane("3 curves", id="curves"):
                yield Chart("dev G-XLT F1 of each run (k: next curve)", id="compare-curves",
                            empty="no dev evaluation logged by these runs (k: next curve)")
            with TabPane("4 logs", id="logs"):
                with VerticalScroll(id="compare-logs"):
                    for rid in self.run_ids:
                        yield Static(f"run {rid}: worker.log", classes="section-title", id=f"log-title-{rid}")
                        yield Log(id=f"log-{rid}", max_lines=LOG_LINES, classes="compare-log")
        yield Footer()

    def on_mount(self) -> None:
        self.title = f"xlqa · compare {' '.join(map(str, self.run_ids))}"
        store = self.app.store
        summary = self.query_one("#compare-summary", DataTable)
        summary.add_column("run")
        summary.add_column("experiment", width=20)     # a long name is ellipsized: the scores keep their room
        summary.add_columns("kind", *(v.short for v in (XLT, G_XLT, G_XLT_CROSS)))
        for rid in self.run_ids:
            run = store.get_run(rid)
            cells = store.eval_cells(rid)
            s = build_matrix(cells).summary() if cells else {}
            fmt = lambda k, s=s: f"{s[k]:.2f}" if k in s else ""
            summary.add_row(str(rid) + (" (base)" if rid == self.run_ids[0] else ""),
                            Text(run["experiment"], no_wrap=True, overflow="ellipsis"),
                            run["kind"], *(fmt(v.key) for v in (XLT, G_XLT, G_XLT_CROSS)))
        self.draw_curves()
        table = self.query_one("#compare-significance", DataTable)
        table.add_columns(*SIGNIFICANCE_COLUMNS)
        table.add_row("…", "computing", "", "", "", "")
        self.render_config()
        self.load_significance()
        self.load_logs()
        self.timer = self.set_interval(3.0, self.load_logs)

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
        rows = significance_rows(self.run_ids[0], message.results)
        # widths given, not measured: DataTable measures new rows when idle and keeps the lines it drew before
        # that, so a frame drawn in between (a loaded machine) left the first row and the header cut for good
        table.clear(columns=True)
        for i, label in enumerate(SIGNIFICANCE_COLUMNS):
            table.add_column(label, width=max([len(label), *(len(row[i]) for row in rows)]))
        table.add_rows(rows)

    @work(thread=True, exclusive=True, group="logs")
    def load_logs(self) -> None:
        from engine.jobs.logs import log_path, tail
        runs = [self.app.store.get_run(rid) for rid in self.run_ids]
        tails = {r["id"]: (tail(log_path(r), LOG_LINES), log_path(r), r["status"]) for r in runs if r}
        self.post_message(LogsLoaded(tails, live=any(r and r["status"] in LIVE for r in runs)))

    def on_logs_loaded(self, message: LogsLoaded) -> None:
        for rid, (lines, path, status) in message.tails.items():
            self.query_one(f"#log-title-{rid}", Static).update(
                f"run {rid} ({status}) · the last {len(lines)} lines of its worker.log" if lines
                else f"run {rid} ({status}): no log yet at {path}")
            log = self.query_one(f"#log-{rid}", Log)
            log.clear()
            log.write_lines(lines)
        if not message.live and self.timer is not None:  # every run ended: its log no longer grows
            self.timer.stop()
            self.timer = None

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
        self.action_tab("curves")

    def action_toggle_only_diff(self) -> None:
        self.only_diff = not self.only_diff
        self.render_config()
        self.action_tab("config")

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    def action_back(self) -> None:
        self.app.pop_screen()
