"""A question x context score matrix with colored cells, row/column means and a summary line."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from engine.matrix import Matrix


def cell_style(value: float, lo: float, hi: float, signed: bool) -> str:
    if signed:  # delta matrix: clear gains green, clear losses red
        return "bold green" if value >= 1.0 else "green" if value > 0 else "bold red" if value <= -1.0 else "red"
    t = 0.0 if hi <= lo else (value - lo) / (hi - lo)
    return "white on dark_red" if t < 0.25 else "black on dark_orange" if t < 0.5 else "black on yellow3" if t < 0.75 else "black on green3"


class MatrixTable(DataTable):
    def show(self, m: Matrix, signed: bool = False, marked: set | frozenset = frozenset()) -> None:
        """marked: (q, c) cells to flag with * (engine.significance.significant_cells: corrected for the cells)."""
        self.clear(columns=True)
        self.add_column("q\\c", key="q")
        for c in m.languages_c:
            self.add_column(c, key=c)
        self.add_column("mean", key="mean")
        vals = list(m.values.values()) or [0.0]
        lo, hi = min(vals), max(vals)
        for q in m.languages_q:
            cells = [Text(q, style="bold")]
            for c in m.languages_c:
                v = m.get(q, c)
                text = "" if v is None else (f"{v:+5.1f}" if signed else f"{v:5.1f}") + ("*" if (q, c) in marked else "")
                cells.append(Text(text, style="" if v is None else cell_style(v, lo, hi, signed), justify="right"))
            rm = m.row_mean(q)
            cells.append(Text("" if rm is None else (f"{rm:+5.1f}" if signed else f"{rm:5.1f}"), style="bold", justify="right"))
            self.add_row(*cells, key=q)
        fmt = "{:+5.1f}" if signed else "{:5.1f}"
        means = [Text("mean", style="bold")] + [Text(fmt.format(m.col_mean(c)) if m.col_mean(c) is not None else "",
                                                     style="bold", justify="right") for c in m.languages_c] + [Text("")]
        self.add_row(*means, key="__mean__")
