"""Progress on the console: download bars, and the views of engine.jobs.foreground (bars on a terminal,
plain lines on a pipe)."""

from __future__ import annotations

import contextlib
import logging

from rich.console import Console
from rich.progress import (BarColumn, DownloadColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                           TimeRemainingColumn, TransferSpeedColumn)

from engine.sink import NullSink

RUN_COLUMNS = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TimeRemainingColumn())


@contextlib.contextmanager
def download_bars():
    """Yields progress_for(name) -> callback(done, total), one bar per file."""
    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn()) as bar:
        def progress_for(name):
            task = bar.add_task(name, total=None)
            return lambda done, total: bar.update(task, completed=done, total=total)
        yield progress_for


class RichProgressSink(NullSink):
    def __init__(self, bar: Progress, label: str, print_evals: bool = True):
        self.bar, self.label, self.print_evals = bar, label, print_evals
        self.task = bar.add_task(label, total=None)
        self.loss = None

    def progress(self, step, total, epoch):
        desc = f"{self.label} epoch {epoch}" + (f" loss {self.loss:.3f}" if self.loss is not None else "")
        self.bar.update(self.task, completed=step, total=total, description=desc)

    def log_metrics(self, step, values, context=""):
        if "loss" in values:
            self.loss = values["loss"]

    def log_eval(self, step, suite, cells):
        if self.print_evals:
            from engine.scoring.summary import format_summary, summarize
            self.bar.console.print(f"  {suite} @ {step}: {format_summary(summarize(cells), '  ')}")

    def done(self):
        total = self.bar.tasks[self.task].total or 1
        self.bar.update(self.task, completed=total, total=total)


def print_failure(console: Console, run: dict, error) -> None:
    console.print(f"[red]run {run['id']} failed:[/] {error}\n[dim]{run['hint']}[/]")


class RunBars:
    """A bar per run on a terminal (`xlqa-run run`); evaluations print above the bars."""

    def __init__(self, progress: Progress, print_evals: bool = True):
        self.progress, self.print_evals, self.sinks = progress, print_evals, {}

    def run_started(self, run):
        self.sinks[run["id"]] = RichProgressSink(self.progress, f"run {run['id']} {run['kind']}", self.print_evals)
        return self.sinks[run["id"]]

    def run_ended(self, run, status, error):
        self.sinks[run["id"]].done()
        if error is not None:
            print_failure(self.progress.console, run, error)


class PlainLines:
    """On a pipe or in a file: the worker's log lines as plain text (`xlqa-run run`), no bars."""

    def __init__(self, console: Console):
        from engine.jobs.worker import log_formatter
        self.console = console
        self.handler = logging.StreamHandler(console.file)
        self.handler.setFormatter(log_formatter())

    def __enter__(self):
        logging.getLogger("xlqa").addHandler(self.handler)
        return self

    def __exit__(self, *exc):
        logging.getLogger("xlqa").removeHandler(self.handler)

    def run_started(self, run):
        return None

    def run_ended(self, run, status, error):
        if error is not None:
            print_failure(self.console, run, error)


@contextlib.contextmanager
def foreground_view(console: Console):
    """Bars on a terminal, the log lines on a pipe."""
    if console.is_terminal:
        with Progress(*RUN_COLUMNS, console=console, transient=False) as progress:
            yield RunBars(progress)
    else:
        with PlainLines(console) as view:
            yield view
