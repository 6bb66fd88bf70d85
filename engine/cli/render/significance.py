"""Significance tests and summary tables over many runs (engine.analysis.tables results), as rich tables that
read at 80 columns: a table that would not fit leaves out columns (and says which) rather than cut a number."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from engine.analysis.tables import heatmap_grid
from engine.cli.render.matrices import color
from engine.scoring.summary import VIEWS
from engine.significance import CONDITIONAL, SEED_AWARE

WILCOXON_NOTE = "p (W): Wilcoxon pooled over cells as the paper's script: overconfident, for comparison only"


def fitted(columns: list[str], rows: list[dict[str, str]], width: int, drop: tuple[str, ...], left: int = 1,
           **table_args):
    """A rich table of the columns that fit `width` unwrapped, leaving out columns in the order `drop` (never
    cutting a number); the first `left` columns are left-aligned. Returns (table, the columns left out)."""
    columns, left_out = list(columns), []
    need = lambda cols: sum(max([len(c)] + [len(_plain(r.get(c, ""))) for r in rows]) + 2 for c in cols)
    for col in drop:
        if need(columns) <= width:
            break
        columns.remove(col)
        left_out.append(col)
    table = Table(box=None, pad_edge=False, **table_args)
    for i, col in enumerate(columns):
        table.add_column(col, justify="left" if i < left else "right", no_wrap=True, min_width=len(col))
    for r in rows:
        table.add_row(*[r.get(c, "") for c in columns])
    return table, left_out


def _plain(text: str) -> str:
    from rich.text import Text
    return Text.from_markup(text).plain


def significance_table(result: dict, name_a: str = "A", name_b: str = "B", width: int = 80):
    columns = ["", name_a, name_b, "delta", "95% interval", "p", "p (W)", "n"]
    rows = []
    for view in VIEWS:
        if view.name not in result:
            continue
        r = result[view.name]
        sd = lambda side, r=r: f"±{r[side + '_sd']:.2f}" if side + "_sd" in r else ""
        lo, hi = r["ci95"]
        rows.append(dict(zip(columns, (view.short, f"{r['a']:.2f}{sd('a')}", f"{r['b']:.2f}{sd('b')}",
                                       _delta(r["delta"], lo, hi), _interval(lo, hi), _p(r["p"]),
                                       _p(r["p_wilcoxon"]), f"{r['n']:,}"))))
    return fitted(columns, rows, width, ("n", "p (W)"),
                  title=f"{result['settings']['suite']} {result['settings']['metric'].upper()}: {name_b} - {name_a} "
                        f"(95% interval: {result['settings']['resamples']:,} resamples of question ids, "
                        "conditional on these seeds)",
                  caption=f"p: paired sign-flip permutation test; {WILCOXON_NOTE}")


def seed_table(result: dict, width: int = 80):
    """Seed groups: the seed-aware interval and p, the two-level bootstrap, almost stochastic order."""
    columns = ["", "per seed", "delta", "95% interval", "p", "two-level", "ASO eps_min"]
    rows = []
    for view in VIEWS:
        r = result.get(view.name)
        if not r or "seeds" not in r:
            continue
        s = r["seeds"]
        lo, hi = s["ci95"]
        rows.append(dict(zip(columns, (
            view.short, " ".join(f"{d:+.2f}" for d in s["deltas"]), _delta(s["delta"], lo, hi), _interval(lo, hi),
            _p(s["p"]), _interval(*s["ci95_hierarchical"]) if "ci95_hierarchical" in s else "",
            f"{r['aso']['eps_min']:.2f}" if "aso" in r else ""))))
    return fitted(columns, rows, width, ("two-level", "per seed"),
                  title="Seed-aware (other seeds and other questions): random-effects t over the per-seed differences",
                  caption="two-level: bootstrap of seeds and questions (too narrow with few seeds); "
                          "ASO eps_min < 0.5: B almost stochastically better over seeds")


def _delta(delta: float, lo: float, hi: float) -> str:
    style = "green" if lo > 0 else "red" if hi < 0 else ""
    return f"[{style}]{delta:+.2f}[/]" if style else f"{delta:+.2f}"


def _interval(lo: float, hi: float) -> str:
    return f"[{lo:+.2f}, {hi:+.2f}]"


def _p(p: float) -> str:
    return "<0.0001" if p < 1e-4 else f"{p:.4f}"


def _print_fitted(console: Console, fitted_table) -> None:
    table, left_out = fitted_table
    console.print(table)
    if left_out:
        console.print(f"left out at {console.width} columns: {', '.join(left_out)} (a wider terminal or --json shows them)")


def print_significance(result: dict, console: Console, name_a: str, name_b: str, power: bool = False) -> None:
    _print_fitted(console, significance_table(result, name_a, name_b, console.width))
    pairing = result["pairing"]
    dropped = pairing["only_a"] + pairing["only_b"]
    seeds = result["runs"]["seeds"]
    note = f"paired {pairing['paired']:,} question-cells" + (f" over seeds {seeds}" if seeds and len(seeds) > 1 else "")
    if dropped:
        note += f"; {pairing['only_a']:,} scored by A only and {pairing['only_b']:,} by B only were left out"
    console.print(note)
    grouped = any("seeds" in result.get(v.name, {}) for v in VIEWS)
    console.print(f"interval above: {CONDITIONAL}")
    if grouped:
        _print_fitted(console, seed_table(result, console.width))
        console.print(f"seed-aware: {SEED_AWARE.split(': ', 1)[1]}")
        if len(seeds or ()) == 2:
            console.print("with 2 seeds the seed-aware interval is wide (t with 1 degree of freedom): that is the finding")
    else:
        console.print("one seed a side: nothing is known of the seed's variation (train seed groups for that)")
    if power:
        for view in VIEWS:
            r = result.get(view.name)
            if r and "power" in r:
                pw = r["power"]
                console.print(f"{view.short}: this comparison could detect ±{pw['detectable']:.2f} "
                              f"({100 * pw['power']:.0f}% power, alpha {pw['alpha']}, {pw['basis']})")


def print_power(result: dict, console: Console) -> None:
    """A power_table of engine.analysis.tables: the detectable difference per design."""
    console.print(f"{result['view_label']}: the smallest difference detected with {100 * result['power']:.0f}% power "
                  f"at alpha {result['alpha']} ({result['source']}; {result['cells']} cells)")
    table = Table(box=None, pad_edge=False)
    table.add_column("seeds", justify="right")
    for n in result["questions_per_cell"]:
        table.add_column(f"{n}/cell", justify="right", no_wrap=True)
    for seeds, row in zip(result["seeds"], result["grid"]):
        table.add_row(str(seeds), *[f"±{v:.2f}" for v in row])
    console.print(table)
    if "needed" in result:
        n = result["needed"]
        console.print(f"detecting {n['difference']:+.2f} needs " + "; ".join(
            f"{v if v else 'more than 1000'} seeds at {q}/cell" for q, v in n["seeds"].items()))


SUMMARY_COLUMNS = ("seeds", "G-XLT", "cross", "XLT", "delta", "95% interval", "p")
DROP_ORDER = ("cross", "XLT", "seeds", "95% interval")   # left out first when the terminal is narrow


def print_summary_table(result: dict, console: Console) -> None:
    keys = result["keys"]
    rows = [{**dict(zip(keys, map(str, row["value"]))), **_summary_cells(row)} for row in result["rows"]]
    table, dropped = fitted([*keys, *SUMMARY_COLUMNS], rows, console.width, DROP_ORDER, len(keys), padding=(0, 1),
                            title=f"{'mean±sd over seeds' if any(r['seeds'] > 1 for r in result['rows']) else 'one seed a row'}; "
                                  f"G-XLT delta vs {', '.join(map(str, result['baseline']))} "
                                  "(95% interval over question ids, conditional on the seeds; p: sign-flip)")
    console.print(table)
    if dropped:
        console.print(f"left out at {console.width} columns: {', '.join(dropped)} (a wider terminal, or --json / "
                      "--format markdown, shows them)")
    for row in result["rows"]:
        if "error" in row.get("vs_baseline", {}):
            console.print(f"{', '.join(map(str, row['value']))}: {row['vs_baseline']['error']}")
    if any(row["seeds"] == 1 for row in result["rows"]):
        console.print("one seed: no spread over seeds (train more seeds for the ± and a seed-aware test)")
    if len(keys) == 2:
        console.print(heatmap_table(result))


def _summary_cells(row: dict) -> dict[str, str]:
    out = {"seeds": str(row["seeds"])}
    for view, col in zip(VIEWS, ("G-XLT", "cross", "XLT")):
        out[col] = "" if view.name not in row else (f"{row[view.name]['mean']:.2f}" + (
            f"±{row[view.name]['sd']:.2f}" if row["seeds"] > 1 else ""))   # one seed: no spread (said below)
    vs = row.get("vs_baseline")
    if vs is None:
        out.update({"delta": "baseline", "95% interval": "", "p": ""})
    elif "error" in vs:
        out.update({"delta": "", "95% interval": "see below", "p": ""})
    else:
        g = vs["g_xlt"]
        out.update({"delta": f"{g['delta']:+.2f}", "95% interval": f"[{g['ci95'][0]:+.2f},{g['ci95'][1]:+.2f}]",
                    "p": _p(g["p"])})
    return out


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
