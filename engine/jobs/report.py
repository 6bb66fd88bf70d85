"""Tables, diffs, exports and plots of stored runs (the CLI's matrix / compare / export / plot)."""

from __future__ import annotations

import csv
import io
import json

from rich.console import Console
from rich.table import Table

from db.store import Store
from engine.matrix import Matrix, build_matrix, delta
from engine.scoring.summary import format_summary


def _cells(store: Store, run_id: int, suite: str | None, step: int | None = None):
    suites = store.eval_suites(run_id)
    if not suites:
        return None, []
    suite = suite or suites[0]["suite"]
    return suite, store.eval_cells(run_id, suite, step=step, checkpoint=None if step is None else "")


def color(value: float, lo: float, hi: float, signed: bool = False) -> str:
    if signed:
        return "green" if value > 0.5 else "red" if value < -0.5 else "white"
    t = 0.0 if hi <= lo else (value - lo) / (hi - lo)
    return "red" if t < 0.33 else "yellow" if t < 0.66 else "green"


def matrix_table(m: Matrix, title: str, signed: bool = False) -> Table:
    table = Table(title=title, box=None)
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
            row.append("" if v is None else f"[{color(v, lo, hi, signed)}]{v:+.1f}[/]" if signed else
                       "" if v is None else f"[{color(v, lo, hi)}]{v:.1f}[/]")
        rm = m.row_mean(q)
        table.add_row(q, *row, "" if rm is None else fmt.format(rm))
    table.add_row("mean", *[fmt.format(m.col_mean(c)) if m.col_mean(c) is not None else "" for c in m.languages_c], "")
    return table


def print_matrix(store: Store, run_id: int, suite: str | None, metric: str, step: int | None = None,
                 console: Console | None = None) -> bool:
    console = console or Console()
    suite, cells = _cells(store, run_id, suite, step)
    if not cells:
        return False
    m = build_matrix(cells, metric)
    which = cells[0]["checkpoint"]
    console.print(matrix_table(m, f"run {run_id} · {suite} · {metric} · {which} checkpoint @ step {cells[0]['step']}"))
    s = m.summary()
    console.print(format_summary(s))
    return True


def config_diff(a: dict, b: dict, prefix: str = "") -> list[tuple[str, object, object]]:
    out = []
    for key in sorted(set(a) | set(b)):
        va, vb = a.get(key), b.get(key)
        if isinstance(va, dict) and isinstance(vb, dict):
            out += config_diff(va, vb, f"{prefix}{key}.")
        elif va != vb:
            out.append((prefix + key, va, vb))
    return out


def print_compare(store: Store, run_a: int, run_b: int, suite: str | None, console: Console | None = None) -> None:
    """Config diff and the matrix delta B - A of two runs, with the three summary numbers."""
    console = console or Console()
    a, b = store.get_run(run_a), store.get_run(run_b)
    changes = config_diff(a["config"], b["config"])
    if changes:
        diff = Table("key", f"run {run_a}", f"run {run_b}", title="config: only what differs", box=None)
        for key, va, vb in changes:
            diff.add_row(key, str(va), str(vb))
        console.print(diff)
    else:
        console.print(f"configs identical (runs {run_a} and {run_b})")
    suite, ca = _cells(store, run_a, suite)
    _, cb = _cells(store, run_b, suite)
    if ca and cb:
        ma, mb = build_matrix(ca), build_matrix(cb)
        console.print(matrix_table(delta(mb, ma), f"{suite} F1: run {run_b} - run {run_a}", signed=True))
        sa, sb = ma.summary(), mb.summary()
        console.print(f"{'':<20} {'run ' + str(run_a):>8} {'run ' + str(run_b):>8}  {'delta':>7}")
        for k, label in (("gxlt", "G-XLT (all cells)"), ("gxlt_cross", "G-XLT (cross cells)"), ("xlt", "XLT")):
            console.print(f"{label:<20} {sa[k]:8.2f} {sb[k]:8.2f}  {sb[k] - sa[k]:+7.2f}")


def compare_json(store: Store, run_a: int, run_b: int, suite: str | None) -> dict:
    a, b = store.get_run(run_a), store.get_run(run_b)
    suite, ca = _cells(store, run_a, suite)
    _, cb = _cells(store, run_b, suite)
    out = {"a": run_a, "b": run_b, "suite": suite,
           "config_diff": [{"key": k, "a": va, "b": vb} for k, va, vb in config_diff(a["config"], b["config"])]}
    if ca and cb:
        sa, sb = build_matrix(ca).summary(), build_matrix(cb).summary()
        out["summary"] = {view: {"a": sa[k], "b": sb[k], "delta": sb[k] - sa[k]}
                          for view, k in (("g_xlt", "gxlt"), ("g_xlt_cross", "gxlt_cross"), ("xlt", "xlt"))}
    return out


