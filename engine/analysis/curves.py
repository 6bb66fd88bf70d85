"""The numbers behind the paper's figures, as plain data for the terminal views (engine.cli.render.analyses) and
the PNGs (engine.analysis.plots): the coefficient curve as the paper draws it, and a `table` drawn as lines."""

from __future__ import annotations

import math

import numpy as np

from db.store import Store
from engine.scoring.summary import G_XLT, XLT

CURVE_WINDOW = 51   # the paper's figure: a 51-point centred moving average


def moving_band(values, window: int = CURVE_WINDOW) -> dict[str, list[float]]:
    """Centred moving average and rolling (population) standard deviation over `window` points, the window
    cut at both ends (fewer points there); lower/upper: mean ∓ std clipped to [0, 1], as a coefficient is."""
    import pandas as pd
    series = pd.Series(np.asarray(values, dtype=np.float64))
    rolling = series.rolling(window, center=True, min_periods=1)
    mean, std = rolling.mean(), rolling.std(ddof=0)
    return {"mean": mean.tolist(), "std": std.tolist(),
            "lower": (mean - std).clip(0.0, 1.0).tolist(), "upper": (mean + std).clip(0.0, 1.0).tolist()}


def coefficient_curve(store: Store, run_id: int, key: str = "coef", window: int = CURVE_WINDOW) -> dict:
    """A run's stored coefficient series (the mean of each logging window: per step with train.log_every = 1)
    with its moving band, and the epoch boundaries: the steps at which a new generation's teacher pass ran."""
    series = store.metric_series(run_id, key)
    if not series:
        raise ValueError(f"run {run_id} has no {key!r} metric rows (a CE run has no coefficient)")
    steps, values = [s for s, _ in series], [v for _, v in series]
    boundaries = sorted({h["step"] for h in store.histograms(run_id, "coef_generation")
                         if h["generation"] is not None and h["generation"] > 0})
    run = store.get_run(run_id)
    return {"run": run_id, "key": key, "window": window, "steps": steps, "values": values,
            **moving_band(values, window), "epoch_steps": boundaries,
            "coefficient": (run["config"].get("distill") or {}).get("coefficient", "")}


def interval95(mean: float, sd: float, n: int) -> tuple[float, float]:
    """The 95% t-interval of a mean over n seeds from their sd ((mean, mean) for one seed)."""
    if n < 2:
        return mean, mean
    from scipy.stats import t
    half = float(t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
    return mean - half, mean + half


def table_lines(result: dict) -> dict:
    """A `table` result (engine.analysis.tables.summary_table) as lines: x = the first key's values, one line
    per value of the second key (a method; a single line with one key), for G-XLT and XLT; each point the
    mean over seeds with its 95% interval."""
    from engine.analysis.tables import _sort_key
    lines: dict[str, dict[str, dict]] = {}
    for row in sorted(result["rows"], key=lambda r: _sort_key(r["value"][0])):
        method = "" if len(row["value"]) == 1 else str(row["value"][1])
        for view in (G_XLT, XLT):
            if view.name not in row:
                continue
            mean, sd = row[view.name]["mean"], row[view.name]["sd"]
            lo, hi = interval95(mean, sd, row["seeds"])
            line = lines.setdefault(view.name, {}).setdefault(method, {"x": [], "mean": [], "lo": [], "hi": [], "seeds": []})
            for k, v in (("x", row["value"][0]), ("mean", mean), ("lo", lo), ("hi", hi), ("seeds", row["seeds"])):
                line[k].append(v)
    return {"keys": result["keys"], "metric": result["metric"], "lines": lines}
