"""`xlqa-run run` and the demo: the same jobs as `launch`, executed in this process one after another.

How they look on a console is the caller's business: a view gets each run as it starts (and may return a sink
for its progress) and as it ends. Every run's progress lines also go to its `worker.log`, as a background
worker's do, so `xlqa-run logs` reads foreground runs too."""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path
from typing import Protocol

from db.store import Store
from engine.config import ExperimentConfig
from engine.jobs.launch import plan
from engine.jobs.worker import execute, log_formatter
from engine.sink import MetricSink


class ForegroundView(Protocol):
    def run_started(self, run: dict) -> MetricSink | None: ...
    def run_ended(self, run: dict, status: str, error: Exception | None) -> None: ...


class QuietView:
    def run_started(self, run): return None
    def run_ended(self, run, status, error): pass


def run_foreground(store: Store, cfg: ExperimentConfig, after: int | None = None,
                   view: ForegroundView | None = None) -> str:
    """Returns the status of the last run executed ('done' when all of them finished)."""
    view = view or QuietView()
    ids = plan(store, cfg, after=after)
    status = "done"
    for run_id in ids:
        ran = execute_here(store, run_id, view)
        if ran is None:
            continue
        status = ran
        if status != "done":
            for later in ids[ids.index(run_id) + 1:]:
                store.finish(later, "cancelled", error=f"run {run_id} it depends on is {status}")
            break
    return status


def execute_here(store: Store, run_id: int, view: ForegroundView | None = None) -> str | None:
    """One queued run, claimed and executed in this process, its progress lines in its worker.log as a
    background worker's are. Returns its status (None: another executor had it)."""
    view = view or QuietView()
    run = store.get_run(run_id)
    attempt = store.claim(run_id, host=socket.gethostname())
    if attempt is None or not store.bind_worker(run_id, attempt, os.getpid(), socket.gethostname()):
        return None
    sink = view.run_started(run)
    Path(run["output_dir"]).mkdir(parents=True, exist_ok=True)
    xlqa_log = logging.getLogger("xlqa")
    xlqa_log.setLevel(logging.INFO)
    handler = logging.FileHandler(Path(run["output_dir"]) / "worker.log", encoding="utf-8")
    handler.setFormatter(log_formatter())
    xlqa_log.addHandler(handler)
    error = None
    try:
        status = execute(store, run_id, attempt, extra_sink=sink)
    except Exception as e:  # recorded in the run row by execute
        status, error = "failed", e
    finally:
        xlqa_log.removeHandler(handler)
        handler.close()
    view.run_ended(store.get_run(run_id), status, error)
    return status
