"""The per-example coefficient distribution over time: percentile bands (p5-p95, p25-p75, median) per
logging window, like TensorBoard's distributions, and the latest window's histogram."""

from __future__ import annotations

from textual_plotext import PlotextPlot


class DistributionBands(PlotextPlot):
    def show(self, histograms: list[dict]) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title("per-example mAP@k: p5/p25/p50/p75/p95")
        steps = [h["step"] for h in histograms]
        for key, label in (("p5", "p5"), ("p25", "p25"), ("p50", "median"), ("p75", "p75"), ("p95", "p95")):
            ys = [h["percentiles"].get(key, 0.0) for h in histograms]
            if steps:
                plt.plot(steps, ys, label=label, marker="braille")
        plt.ylim(0, 1)
        self.refresh()


class LatestHistogram(PlotextPlot):
    def show(self, histogram: dict | None) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        if histogram:
            edges = histogram["bin_edges"]
            centers = [(a + b) / 2 for a, b in zip(edges, edges[1:])]
            plt.bar(centers, histogram["counts"], width=0.8 / max(1, len(centers)))
            ticks = [edges[0], edges[len(edges) // 2], edges[-1]]
            plt.xticks(ticks, [f"{t:.2f}" for t in ticks])
            gen = histogram.get("generation")
            plt.title(f"mAP@k histogram, step {histogram['step']}" + (f" (generation {gen})" if gen is not None else ""))
        self.refresh()
