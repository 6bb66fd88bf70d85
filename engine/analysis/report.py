"""Matrices, config diffs, exports and plots of stored runs, as data (the CLI's matrix / compare / export / plot,
the dashboard, the demo); the CLI renders them (engine.cli.render)."""

from __future__ import annotations

import csv
import io
import json

from db.store import ANY_CHECKPOINT, PREFERRED_CHECKPOINT, Store
from engine.matrix import build_matrix, delta
from engine.scoring.summary import G_XLT, G_XLT_CROSS, VIEWS, XLT


def _cells(store: Store, run_id: int, suite: str | None, step: int | None = None):
    suites = store.eval_suites(run_id)
    if not suites:
        return None, []
    suite = suite or suites[0]["suite"]
    return suite, store.eval_cells(run_id, suite, step=step, checkpoint=PREFERRED_CHECKPOINT if step is None else ANY_CHECKPOINT)


def config_diff(a: dict, b: dict, prefix: str = "") -> list[tuple[str, object, object]]:
    out = []
    for key in sorted(set(a) | set(b)):
        va, vb = a.get(key), b.get(key)
        if isinstance(va, dict) and isinstance(vb, dict):
            out += config_diff(va, vb, f"{prefix}{key}.")
        elif va != vb:
            out.append((prefix + key, va, vb))
    return out


def matrix_view(store: Store, run_id: int, suite: str | None, metric: str = "f1",
                step: int | None = None) -> dict | None:
    """The matrix of a run's evaluation: {matrix, suite, metric, checkpoint, step}, or None without cells."""
    suite, cells = _cells(store, run_id, suite, step)
    if not cells:
        return None
    return {"matrix": build_matrix(cells, metric), "suite": suite, "metric": metric,
            "checkpoint": cells[0]["checkpoint"], "step": cells[0]["step"], "run": run_id}


def compare_view(store: Store, run_a: int, run_b: int, suite: str | None) -> dict:
    """Config diff and, when both have cells, the matrix delta B - A with both summaries."""
    a, b = store.get_run(run_a), store.get_run(run_b)
    suite, ca = _cells(store, run_a, suite)
    _, cb = _cells(store, run_b, suite)
    out = {"a": run_a, "b": run_b, "suite": suite, "changes": config_diff(a["config"], b["config"])}
    if ca and cb:
        ma, mb = build_matrix(ca), build_matrix(cb)
        out.update(delta=delta(mb, ma), summary_a=ma.summary(), summary_b=mb.summary())
    return out


def compare_json(store: Store, run_a: int, run_b: int, suite: str | None) -> dict:
    a, b = store.get_run(run_a), store.get_run(run_b)
    suite, ca = _cells(store, run_a, suite)
    _, cb = _cells(store, run_b, suite)
    out = {"a": run_a, "b": run_b, "suite": suite,
           "config_diff": [{"key": k, "a": va, "b": vb} for k, va, vb in config_diff(a["config"], b["config"])]}
    if ca and cb:
        sa, sb = build_matrix(ca).summary(), build_matrix(cb).summary()
        out["summary"] = {v.name: {"a": sa[v.key], "b": sb[v.key], "delta": sb[v.key] - sa[v.key]} for v in VIEWS}
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
            "summary": {v.name: s[v.key] for v in (XLT, G_XLT, G_XLT_CROSS)}}


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


# the long format's columns and Parquet types (docs/database.md): fixed, so a run without rows keeps them
LONG_COLUMNS = (("run_id", "int64"), ("kind", "string"), ("key", "string"), ("step", "int64"), ("value", "float64"),
                ("suite", "string"), ("lang_q", "string"), ("lang_c", "string"))


def export_parquet(store: Store, run_id: int, path) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq
    rows = long_rows(store, run_id)
    schema = pa.schema([(name, getattr(pa, kind)()) for name, kind in LONG_COLUMNS])
    pq.write_table(pa.table({c: [r[c] for r in rows] for c, _ in LONG_COLUMNS}, schema=schema), path)
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
    from engine.loss_modes import coefficient_label
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
        config = (store.get_run(run_id) or {}).get("config") or {}
        ax["coef"].set_title(f"coefficient w ({coefficient_label(config.get('distill', {}).get('coefficient'))})")
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