def matrix_json(store: Store, run_id: int, suite: str | None, metric: str, step: int | None = None) -> dict | None:
    suite, cells = _cells(store, run_id, suite, step)
    if not cells:
        return None
    m = build_matrix(cells, metric)
    s = m.summary()
    return {"run": run_id, "suite": suite, "metric": metric, "checkpoint": cells[0]["checkpoint"], "step": cells[0]["step"],
            "cells": [{"lang_q": c["lang_q"], "lang_c": c["lang_c"], "n": c["n"], "exact_match": c["exact_match"],
                       "f1": c["f1"]} for c in cells],
            "summary": {"xlt": s["xlt"], "g_xlt": s["gxlt"], "g_xlt_cross": s["gxlt_cross"]}}


def long_rows(store: Store, run_id: int) -> list[dict]:
    """Metrics and evaluation cells of a run in one long table."""
    rows = [{"run_id": run_id, "kind": "metric", "key": k + (f"[{ctx}]" if ctx else ""), "step": st, "value": v,
             "suite": "", "lang_q": "", "lang_c": ""}
            for k, ctx in _metric_keys(store, run_id) for st, v in store.metric_series(run_id, k, ctx)]
    for s in {x["suite"] for x in store.eval_suites(run_id)}:
        for c in store.eval_cells(run_id, s):
            for key in ("f1", "exact_match"):
                rows.append({"run_id": run_id, "kind": "eval", "key": key, "step": c["step"], "value": c[key],
                             "suite": c["suite"], "lang_q": c["lang_q"], "lang_c": c["lang_c"]})
    return rows


def _metric_keys(store: Store, run_id: int) -> list[tuple[str, str]]:
    return sorted({(m["key"], m["context"]) for m in store.summary(run_id).values()})


def export_parquet(store: Store, run_id: int, path) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq
    rows = long_rows(store, run_id)
    columns = ("run_id", "kind", "key", "step", "value", "suite", "lang_q", "lang_c")
    pq.write_table(pa.table({c: [r[c] for r in rows] for c in columns}), path)
    return len(rows)


def export_run(store: Store, run_id: int, fmt: str) -> str:
    run = store.get_run(run_id)
    metrics = [{"key": k, "step": st, "value": v} for k in store.metric_keys(run_id) for st, v in store.metric_series(run_id, k)]
    cells = [c for s in {x["suite"] for x in store.eval_suites(run_id)} for c in store.eval_cells(run_id, s)]
    if fmt == "json":
        return json.dumps({"run": {k: (str(v) if hasattr(v, "isoformat") else v) for k, v in run.items()},
                           "metrics": metrics, "eval_cells": cells}, indent=1, default=str)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["run_id", "kind", "key", "step", "value", "suite", "lang_q", "lang_c"])
    for m in metrics:
        w.writerow([run_id, "metric", m["key"], m["step"], m["value"], "", "", ""])
    for c in cells:
        for key in ("f1", "exact_match"):
            w.writerow([run_id, "eval", key, c["step"], c[key], c["suite"], c["lang_q"], c["lang_c"]])
    return buf.getvalue()


def plot_run(store: Store, run_id: int, output, suite: str | None = None) -> None:
    """Loss curves, the coefficient w (when the run has one: a CE run has none) and the F1 heatmap."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    coef = store.metric_series(run_id, "coef")
    suite, cells = _cells(store, run_id, suite)
    panels = ["loss"] + (["coef"] if coef else []) + (["matrix"] if cells else [])
    fig, axes = plt.subplots(1, len(panels), figsize=(5.4 * len(panels), 4.5), squeeze=False)
    ax = dict(zip(panels, axes[0]))
    for key in ("loss", "loss_ce", "loss_kl"):
        series = store.metric_series(run_id, key)
        if series:
            ax["loss"].plot(*zip(*series), label=key)
    ax["loss"].set_title("loss")
    ax["loss"].set_xlabel("step")
    if ax["loss"].lines:
        ax["loss"].legend()
    else:
        ax["loss"].text(0.5, 0.5, "no loss logged", ha="center", va="center", transform=ax["loss"].transAxes)
    if coef:
        ax["coef"].plot(*zip(*coef), color="purple")
        ax["coef"].set_title("coefficient w (mAP@k)")
        ax["coef"].set_xlabel("step")
    if cells:
        m = build_matrix(cells)
        grid = np.array([[m.get(q, c) if m.get(q, c) is not None else np.nan for c in m.languages_c] for q in m.languages_q])
        im = ax["matrix"].imshow(grid, cmap="viridis")
        ax["matrix"].set_xticks(range(len(m.languages_c)), m.languages_c)
        ax["matrix"].set_yticks(range(len(m.languages_q)), m.languages_q)
        ax["matrix"].set_xlabel("context")
        ax["matrix"].set_ylabel("question")
        for i in range(grid.shape[0]):
            for j in range(grid.shape[1]):
                if not np.isnan(grid[i, j]):
                    ax["matrix"].text(j, i, f"{grid[i, j]:.0f}", ha="center", va="center", color="white", fontsize=8)
        fig.colorbar(im, ax=ax["matrix"])
        ax["matrix"].set_title(f"{suite} F1")
    fig.tight_layout()
    fig.savefig(output, dpi=110)
    plt.close(fig)
