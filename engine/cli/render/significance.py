"""Significance tests and summary tables over many runs (engine.analysis.tables results), as rich tables."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from engine.analysis.tables import heatmap_grid
from engine.cli.render.matrices import color
from engine.scoring.summary import VIEWS


def significance_table(result: dict, name_a: str = "A", name_b: str = "B") -> Table:
    table = Table(title=f"{result['settings']['suite']} {result['settings']['metric'].upper()}: {name_b} - {name_a} "
                        f"(95% interval: {result['settings']['resamples']:,} resamples of question ids)", box=None,
                  caption="p: paired sign-flip permutation test; p (W): Wilcoxon signed-rank", pad_edge=False)
    for col in ("", name_a, name_b, "delta", "95% interval", "p", "p (W)", "n"):  # fits 80 columns unwrapped
        table.add_column(col, justify="right" if col else "left", no_wrap=True)
    for view in VIEWS:
        if view.name not in result:
            continue
        r = result[view.name]
        sd = lambda side, r=r: f" ± {r[side + '_sd']:.2f}" if side + "_sd" in r else ""
        lo, hi = r["ci95"]
        style = "green" if lo > 0 else "red" if hi < 0 else ""
        table.add_row(view.label, f"{r['a']:.2f}{sd('a')}", f"{r['b']:.2f}{sd('b')}",
                      f"[{style}]{r['delta']:+.2f}[/]" if style else f"{r['delta']:+.2f}",
                      f"[{lo:+.2f}, {hi:+.2f}]", _p(r["p"]), _p(r["p_wilcoxon"]), f"{r['n']:,}")
    return table


def _p(p: float) -> str:
    return "<0.0001" if p < 1e-4 else f"{p:.4f}"


def print_significance(result: dict, console: Console, name_a: str, name_b: str) -> None:
    console.print(significance_table(result, name_a, name_b))
    pairing = result["pairing"]
    dropped = pairing["only_a"] + pairing["only_b"]
    seeds = result["runs"]["seeds"]
    note = f"paired {pairing['paired']:,} question-cells" + (f" over seeds {seeds}" if seeds and len(seeds) > 1 else "")
    if dropped:
        note += f"; {pairing['only_a']:,} scored by A only and {pairing['only_b']:,} by B only were left out"
    console.print(note)


def print_summary_table(result: dict, console: Console) -> None:
    keys = result["keys"]
    table = Table(title=f"mean±sd over seeds; G-XLT delta vs {', '.join(map(str, result['baseline']))} "
                        "(95% interval over question ids; p: sign-flip)", box=None, padding=(0, 1))
    for k in keys:
        table.add_column(k, no_wrap=True, min_width=len(k))
    for col in ("seeds", "G-XLT", "cross", "XLT", "delta", "95% interval", "p"):
        table.add_column(col, justify="right", no_wrap=True)
    for row in result["rows"]:
        cells = [f"{row[v]['mean']:.2f}±{row[v]['sd']:.2f}" if v in row else "" for v in (x.name for x in VIEWS)]
        vs = row.get("vs_baseline")
        if vs is None:
            extra = ["baseline", "", ""]
        elif "error" in vs:
            extra = ["", vs["error"][:40], ""]
        else:
            g = vs["g_xlt"]
            extra = [f"{g['delta']:+.2f}", f"[{g['ci95'][0]:+.2f},{g['ci95'][1]:+.2f}]", _p(g["p"])]
        table.add_row(*map(str, row["value"]), str(row["seeds"]), *cells, *extra)
    console.print(table)
    if len(keys) == 2:
        console.print(heatmap_table(result))


def heatmap_table(result: dict) -> Table:
    k1, k2 = result["keys"]
    rows, cols, values = heatmap_grid(result)
    lo, hi = (min(values.values()), max(values.values())) if values else (0, 1)
    table = Table(title=f"G-XLT {result['metric'].upper()} (mean over seeds): {k1} x {k2}", box=None)
    table.add_column(f"{k1} \\ {k2}", style="bold")
    for c in cols:
        table.add_column(str(c), justify="right")
    for r in rows:
        table.add_row(str(r), *[f"[{color(values[(r, c)], lo, hi)}]{values[(r, c)]:.2f}[/]" if (r, c) in values else ""
                                for c in cols])
    return table
