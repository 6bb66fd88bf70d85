"""A run's question x context matrix and the matrix delta of two runs, as rich tables."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from engine.matrix import Matrix
from engine.scoring.summary import VIEWS, format_summary


def color(value: float, lo: float, hi: float, signed: bool = False) -> str:
    if signed:
        return "green" if value > 0.5 else "red" if value < -0.5 else "white"
    t = 0.0 if hi <= lo else (value - lo) / (hi - lo)
    return "red" if t < 0.33 else "yellow" if t < 0.66 else "green"


def matrix_table(m: Matrix, title: str, signed: bool = False, marked: set | frozenset = frozenset(),
                 caption: str | None = None) -> Table:
    """marked: (q, c) cells flagged with * (engine.significance.significant_cells, corrected for the cells)."""
    table = Table(title=title, box=None, caption=caption)
    table.add_column("q \\ c", style="bold")
    for c in m.languages_c:
        table.add_column(c, justify="right")
    table.add_column("mean", justify="right", style="bold")
    vals = list(m.values.values()) or [0.0]
    lo, hi = min(vals), max(vals)
    fmt = "{:+.1f}" if signed else "{:.1f}"  # a delta's means keep their sign
    for q in m.languages_q:
        row = []
        for c in m.languages_c:
            v = m.get(q, c)
            mark = "*" if (q, c) in marked else ""
            row.append("" if v is None else f"[{color(v, lo, hi, signed)}]{v:+.1f}{mark}[/]" if signed else
                       "" if v is None else f"[{color(v, lo, hi)}]{v:.1f}[/]")
        rm = m.row_mean(q)
        table.add_row(q, *row, "" if rm is None else fmt.format(rm))
    table.add_row("mean", *[fmt.format(m.col_mean(c)) if m.col_mean(c) is not None else "" for c in m.languages_c], "")
    return table


def print_matrix(view: dict, console: Console | None = None) -> None:
    """A matrix_view of engine.analysis.report, with its three summary numbers below."""
    console = console or Console()
    m = view["matrix"]
    console.print(matrix_table(m, f"run {view['run']} · {view['suite']} · {view['metric']} · {view['checkpoint']} "
                                  f"checkpoint @ step {view['step']}"))
    console.print(format_summary(m.summary()))


def print_compare(view: dict, console: Console | None = None, significance: dict | None = None) -> None:
    """A compare_view: config diff and the matrix delta B - A of two runs, with the three summary numbers; with
    a per-cell significance result, the cells that differ marked (corrected for the number of cells)."""
    console = console or Console()
    run_a, run_b = view["a"], view["b"]
    if view["changes"]:
        diff = Table("key", f"run {run_a}", f"run {run_b}", title="config: only what differs", box=None)
        for key, va, vb in view["changes"]:
            diff.add_row(key, str(va), str(vb))
        console.print(diff)
    else:
        console.print(f"configs identical (runs {run_a} and {run_b})")
    if "delta" in view:
        marked, caption = frozenset(), None
        if significance and "cells" in significance:
            from engine.significance import cell_mark_note, significant_cells
            marked, caption = significant_cells(significance), cell_mark_note(len(significance["cells"]))
        console.print(matrix_table(view["delta"], f"{view['suite']} F1: run {run_b} - run {run_a}", signed=True,
                                   marked=marked, caption=caption))
        sa, sb = view["summary_a"], view["summary_b"]
        console.print(f"{'':<20} {'run ' + str(run_a):>8} {'run ' + str(run_b):>8}  {'delta':>7}")
        for v in VIEWS:
            console.print(f"{v.label:<20} {sa[v.key]:8.2f} {sb[v.key]:8.2f}  {sb[v.key] - sa[v.key]:+7.2f}")
