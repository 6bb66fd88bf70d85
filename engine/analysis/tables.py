"""Comparisons that say whether a difference is real, for the CLI (`compare --significance`, `table`), the
dashboard and the studies: runs resolved to their evaluations, seed groups checked, engine.significance on
the stored per-question scores. Results are plain dicts; the CLI renders them (engine.cli.render)."""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

from db.store import Store
from engine.config import LAUNCH_KEYS
from engine.scoring.summary import VIEWS, macro_mean
from engine.significance import compare, pair

# what may differ inside a seed group: its seed, its name and how it was launched (engine.config.LAUNCH_KEYS)
IGNORED = ("name", "train.seed", *LAUNCH_KEYS)


def parse_runs(spec: str | tuple | list) -> list[int]:
    """'12', '3,6,9', '10-14' (and lists of those) -> run ids."""
    items = [spec] if isinstance(spec, str) else list(spec)
    out = []
    for item in items:
        for part in str(item).split(","):
            part = part.strip()
            if not part:
                continue
            if "-" in part:
                lo, hi = part.split("-", 1)
                out += list(range(int(lo), int(hi) + 1))
            else:
                out.append(int(part))
    if not out:
        raise ValueError(f"no run id in {spec!r}")
    return out


def evaluation_of(store: Store, run_id: int) -> int:
    """The run holding the scores of `run_id`: itself if it has evaluation cells, else the evaluate run that
    depends on it."""
    run = store.get_run(run_id)
    if run is None:
        raise ValueError(f"no run {run_id}; `xlqa-run list` shows the runs")
    for later in store.dependents(run_id) if run["kind"] != "evaluate" else ():
        if store.get_run(later)["kind"] == "evaluate" and store.eval_suites(later):
            return later  # a training run's final evaluation, rather than its dev evaluations
    if store.eval_suites(run_id):
        return run_id
    raise ValueError(f"run {run_id} ({run['kind']}, {run['status']}) has no evaluation yet")


def flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        out.update(flatten(v, f"{prefix}{k}.") if isinstance(v, dict) else {prefix + k: v})
    return out


def check_seed_group(store: Store, ids: list[int]) -> list[int]:
    """Seeds of a group of runs that must differ in train.seed alone (ValueError naming what else differs)."""
    configs = [flatten(store.get_run(i)["config"]) for i in ids]
    for i, cfg in zip(ids[1:], configs[1:]):
        diff = sorted(k for k in set(cfg) | set(configs[0]) if k not in IGNORED and cfg.get(k) != configs[0].get(k))
        if diff:
            raise ValueError(f"runs {ids[0]} and {i} differ in {', '.join(diff[:5])}, not only in train.seed: "
                             "a seed group holds runs of one configuration")
    seeds = [c["train.seed"] for c in configs]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"runs {', '.join(map(str, ids))} repeat a seed ({seeds}): one run per seed")
    return seeds


def significance(store: Store, runs_a: list[int], runs_b: list[int], suite: str | None = None, metric: str = "f1",
                 resamples: int = 10_000, seed: int = 0, per_cell: bool = False) -> dict:
    """B - A for single runs or seed groups (paired seed by seed), in the JSON layout of `compare --json`."""
    eval_a = [evaluation_of(store, r) for r in runs_a]
    eval_b = [evaluation_of(store, r) for r in runs_b]
    seeds_a, seeds_b = check_seed_group(store, eval_a), check_seed_group(store, eval_b)
    if len(eval_a) > 1 or len(eval_b) > 1:  # pair by seed, the seeds both groups have
        common = [s for s in seeds_a if s in seeds_b]
        if not common:
            raise ValueError(f"the groups share no seed (A: {seeds_a}, B: {seeds_b})")
        eval_a = [eval_a[seeds_a.index(s)] for s in common]
        eval_b = [eval_b[seeds_b.index(s)] for s in common]
    else:
        common = [seeds_a[0]] if seeds_a == seeds_b else None
    suite = suite or store.eval_suites(eval_a[0])[0]["suite"]
    groups_a, groups_b, cells_a, cells_b = [], [], [], []
    for ea, eb in zip(eval_a, eval_b):
        for e, groups, cells in ((ea, groups_a, cells_a), (eb, groups_b, cells_b)):
            scored = store.eval_cells(e, suite)
            if not scored:
                raise ValueError(f"run {e} has no cells of suite {suite}")
            rows = store.question_scores(e, suite)
            if not rows:
                raise ValueError(f"run {e} has no per-question scores (its evaluation predates them): "
                                 f"evaluate it again (train.stage = evaluate) to test differences")
            groups.append(rows)
            cells.append(scored)
    result = with_aso_and_power(compare(pair(groups_a, groups_b, metric, cells_a, cells_b), resamples, seed, per_cell))
    result["settings"].update({"suite": suite, "metric": metric})
    result["runs"] = {"a": eval_a, "b": eval_b, "seeds": common}
    return result


