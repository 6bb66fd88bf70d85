"""A titled line chart: the legend is a line of coloured names above the plot (plotext draws legends inside
the plot, where they hide the curves), an empty chart says so, and curves can be smoothed (EMA)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static
from textual_plotext import PlotextPlot

COLORS = ["cyan", "magenta", "yellow", "green", "red", "blue", "white"]


def ema(values: list[float], alpha: float) -> list[float]:
    """Exponential moving average with weight alpha on the past (0: the raw values)."""
    out, last = [], None
    for v in values:
        last = v if last is None or alpha <= 0 else alpha * last + (1 - alpha) * v
        out.append(last)
    return out


class Chart(Vertical):
    DEFAULT_CSS = """
    Chart { height: 1fr; min-height: 6; }
    Chart > .chart-title { height: 1; padding: 0 1; }
    Chart > .chart-empty { height: 1fr; content-align: center middle; color: $text-muted; }
    Chart > PlotextPlot { height: 1fr; }
    """

    def __init__(self, title: str, empty: str = "nothing logged yet", **kw):
        super().__init__(**kw)
        self.title, self.empty = title, empty

    def compose(self) -> ComposeResult:
        yield Static(self.title, classes="chart-title")
        yield Static(self.empty, classes="chart-empty")
        yield PlotextPlot()

    def on_mount(self) -> None:
        self.query_one(PlotextPlot).display = False

    def show(self, series: dict[str, list[tuple[float, float]]], title: str | None = None, smoothing: float = 0.0,
             xlabel: str = "step", ylim: tuple[float, float] | None = None) -> None:
        series = {k: v for k, v in series.items() if v}
        header = Text(title or self.title, style="bold")
        for i, name in enumerate(series):
            header.append(f"  ■ {name}", style=COLORS[i % len(COLORS)])
        if smoothing:
            header.append(f"  (EMA {smoothing})", style="dim")
        self.query_one(".chart-title", Static).update(header)
        plot = self.query_one(PlotextPlot)
        self.query_one(".chart-empty", Static).display = not series
        plot.display = bool(series)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        for i, points in enumerate(series.values()):
            xs, ys = zip(*points)
            plt.plot(list(xs), ema(list(ys), smoothing), marker="braille", color=COLORS[i % len(COLORS)])
        plt.xlabel(xlabel)
        if ylim:
            plt.ylim(*ylim)
        plot.refresh()
