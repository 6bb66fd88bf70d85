"""Sweeps as one command: the product of a grid of config values (and seeds) launched as one experiment per
point, each run's config recording its sweep and grid point. Launching the same sweep again skips the points
done or under way and resumes the ones that failed, so a sweep can be completed in parts."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

from db.states import LIVE, PROGRESS_ORDER, RESUMABLE
from db.store import Store

if TYPE_CHECKING:
    from engine.config import ExperimentConfig

def parse_grid(items: list[str] | tuple[str, ...]) -> dict[str, list]:
    """['data.ntl=0,1,2', 'distill.temperature=2,4'] -> {'data.ntl': [0, 1, 2], 'distill.temperature': [2, 4]}."""
    from engine.config import ConfigError, _parse_scalar
    grid = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"--grid {item!r}: expected key=v1,v2,... e.g. data.ntl=0,1,2")
        key, values = item.split("=", 1)
        parsed = [_parse_scalar(v.strip()) for v in values.split(",") if v.strip()]
        if not parsed:
            raise ConfigError(f"--grid {item!r}: no value")
        grid[key.strip()] = parsed
    return grid


def parse_seeds(spec: str | None, base_seed: int) -> list[int] | None:
    """'3' -> three seeds from the config's (base, base+1, base+2); '3,7,42' -> those; None -> the config's."""
    if not spec:
        return None
    if "," in spec:
        return [int(s) for s in spec.split(",") if s.strip()]
    return [base_seed + i for i in range(int(spec))]


def grid_points(grid: dict[str, list], seeds: list[int] | None) -> list[dict]:
    keys = list(grid) + (["train.seed"] if seeds else [])
    values = list(grid.values()) + ([seeds] if seeds else [])
    return [dict(zip(keys, combo)) for combo in itertools.product(*values)]


def label(point: dict) -> str:
    return " ".join(f"{k}={v}" for k, v in point.items())


def point_configs(base: ExperimentConfig, grid: dict[str, list], seeds: list[int] | None, name: str) -> list[ExperimentConfig]:
    """One validated config per point (a bad value is an error naming the point; nothing is launched)."""
    from engine.config import ConfigError
    configs = []
    for point in grid_points(grid, seeds):
        try:
            configs.append(base.replace(**point, name=f"{name} {label(point)}", sweep=name, grid_point=label(point)))
        except ConfigError as e:
            raise ConfigError(f"grid point {label(point)}: {e}") from e
    return configs


def sweep_runs(store: Store, name: str) -> dict[str, list[dict]]:
    """grid point -> the runs already made for it."""
    out: dict[str, list[dict]] = {}
    for run in store.all_runs(sweep=name):
        out.setdefault((run["config"] or {}).get("grid_point", ""), []).append(run)
    return out


def point_statuses(store: Store, configs: list[ExperimentConfig]) -> list[tuple[str, list[str]]]:
    """(grid point, the statuses of its runs) per point: what a dry run of the sweep reports."""
    existing = sweep_runs(store, configs[0].sweep) if configs else {}
    return [(cfg.grid_point, sorted({r["status"] for r in existing.get(cfg.grid_point, [])})) for cfg in configs]


def launch_sweep(store: Store, configs: list[ExperimentConfig], devices: str = "",
                 executor: str = "local") -> list[tuple[str, str, list[int]]]:
    """Queue the points not launched yet; returns (grid point, what happened, run ids) per point."""
    from engine.jobs.control import resume_run
    from engine.jobs.launch import plan
    existing = sweep_runs(store, configs[0].sweep) if configs else {}
    report = []
    for cfg in configs:
        runs = sorted(existing.get(cfg.grid_point, []), key=lambda r: r["id"])
        if not runs:
            report.append((cfg.grid_point, "queued", plan(store, cfg, devices, executor=executor)))
            continue
        statuses = {r["status"] for r in runs}
        ids = [r["id"] for r in runs]
        if statuses == {"done"}:
            report.append((cfg.grid_point, "done already", ids))
        elif statuses & set(LIVE):
            report.append((cfg.grid_point, "under way", ids))
        else:
            first = next(r for r in runs if r["status"] in RESUMABLE)
            resume_run(store, first["id"])
            report.append((cfg.grid_point, "resumed", ids))
    return report


def sweep_progress(store: Store) -> dict[str, dict[str, int]]:
    """sweep -> counts of its runs by status, and the total."""
    return {name: {**{s: c.get(s, 0) for s in PROGRESS_ORDER}, "total": sum(c.values())}
            for name, c in sorted(store.sweep_counts().items())}
