"""One run, live: loss curves and the coefficient, the per-example mAP@k distribution over time, the
teacher's mAP@k per language pair, throughput, status, errors and the tail of the log."""

from __future__ import annotations

from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, Log, Static

from xlqa_tui.keys import DETAIL
from xlqa_tui.messages import RunDetailLoaded
from xlqa_tui.widgets.curves import Curves
from xlqa_tui.widgets.distribution import DistributionBands, LatestHistogram
from xlqa_tui.widgets.pair_heatmap import PairHeatmap


class RunDetailScreen(Screen):
    BINDINGS = DETAIL

    def __init__(self, run_id: int):
        super().__init__()
        self.run_id = run_id
        self.log_size = 0

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="detail-top")
        with Horizontal(id="detail-charts"):
            yield Curves("loss (total, CE, KL)", id="loss-plot")
            yield Curves("coefficient w · dev G-XLT F1/100", id="coef-plot")
            yield DistributionBands(id="bands-plot")
        with Horizontal(id="detail-bottom"):
            with Vertical(id="pair-heatmap"):
                yield Static("teacher mAP@k per language pair (x100), latest generation", classes="section-title")
                yield PairHeatmap(id="pairs")
            yield LatestHistogram(id="hist-plot")
            yield Log(id="log-tail", max_lines=200)
        yield Footer()

    def on_mount(self) -> None:
        self.title = f"xlqa · run {self.run_id}"
        if self.app.size.width <= 100:
            self.add_class("compact")
        self.load()
        self.set_interval(2.0, self.load)

    @work(thread=True, exclusive=True, group="detail")
    def load(self) -> None:
        store = self.app.store
        run = store.get_run(self.run_id)
        if run is None:
            return
        data = {
            "run": run,
            "summary": store.summary(self.run_id),
            "loss": {k: store.metric_series(self.run_id, k) for k in ("loss", "loss_ce", "loss_kl")},
            "coef": store.metric_series(self.run_id, "coef"),
            "dev": [(s, v / 100) for s, v in store.metric_series(self.run_id, "dev_gxlt_f1")],
            "hist": store.histograms(self.run_id, "coef"),
            "hist_gen": store.histograms(self.run_id, "coef_generation"),
            "pairs": store.pair_stats(self.run_id, "teacher_coef"),
        }
        log = Path(run["output_dir"]) / "worker.log"
        if log.exists() and log.stat().st_size != self.log_size:
            self.log_size = log.stat().st_size
            data["log"] = log.read_text(errors="replace").splitlines()[-200:]
        self.post_message(RunDetailLoaded(data))

    def on_run_detail_loaded(self, message: RunDetailLoaded) -> None:
        d = message.data
        run = d["run"]
        s = d["summary"]
        speed = s.get("examples_per_s", {}).get("last_value")
        best = s.get("dev_gxlt_f1", {}).get("best_value")
        parts = [f"run {run['id']} · {run['kind']} · [b]{run['status']}[/b] · step {run['step']}/{run['total_steps']}",
                 f"device {run['assigned_devices'] or 'cpu'}", f"{speed:.0f} ex/s" if speed else "",
                 f"best dev G-XLT F1 {best:.2f}" if best is not None else ""]
        err = f"\n[red]{run['error'].strip().splitlines()[-1]}[/] — {run['hint']}" if run["error"] else ""
        self.query_one("#detail-top", Static).update(" · ".join(p for p in parts if p) + err)
        self.query_one("#loss-plot", Curves).show(d["loss"])
        self.query_one("#coef-plot", Curves).show({"w": d["coef"], "dev G-XLT": d["dev"]})
        self.query_one("#bands-plot", DistributionBands).show(d["hist"])
        latest = (d["hist"] or d["hist_gen"] or [None])[-1]
        self.query_one("#hist-plot", LatestHistogram).show(latest)
        if d["pairs"]:
            self.query_one("#pairs", PairHeatmap).show_pairs(d["pairs"])
        if "log" in d:
            log = self.query_one("#log-tail", Log)
            log.clear()
            log.write_lines(d["log"])

    def action_matrix(self) -> None:
        from xlqa_tui.screens.matrix import MatrixScreen
        self.app.push_screen(MatrixScreen(self.run_id))

    def action_cancel_run(self) -> None:
        from engine.jobs.control import cancel_run
        self.notify(cancel_run(self.app.store, self.run_id))

    def action_back(self) -> None:
        self.app.pop_screen()
