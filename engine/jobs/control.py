"""What the CLI and the dashboard do to runs: cancel, resume, and bring the store up to date first.

Cancel sets the flag in the store (any host sees it at the next heartbeat) and SIGTERMs a local worker.
Resume queues a failed, lost or cancelled run again with every run after it. `reconcile` marks runs whose
worker is gone or silent `lost`, so nothing stays `running` forever because a process died; it starts no
process (viewing a database must not start jobs): `waiting_without_scheduler` tells the caller to say so,
and `schedule` (or launch and resume) starts the scheduler."""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path

from db.states import RESUMABLE
from db.store import Store


def reconcile(store: Store) -> list[int]:
    """Mark the runs whose worker is gone or silent lost. Returns their ids."""
    if store.read_only:
        return []
    from engine.jobs.liveness import reap_stale
    return reap_stale(store)


def waiting_without_scheduler(store: Store) -> int:
    """How many runs are ready to start while no live scheduler would start them."""
    from engine.jobs.liveness import holder_alive
    ready = store.ready_runs()
    return len(ready) if ready and not store.lease_alive(holder_alive=holder_alive) else 0


def schedule(store: Store) -> str:
    from engine.jobs.launch import ensure_scheduler
    reconcile(store)
    pid = ensure_scheduler(store)
    return f"scheduler started (pid {pid})" if pid else "a scheduler is already running"


def cancel_run(store: Store, run_id: int) -> str:
    reconcile(store)
    run = store.request_cancel(run_id)
    if run["status"] == "cancelled":
        return f"run {run_id} cancelled (it had not started)"
    if run["status"] != "running":
        tip = f"; `xlqa-run resume {run_id}` continues it" if run["status"] in RESUMABLE else ""
        return f"run {run_id} is {run['status']}: nothing to cancel{tip}"
    if run["executor"] == "slurm":
        from engine.jobs.executors import cancel_job
        cancel_job(run)  # scancel: Slurm sends SIGTERM to the job, the worker checkpoints and ends cancelled
    elif run["pid"] and run["host"] == socket.gethostname():
        terminate_worker(run)
    return f"run {run_id}: stopping at its next batch (training writes a checkpoint first)"


def terminate_worker(run: dict) -> None:
    """SIGTERM a local worker: its whole process group when it has one (every DDP rank and the launcher,
    so the ranks stop together), else its pid."""
    try:
        if run.get("pgid"):
            os.killpg(run["pgid"], signal.SIGTERM)
        else:
            os.kill(run["pid"], signal.SIGTERM)
    except ProcessLookupError:
        pass


def resume_run(store: Store, run_id: int) -> str:
    """Queue a failed, lost or cancelled run again (training continues from its newest complete checkpoint)
    with every run after it that had ended; make sure a scheduler runs. ValueError for any other status."""
    from engine.jobs.launch import ensure_scheduler
    from engine.train.checkpoint import latest_checkpoint
    reconcile(store)
    run = store.get_run(run_id)
    if run is None:
        raise ValueError(f"no run {run_id}")
    if not store.requeue(run_id, resume=True):
        raise ValueError(f"run {run_id} is {run['status']}: only failed, lost or cancelled runs resume")
    later = [r for r in store.dependents(run_id) if store.requeue(r, resume=True)]
    ensure_scheduler(store)
    ckpt = latest_checkpoint(Path(run["output_dir"]))
    where = f" (from its checkpoint {ckpt.name})" if ckpt else " (from the start)"
    return f"run {run_id} queued again{where}" + (f", with runs {', '.join(map(str, later))} after it" if later else "")


def overview(store: Store, statuses: tuple = (), limit: int = 50) -> tuple[list[dict], int]:
    """What `list` shows: one page of runs, brought up to date first, and how many wait for a scheduler."""
    reconcile(store)
    waiting = 0 if store.read_only else waiting_without_scheduler(store)
    return store.list_runs(statuses=tuple(statuses), limit=limit), waiting
