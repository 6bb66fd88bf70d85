"""Turn a config into job rows (sample -> teacher|distill -> evaluate) and make sure a scheduler runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from db.store import Store
from engine.config import ExperimentConfig, config_hash
from engine.jobs.provenance import git_commit, versions
from engine.naming import slug


def runs_root(cfg: ExperimentConfig) -> Path:
    """Where an experiment's run folders go, absolute: a config built in code may still hold a relative
    output_dir, which means the launching process's working directory (files and --set resolve it earlier)."""
    if cfg.output_dir:
        return Path(cfg.output_dir).expanduser().resolve()
    base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local/share"))
    return (base / "xlqa" / "runs").expanduser().resolve()


def claim_folder(wanted: Path) -> Path:
    """Create an experiment's folder, never reusing one: experiment ids start at 1 again in every new database
    (or a database deleted and made anew), and a worker finding another run's checkpoint there would resume it.
    mkdir without exist_ok claims the name atomically; a taken one gets a suffix: exp0001-x-2, -3, ..."""
    wanted.parent.mkdir(parents=True, exist_ok=True)
    for n in range(1, 10_000):
        folder = wanted if n == 1 else wanted.with_name(f"{wanted.name}-{n}")
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            continue
    raise RuntimeError(f"{wanted}: 10,000 experiment folders of this name exist already; set output_dir elsewhere")


def plan(store: Store, cfg: ExperimentConfig, devices: str = "", after: int | None = None,
         executor: str = "local") -> list[int]:
    """Write the three runs of an experiment (one evaluate run for train.stage = evaluate); returns their ids in
    order. `after`: a run that must finish first. `executor`: where their workers run (engine.jobs.executors)."""
    from engine.jobs.executors import check_launch
    check_launch(executor, store.url, cfg)
    full = cfg.to_dict()
    exp_id = store.create_experiment(cfg.name, config=full, config_hash=config_hash(full))
    root = claim_folder(runs_root(cfg) / f"exp{exp_id:04d}-{slug(cfg.name)[:40] or 'experiment'}")
    # the config is stored once, with the experiment; a run keeps what it overrides (engine.config.run_overrides,
    # the reads lay it over the experiment's): every run of a plan computes the experiment's config as it is
    config, commit, vers = {}, git_commit(), versions()
    common = dict(seed=cfg.train.seed, git_commit=commit, versions=vers, executor=executor, sweep=cfg.sweep)
    if cfg.train.stage == "evaluate":
        return [store.create_run(exp_id, "evaluate", config, depends_on=after, devices=devices,
                                 output_dir=str(root / "evaluate"), **common)]
    sample = store.create_run(exp_id, "sample", config, output_dir=str(root / "sample"), devices="cpu",
                              depends_on=after, **common)
    train = store.create_run(exp_id, cfg.train.stage, config, depends_on=sample, devices=devices,
                             output_dir=str(root / cfg.train.stage), **common)
    runs = [sample, train]
    if cfg.eval.suites or cfg.eval.xlt_suites:
        runs.append(store.create_run(exp_id, "evaluate", config, depends_on=train, devices=devices,
                                     output_dir=str(root / "evaluate"), **common))
    return runs


def ensure_scheduler(store: Store, log_dir: Path | None = None) -> int | None:
    """Start a detached scheduler unless a live one holds the lease. Returns the new pid, if any."""
    from engine.jobs.liveness import holder_alive
    if store.lease_alive(holder_alive=holder_alive):
        return None
    if log_dir is None:
        log_dir = Path(store.url.split(":///", 1)[-1]).parent if store.url.startswith("sqlite") else Path.home()
    log_dir.mkdir(parents=True, exist_ok=True)
    with open(log_dir / "scheduler.log", "ab") as log:
        # a new session: closing the terminal or the SSH connection sends no SIGHUP to it
        proc = subprocess.Popen([sys.executable, "-m", "engine.jobs.scheduler", "--db", store.url],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
                                env={**os.environ, "PYTHONPATH": pythonpath()})
    return proc.pid


def pythonpath() -> str:
    """PYTHONPATH for a child process that must import this checkout's engine and db, from any working
    directory (a worker runs in its run folder)."""
    root = str(Path(__file__).resolve().parents[2])
    existing = os.environ.get("PYTHONPATH", "")
    return root + (os.pathsep + existing if existing else "")
