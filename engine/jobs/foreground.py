"""`xlqa-run run`: the same jobs as `launch`, executed in this process with rich progress bars."""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from db.store import Store
from engine.config import ExperimentConfig
from engine.jobs.launch import plan
from engine.jobs.worker import execute
from engine.sink import NullSink


class RichProgressSink(NullSink):
    def __init__(self, bar: Progress, label: str):
        self.bar, self.label = bar, label
        self.task = bar.add_task(label, total=None)
        self.loss = None

    def progress(self, step, total, epoch):
        desc = f"{self.label} epoch {epoch}" + (f" loss {self.loss:.3f}" if self.loss is not None else "")
        self.bar.update(self.task, completed=step, total=total, description=desc)

    def log_metrics(self, step, values, context=""):
        if "loss" in values:
            self.loss = values["loss"]

    def log_eval(self, step, suite, cells):
        from engine.scoring.summary import format_summary, summarize
        self.bar.console.print(f"  {suite} @ {step}: {format_summary(summarize(cells), '  ')}")


def run_foreground(store: Store, cfg: ExperimentConfig, after: int | None = None, console: Console | None = None) -> str:
    """Returns the status of the last run executed ('done' when all three finished)."""
    console = console or Console()
    ids = plan(store, cfg, after=after)
    status = "done"
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn())
    plain = None
    if not console.is_terminal:  # a pipe or a file: the progress lines as plain text, no bars
        plain = logging.StreamHandler(console.file)
        plain.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%Y-%m-%d %H:%M:%S"))
        logging.getLogger("xlqa").addHandler(plain)
    with Progress(*columns, console=console, transient=False, disable=plain is not None) as progress:
        for run_id in ids:
            run = store.get_run(run_id)
            attempt = store.claim(run_id, host=socket.gethostname())
            if attempt is None or not store.bind_worker(run_id, attempt, os.getpid(), socket.gethostname()):
                continue
            sink = RichProgressSink(progress, f"run {run_id} {run['kind']}")
            # the progress lines also go to the run's worker.log, so `xlqa-run logs` shows foreground runs too
            Path(run["output_dir"]).mkdir(parents=True, exist_ok=True)
            handler = logging.FileHandler(Path(run["output_dir"]) / "worker.log", encoding="utf-8")
            handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%Y-%m-%d %H:%M:%S"))
            xlqa_log = logging.getLogger("xlqa")
            xlqa_log.setLevel(logging.INFO)
            xlqa_log.addHandler(handler)
            try:
                status = execute(store, run_id, attempt, extra_sink=sink)
            except Exception as e:  # recorded in the run row by execute
                console.print(f"[red]run {run_id} failed:[/] {e}\n[dim]{store.get_run(run_id)['hint']}[/]")
                status = "failed"
            finally:
                xlqa_log.removeHandler(handler)
                handler.close()
            progress.update(sink.task, completed=progress.tasks[sink.task].total or 1, total=progress.tasks[sink.task].total or 1)
            if status != "done":
                for later in ids[ids.index(run_id) + 1:]:
                    store.finish(later, "cancelled", error=f"run {run_id} it depends on is {status}")
                break
    if plain is not None:
        logging.getLogger("xlqa").removeHandler(plain)
    return status

