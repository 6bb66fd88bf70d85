"""Cancel: set the flag in the store (any host sees it at the next heartbeat) and SIGTERM a local worker."""

from __future__ import annotations

import os
import signal
import socket

from db.store import Store


def cancel_run(store: Store, run_id: int) -> str:
    run = store.request_cancel(run_id)
    if run["status"] == "cancelled":
        return f"run {run_id} cancelled (it had not started)"
    if run["status"] != "running":
        return f"run {run_id} is {run['status']}: nothing to cancel"
    if run["pid"] and run["host"] == socket.gethostname():
        try:
            os.kill(run["pid"], signal.SIGTERM)
        except ProcessLookupError:
            pass
    return f"run {run_id}: stopping at the next step with a checkpoint"


def resume_run(store: Store, run_id: int) -> str:
    """Queue a failed, lost or cancelled run again (training continues from its last checkpoint), with the
    downstream runs its failure had ended; make sure a scheduler runs. ValueError for any other status."""
    from pathlib import Path

    from engine.jobs.launch import ensure_scheduler
    run = store.get_run(run_id)
    if run is None:
        raise ValueError(f"no run {run_id}")
    if run["status"] not in ("failed", "lost", "cancelled"):
        raise ValueError(f"run {run_id} is {run['status']}: only failed, lost or cancelled runs resume")
    store.requeue(run_id, resume=True)
    for later in store.runs_with_status("failed", "cancelled"):
        if later["depends_on"] == run_id:
            store.requeue(later["id"], resume=False)
    ensure_scheduler(store)
    from_ckpt = (Path(run["output_dir"]) / "checkpoint").exists()
    return f"run {run_id} queued again" + (" (from its last checkpoint)" if from_ckpt else " (from the start)")