def with_aso_and_power(result: dict) -> dict:
    """Each view of a comparison with what it could detect (engine.power, at its own design) and, for seed
    groups, the almost stochastic order of B over A across seeds (engine.aso)."""
    from engine.aso import aso
    from engine.power import ALPHA, POWER, detectable, from_result
    for view in VIEWS:
        r = result.get(view.name)
        if r is None:
            continue
        c = from_result(r)
        seeds = r["seeds"]["components"]["seeds"] if "seeds" in r else 1
        r["power"] = {"detectable": detectable(c, seeds), "alpha": ALPHA, "power": POWER,
                      "basis": "seed-aware" if "seeds" in r else "conditional on these seeds"}
        if "seeds" in r:
            r["aso"] = aso(r["seeds"]["a"], r["seeds"]["b"], seed=result["settings"]["seed"])
    return result


def power_table(source: dict, view: str, seeds: list[int], questions_per_cell: list[int] | None = None,
                cells: int | None = None, difference: float | None = None) -> dict:
    """The detectable difference (engine.power) for each design seeds x questions per cell, from the variance
    components of a stored comparison (source: store, a, b, suite, metric, resamples) or given ones (seed_sd,
    question_se, items)."""
    from engine.power import ALPHA, POWER, design_needed, detectable, from_result, given
    from engine.scoring.summary import BY_NAME
    if "store" in source:
        result = significance(source["store"], source["a"], source["b"], source["suite"], source["metric"],
                              source["resamples"], per_cell=True)
        comps = from_result(result[view])
        n_cells = sum(1 for c in result["cells"] if c["seed_pair"] == 0 and BY_NAME[view].selects(c["lang_q"], c["lang_c"]))
        what = (f"runs {source['a']} vs {source['b']}" + ("" if comps.seed_known else
                                                          ": one seed a side, the seed part unknown (conditional)"))
    else:
        comps = given(source["seed_sd"], source["question_se"], source["items"])
        n_cells, what = None, f"given: seed sd {source['seed_sd']}, question se {source['question_se']} at {source['items']} items"
    if not comps.seed_known:
        seeds = [1]   # the seeds' variation is unknown: only what this pair of runs answers, on other questions
    cells = cells or n_cells or 49
    per_cell = max(1, round(comps.items / cells))
    questions = questions_per_cell or [per_cell]
    grid = [[detectable(comps, s, q * cells) for q in questions] for s in seeds]
    out = {"view": view, "view_label": BY_NAME[view].label, "alpha": ALPHA, "power": POWER, "source": what,
           "components": vars(comps), "cells": cells, "seeds": seeds, "questions_per_cell": questions, "grid": grid}
    if difference is not None:
        out["needed"] = {"difference": difference,
                         "seeds": {q: design_needed(comps, difference, q * cells) for q in questions}}
    return out


# --- tables over many runs --------------------------------------------------------------------------------

def _lookup(config: dict, key: str):
    node = config
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            raise ValueError(f"no config key {key!r} (e.g. distill.temperature, data.ntl)")
        node = node[part]
    return node


def group_runs(store: Store, run_ids: list[int], keys: list[str]) -> dict[tuple, list[int]]:
    """Evaluation runs grouped by the values of `keys` (one row of `table` per group)."""
    groups: dict[tuple, list[int]] = defaultdict(list)
    for run_id in dict.fromkeys(run_ids):
        try:
            e = evaluation_of(store, run_id)
        except ValueError:
            continue  # a sample or unfinished run among a range of ids
        if e in sum(groups.values(), []):
            continue
        cfg = store.get_run(e)["config"]
        groups[tuple(_lookup(cfg, k) for k in keys)].append(e)
    if not groups:
        raise ValueError("none of these runs has an evaluation")
    return dict(sorted(groups.items(), key=lambda kv: tuple(str(v) if not isinstance(v, (int, float)) else v
                                                            for v in kv[0])))


