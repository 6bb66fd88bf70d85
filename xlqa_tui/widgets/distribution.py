"""The per-example coefficient's distribution (mAP@k or the run's distill.coefficient) over time: percentile bands (p5-p95, p25-p75, median) per logging
window, like TensorBoard's distributions, and one window's histogram (linear or log counts)."""

from __future__ import annotations

import math

from textual_plotext import PlotextPlot

from xlqa_tui.widgets.chart import Chart

BANDS = (("p5", "p5"), ("p25", "p25"), ("p50", "median"), ("p75", "p75"), ("p95", "p95"))


class DistributionBands(Chart):
    def __init__(self, **kw):
        super().__init__("per-example mAP@k percentiles", empty="no coefficient logged (a CE run has none)", **kw)

    def show_histograms(self, histograms: list[dict], coefficient: str = "mAP@k") -> None:
        steps = [h["step"] for h in histograms]
        series = {label: list(zip(steps, [h["percentiles"].get(key, 0.0) for h in histograms])) for key, label in BANDS}
        self.show(series if histograms else {}, f"per-example {coefficient} percentiles", ylim=(0, 1))


class LatestHistogram(Chart):
    def __init__(self, **kw):
        super().__init__("mAP@k histogram", empty="no coefficient logged (a CE run has none)", **kw)

    def show_histogram(self, histogram: dict | None, log: bool = False, coefficient: str = "mAP@k") -> None:
        plot = self.query_one(PlotextPlot)
        self.query_one(".chart-empty").display = histogram is None
        plot.display = histogram is not None
        if histogram is None:
            return
        gen = histogram.get("generation")
        title = (f"{coefficient} histogram, step {histogram['step']}" + (f", generation {gen}" if gen is not None else "")
                 + (" · log counts (l)" if log else " · counts (l: log)"))
        self.query_one(".chart-title").update(title)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        edges = histogram["bin_edges"]
        centers = [(a + b) / 2 for a, b in zip(edges, edges[1:])]
        counts = [math.log10(c + 1) for c in histogram["counts"]] if log else histogram["counts"]
        plt.bar(centers, counts, width=0.8 / max(1, len(centers)))
        ticks = [edges[0], edges[len(edges) // 2], edges[-1]]
        plt.xticks(ticks, [f"{t:.2f}" for t in ticks])
        plt.ylabel("log10(count + 1)" if log else "count")
        plot.refresh()
