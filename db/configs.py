"""A run's full config, rebuilt when read: an experiment stores its config once (with its hash), and each of its
runs only what it overrides, as dotted keys (e.g. {"model.init_from": ".../teacher/best"}). db cannot import
engine, so this is the few lines of engine.config.rebuild_config that need no config classes."""

from __future__ import annotations

import copy

from sqlalchemy import select

from db.tables import EXPERIMENT


def full_config(experiment_config: dict | None, run_config: dict | None) -> dict | None:
    """The experiment's config with the run's overrides laid over. A run of an experiment without a config (made
    before migration 0007, or by a caller that gave none) holds its full config, and reads as it is."""
    if experiment_config is None:
        return run_config
    merged = copy.deepcopy(experiment_config)   # the caller's experiment dict stays as it was
    for key, value in (run_config or {}).items():
        *parents, last = key.split(".")
        node = merged
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value   # whole, not merged: a table override replaces the table
    return merged


def with_full_configs(conn, runs: list[dict]) -> list[dict]:
    """Inside a connection or a session: each run dict's `config` made full, with one query for all their
    experiments."""
    ids = {r["experiment_id"] for r in runs}
    configs = dict(conn.execute(select(EXPERIMENT.c.id, EXPERIMENT.c.config).where(EXPERIMENT.c.id.in_(ids))).all()) if ids else {}
    for r in runs:
        r["config"] = full_config(configs.get(r["experiment_id"]), r["config"])
    return runs
