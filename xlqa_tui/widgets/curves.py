"""Line charts of stored metric series (textual-plotext)."""

from __future__ import annotations

from textual_plotext import PlotextPlot


class Curves(PlotextPlot):
    def __init__(self, title: str, **kw):
        super().__init__(**kw)
        self.title = title

    def show(self, series: dict[str, list[tuple[int, float]]]) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(self.title)
        for label, points in series.items():
            if points:
                xs, ys = zip(*points)
                plt.plot(list(xs), list(ys), label=label, marker="braille")
        self.refresh()
