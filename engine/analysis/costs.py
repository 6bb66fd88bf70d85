"""What runs cost, for `show`, `list --json` and `table`: a run's stages summed over its attempts, an
evaluation's whole chain (its training and sample runs), and G-XLT gained over the teacher per device-hour.
The store measures (engine.cost, run_cost, v_runs); this reads."""

from __future__ import annotations

import math
from pathlib import Path

from db.store import Store
from engine.cost import STAGES
from engine.scoring.summary import G_XLT, macro_mean


def stage_totals(rows: list[dict]) -> list[dict]:
    """run_cost rows (one per attempt and stage) -> one per stage in pipeline order: seconds and device-seconds
    summed over attempts, peaks the largest, features the largest, steps summed."""
    out: dict[str, dict] = {}
    for r in rows:
        t = out.setdefault(r["stage"], {"stage": r["stage"], "seconds": 0.0, "device_seconds": 0.0, "attempts": 0,
                                        "peak_device_gb": None, "peak_host_gb": 0.0, "features": None, "steps": None,
                                        "device": r["device"]})
        t["seconds"] += r["seconds"]
        t["device_seconds"] += r["device_seconds"]
        t["attempts"] += 1
        t["peak_host_gb"] = max(t["peak_host_gb"], r["peak_host_gb"] or 0.0)
        for key, combine in (("peak_device_gb", max), ("features", max), ("steps", lambda a, b: a + b)):
            if r[key] is not None:
                t[key] = r[key] if t[key] is None else combine(t[key], r[key])
    return sorted(out.values(), key=lambda t: STAGES.index(t["stage"]) if t["stage"] in STAGES else len(STAGES))


def chain(store: Store, run_id: int) -> list[dict]:
    """The run and the runs it depends on (evaluate <- train <- sample), nearest first."""
    runs, seen = [], set()
    run = store.get_run(run_id)
    while run is not None and run["id"] not in seen:
        seen.add(run["id"])
        runs.append(run)
        run = store.get_run(run["depends_on"]) if run["depends_on"] else None
    return runs


def teacher_run(store: Store, runs: list[dict]) -> int | None:
    """The training run whose checkpoint a chain's model.init_from names (RUNS/exp/teacher/checkpoint), if stored."""
    for r in runs:
        init = (r["config"].get("model") or {}).get("init_from") or ""
        if init:
            found = store.runs_by_output_dir([Path(init).parent, Path(init)])
            if found:
                return next(iter(found.values()))
    return None


def _mean(values):
    values = [v for v in values if v is not None and not math.isnan(v)]
    return sum(values) / len(values) if values else None


def table_costs(store: Store, result: dict, metric: str = "f1") -> None:
    """Adds `cost` to every row of an engine.analysis.tables.summary_table result: mean over its seeds of the
    chain's device-hours and wall hours, the teacher's G-XLT (the run model.init_from names, scored on the
    row's suite), the row's G-XLT gain over it, and that gain per device-hour."""
    from engine.analysis.tables import evaluation_of
    teacher_scores: dict[tuple[int, str], float] = {}
    for row in result["rows"]:
        device_h, wall_h, teachers = [], [], []
        for run_id in row["runs"]:
            runs = chain(store, run_id)
            totals = store.cost_totals(r["id"] for r in runs)
            device = [totals[r["id"]]["device_s"] for r in runs if totals.get(r["id"], {}).get("device_s") is not None]
            wall = [totals[r["id"]]["wall_s"] for r in runs if totals.get(r["id"], {}).get("wall_s") is not None]
            device_h.append(sum(device) / 3600 if device else None)
            wall_h.append(sum(wall) / 3600 if wall else None)
            teacher = teacher_run(store, runs)
            suite = result.get("suite") or store.eval_suites(run_id)[0]["suite"]
            if teacher is not None:
                if (teacher, suite) not in teacher_scores:
                    try:
                        cells = store.eval_cells(evaluation_of(store, teacher), suite)
                    except ValueError:
                        cells = []
                    teacher_scores[(teacher, suite)] = macro_mean(cells, G_XLT, metric) if cells else float("nan")
                teachers.append(teacher_scores[(teacher, suite)])
        cost = {"device_hours": _mean(device_h), "wall_hours": _mean(wall_h), "teacher_g_xlt": _mean(teachers)}
        gxlt = row.get(G_XLT.name, {}).get("mean")
        cost["gain"] = gxlt - cost["teacher_g_xlt"] if gxlt is not None and cost["teacher_g_xlt"] is not None else None
        cost["gain_per_device_hour"] = (cost["gain"] / cost["device_hours"]
                                        if cost["gain"] is not None and cost["device_hours"] else None)
        row["cost"] = cost
