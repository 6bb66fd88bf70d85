"""One run, live, one tab at a time so each chart has the whole screen (80x24 included): curves of any logged
metric (k picks, e smooths), the per-example coefficient's distribution (l: log counts), the teacher's
coefficient per language pair (each named after the run's distill.coefficient: mAP@k, entropy, ...), the log tail
(progress lines of the worker), the machine (CPU, memory, GPUs) and the run's alerts (a count of its warnings and
errors in the top line).
A run that has ended is read once more and then no longer polled."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.containers import VerticalScroll
from textual.widgets import Footer, Header, Log, Static, TabbedContent, TabPane

from db.states import ENDED
from engine.analysis.runs import ALERT_COLORS
from engine.loss_modes import coefficient_label
from xlqa_tui.keys import DETAIL
from xlqa_tui.messages import RunDetailLoaded
from xlqa_tui.widgets.chart import Chart
from xlqa_tui.widgets.distribution import DistributionBands, LatestHistogram
from xlqa_tui.widgets.pair_heatmap import PairHeatmap

TABS = ["curves", "map", "pairs", "log", "system", "alerts"]
LOSSES = ("loss", "loss_ce", "loss_kl")
SMOOTHING = (0.0, 0.6, 0.9)


class RunDetailScreen(Screen):
    BINDINGS = DETAIL + [Binding(str(i + 1), f"tab('{t}')", t, show=False) for i, t in enumerate(TABS)]

    def __init__(self, run_id: int):
        super().__init__()
        self.run_id = run_id
        self.log_size = 0
        self.metric = "loss"            # the curve shown: "loss" (total, CE, KL) or any key[context]
        self.keys: list[str] = []
        self.smoothing = 0
        self.log_counts = False
        self.data: dict = {}
        self.timer = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="detail-top")
        with TabbedContent(initial="curves", id="detail-tabs"):
            with TabPane("1 curves", id="curves"):
                yield Chart("loss", id="metric-chart")
                yield Chart("coefficient w and dev G-XLT F1 / 100", id="coef-chart", empty="no coefficient or dev evaluation yet")
            with TabPane("2 mAP@k", id="map"):
                yield DistributionBands(id="bands-plot")
                yield LatestHistogram(id="hist-plot")
            with TabPane("3 pairs", id="pairs"):
                yield Static(_pairs_title("mAP@k"), classes="section-title", id="pairs-title")
                yield PairHeatmap(id="pairs-table")
            with TabPane("4 log", id="log"):
                yield Log(id="log-tail", max_lines=500)
            with TabPane("5 system", id="system"):
                yield Chart("CPU % and RAM (GB) of the machine", id="cpu-chart", empty="no system metrics for this run")
                yield Chart("GPU utilisation % and memory (GB)", id="gpu-chart", empty="no GPU on this run's machine")
            with TabPane("6 alerts", id="alerts"):
                with VerticalScroll():
                    yield Static("no alerts", id="alerts-list")
        yield Footer()

    def on_mount(self) -> None:
        self.title = f"xlqa · run {self.run_id}"
        self.load()
        self.timer = self.set_interval(2.0, self.load)

    @work(thread=True, exclusive=True, group="detail")
    def load(self) -> None:
        store = self.app.store
        run = store.get_run(self.run_id)
        if run is None:
            return
        summary = store.summary(self.run_id)
        data = {"run": run, "summary": summary, "keys": sorted(summary),
                "coef": store.metric_series(self.run_id, "coef"),
                "dev": [(s, v / 100) for s, v in store.metric_series(self.run_id, "dev_gxlt_f1")],
                "hist": store.histograms(self.run_id, "coef"), "hist_gen": store.histograms(self.run_id, "coef_generation"),
                "pairs": store.pair_stats(self.run_id, "teacher_coef"), "alerts": store.alerts(self.run_id),
                "system": {key: store.metric_series(self.run_id, key.split("[")[0], _context(key))
                           for key in summary if key.startswith("sys_")}}
        data["metric"] = self.series_of(self.metric, data)
        log = Path(run["output_dir"]) / "worker.log"
        if log.exists() and log.stat().st_size != self.log_size:
            self.log_size = log.stat().st_size
            data["log"] = log.read_text(errors="replace").splitlines()[-500:]
        self.post_message(RunDetailLoaded(data))

    def series_of(self, metric: str, data: dict) -> dict:
        store = self.app.store
        if metric == "loss":
            return {k: store.metric_series(self.run_id, k) for k in LOSSES}
        return {metric: store.metric_series(self.run_id, metric.split("[")[0], _context(metric))}

    def on_run_detail_loaded(self, message: RunDetailLoaded) -> None:
        d = self.data = message.data
        run, s = d["run"], d["summary"]
        self.keys = ["loss"] + [k for k in d["keys"] if k not in LOSSES]
        speed = s.get("examples_per_s", {}).get("last_value")
        best = s.get("dev_gxlt_f1", {}).get("best_value")
        parts = [f"run {run['id']} · {run['kind']} · [b]{run['status']}[/b] · step {run['step']}/{run['total_steps']}",
                 f"device {run['assigned_devices'] or 'cpu'}", f"{speed:.1f} ex/s" if speed else "",
                 f"best dev G-XLT F1 {best:.2f}" if best is not None else ""]
        serious = [a for a in d["alerts"] if a["level"] != "info"]
        if serious:
            worst = ALERT_COLORS["error" if any(a["level"] == "error" for a in serious) else "warning"]
            parts.append(f"[{worst}]{len(serious)} alert{'s' * (len(serious) > 1)}[/] (6)")
        err = f"\n[red]{run['error'].strip().splitlines()[-1]}[/] — {run['hint']}" if run["error"] else ""
        self.query_one("#detail-top", Static).update(" · ".join(p for p in parts if p) + err)
        self.query_one("#alerts-list", Static).update(alert_lines(d["alerts"]))
        self.draw_metric()
        self.query_one("#coef-chart", Chart).show({"w": d["coef"], "dev G-XLT/100": d["dev"]})
        coefficient = self.coefficient()
        self.query_one(TabbedContent).get_tab("map").label = f"2 {coefficient}"
        self.query_one("#pairs-title", Static).update(_pairs_title(coefficient))
        self.query_one("#bands-plot", DistributionBands).show_histograms(d["hist"], coefficient)
        self.query_one("#hist-plot", LatestHistogram).show_histogram((d["hist"] or d["hist_gen"] or [None])[-1],
                                                                     self.log_counts, coefficient)
        if d["pairs"]:
            self.query_one("#pairs-table", PairHeatmap).show_pairs(d["pairs"])
        if "log" in d:
            log = self.query_one("#log-tail", Log)
            log.clear()
            log.write_lines(d["log"])
        system = d["system"]
        minutes = lambda pts: [(t / 60, v) for t, v in pts]
        self.query_one("#cpu-chart", Chart).show({k: minutes(v) for k, v in system.items() if "gpu" not in k},
                                                 xlabel="minutes since queued")
        self.query_one("#gpu-chart", Chart).show({k: minutes(v) for k, v in system.items() if "gpu" in k},
                                                 xlabel="minutes since queued")
        if run["status"] in ENDED and self.timer is not None:  # read once after the end, then no more polling
            self.timer.stop()
            self.timer = None

    def coefficient(self) -> str:
        """The chart name of the run's coefficient (w is logged as `coef` whichever it is)."""
        config = (self.data.get("run") or {}).get("config") or {}
        return coefficient_label(config.get("distill", {}).get("coefficient"))

    def draw_metric(self) -> None:
        if not self.data:
            return
        title = "loss (total, CE, KL)" if self.metric == "loss" else self.metric
        self.query_one("#metric-chart", Chart).show(self.data["metric"], title,
                                                    SMOOTHING[self.smoothing])

    def action_next_metric(self) -> None:
        if not self.keys:
            return
        self.metric = self.keys[(self.keys.index(self.metric) + 1) % len(self.keys)] if self.metric in self.keys else "loss"
        self.data["metric"] = self.series_of(self.metric, self.data)
        self.draw_metric()

    def action_smooth(self) -> None:
        self.smoothing = (self.smoothing + 1) % len(SMOOTHING)
        self.draw_metric()

    def action_log_scale(self) -> None:
        self.log_counts = not self.log_counts
        if self.data:
            d = self.data
            self.query_one("#hist-plot", LatestHistogram).show_histogram((d["hist"] or d["hist_gen"] or [None])[-1],
                                                                         self.log_counts, self.coefficient())

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    def action_matrix(self) -> None:
        self.app.open_matrix(self.run_id)

    def action_pin(self) -> None:
        self.app.pin(self.run_id)

    def action_cancel_run(self) -> None:
        from engine.jobs.control import cancel_run
        self.notify(cancel_run(self.app.store, self.run_id))

    def action_back(self) -> None:
        self.app.pop_screen()


def alert_lines(alerts: list[dict]) -> Text:
    """The run's alerts, newest first, one wrapped paragraph each."""
    if not alerts:
        return Text("no alerts", style="dim")
    out = Text()
    for a in reversed(alerts):
        out.append(f"{a['created_at']:%m-%d %H:%M:%S} ", style="dim")
        out.append(f"{a['level']:<7} ", style=ALERT_COLORS[a["level"]])
        out.append(f"{a['kind']}\n", style="bold")
        out.append(f"  {a['text']}\n")
    return out


def _pairs_title(coefficient: str) -> str:
    return f"teacher {coefficient} per language pair (x100), latest generation"


def _context(key: str) -> str:
    """'sys_gpu_util[gpu0]' -> 'gpu0'; '' without brackets."""
    return key.split("[", 1)[1].rstrip("]") if "[" in key else ""