def summary_table(store: Store, run_ids: list[int], keys: list[str], suite: str | None = None, metric: str = "f1",
                  baseline=None, resamples: int = 10_000, seed: int = 0) -> dict:
    """One row per value of `keys`: mean ± sd over seeds of each view, and B - baseline with its interval and
    p-value (paired by seed over the seeds both rows have)."""
    groups = group_runs(store, run_ids, keys)
    base_key = next(iter(groups)) if baseline is None else _match(groups, baseline)
    rows, used = [], []
    for value, ids in groups.items():
        check_seed_group(store, ids)
        first_suite = suite or store.eval_suites(ids[0])[0]["suite"]
        used.append(first_suite)
        per_view = {}
        for view in VIEWS:
            vals = [macro_mean(store.eval_cells(i, first_suite), view, metric) for i in ids]
            vals = [v for v in vals if not math.isnan(v)]
            if vals:
                per_view[view.name] = {"mean": sum(vals) / len(vals),
                                  "sd": (sum((v - sum(vals) / len(vals)) ** 2 for v in vals) / (len(vals) - 1)) ** 0.5
                                  if len(vals) > 1 else 0.0}
        row = {"value": list(value), "runs": ids, "seeds": len(ids), **per_view}
        if value != base_key:
            try:
                row["vs_baseline"] = significance(store, groups[base_key], ids, first_suite, metric, resamples, seed)
            except ValueError as e:
                row["vs_baseline"] = {"error": str(e)}
        rows.append(row)
    tested = [r["vs_baseline"]["g_xlt"] for r in rows if "g_xlt" in r.get("vs_baseline", {})]
    if tested:  # every row against the baseline: Holm over the rows
        from engine.significance import holm
        for g, p in zip(tested, holm(np.array([g["p"] for g in tested]))):
            g["p_holm"] = float(p)
    return {"keys": keys, "baseline": list(base_key), "suite": suite, "metric": metric, "rows": rows,
            "settings": {"resamples": resamples, "seed": seed, "correction": "Holm over the rows vs the baseline",
                         "suites": sorted(set(used))}}


def _match(groups: dict, baseline) -> tuple:
    wanted = [str(v).strip() for v in (baseline if isinstance(baseline, (list, tuple)) else str(baseline).split(","))]
    for key in groups:
        if [str(v) for v in key] == wanted:
            return key
    raise ValueError(f"no row with {', '.join(wanted)}; rows: {'; '.join(', '.join(map(str, k)) for k in groups)}")


def heatmap_grid(result: dict):
    """(row values, column values, {(row, column): mean G-XLT}) of a two-key summary table."""
    rows = sorted({r["value"][0] for r in result["rows"]}, key=_sort_key)
    cols = sorted({r["value"][1] for r in result["rows"]}, key=_sort_key)
    values = {(r["value"][0], r["value"][1]): r["g_xlt"]["mean"] for r in result["rows"] if "g_xlt" in r}
    return rows, cols, values


def _sort_key(v):
    return (0, v, "") if isinstance(v, (int, float)) else (1, 0, str(v))


def heatmap_png(result: dict, path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    k1, k2 = result["keys"]
    rows, cols, values = heatmap_grid(result)
    grid = np.array([[values.get((r, c), np.nan) for c in cols] for r in rows])
    fig, ax = plt.subplots(figsize=(1.2 * len(cols) + 3, 0.6 * len(rows) + 2))
    im = ax.imshow(grid, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(cols)), [str(c) for c in cols])
    ax.set_yticks(range(len(rows)), [str(r) for r in rows])
    ax.set_xlabel(k2)
    ax.set_ylabel(k1)
    for i in range(len(rows)):
        for j in range(len(cols)):
            if not np.isnan(grid[i, j]):
                ax.text(j, i, f"{grid[i, j]:.1f}", ha="center", va="center", color="white", fontsize=9)
    fig.colorbar(im, ax=ax, label=f"G-XLT {result['metric'].upper()}")
    ax.set_title(f"{result.get('suite') or ''} G-XLT (mean over seeds)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
