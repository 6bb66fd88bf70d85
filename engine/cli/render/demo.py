"""The demo on the console: per stage a header, a bar per run on a terminal (plain lines on a pipe) and one
summary line; then the teacher's and the student's matrices. The runs' log lines go to their worker.log."""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import Progress

from engine.cli.render.progress import RUN_COLUMNS, RichProgressSink, print_failure


class DemoConsole:
    def __init__(self, store, console: Console):
        self.store, self.console = store, console
        self.bars: Progress | None = None
        self.sinks: dict[int, RichProgressSink] = {}
        self.t0 = time.monotonic()

    # stages ---------------------------------------------------------------------------------------
    def stage(self, index, total, name, what):
        self.console.print(f"[bold]{index}/{total} {name}[/]: {what}")
        self.t0 = time.monotonic()
        if self.console.is_terminal:
            self.bars = Progress(*RUN_COLUMNS, console=self.console, transient=True)
            self.bars.start()

    def stage_ended(self, name, run_ids, status):
        if self.bars is not None:
            self.bars.stop()
            self.bars = None
        self.console.print(stage_line(self.store, name, run_ids, status, time.monotonic() - self.t0), soft_wrap=True)

    # runs -----------------------------------------------------------------------------------------
    def run_started(self, run):
        if self.bars is None:
            return None
        self.sinks[run["id"]] = RichProgressSink(self.bars, f"run {run['id']} {run['kind']}", print_evals=False)
        return self.sinks[run["id"]]

    def run_ended(self, run, status, error):
        if run["id"] in self.sinks:
            self.sinks.pop(run["id"]).done()
        elif not self.console.is_terminal:  # a pipe: one plain line per run instead of a bar
            self.console.print(f"  run {run['id']} {run['kind']}: {status}")
        if error is not None:
            print_failure(self.console, run, error)


def stage_line(store, name: str, run_ids: list[int], status: str, seconds: float) -> str:
    """'teacher: runs 1-3 done in 14 s; synthetic F1: XLT 25.40  G-XLT 19.64 ...' from the stage's evaluation."""
    from engine.analysis.report import matrix_view
    from engine.scoring.summary import format_summary
    span = f"run {run_ids[0]}" if len(run_ids) == 1 else f"runs {run_ids[0]}-{run_ids[-1]}" if run_ids else "no run"
    line = f"{name}: {span} {status} in {seconds:.0f} s"
    evals = [i for i in run_ids if store.get_run(i)["kind"] == "evaluate"]
    view = matrix_view(store, evals[-1], None, "f1") if evals and status == "done" else None
    if view:
        line += f"; {view['suite']} F1: {format_summary(view['matrix'].summary(), '  ')}"
    return line


def print_demo(store, epochs: int | None = None, background: bool = False, console: Console | None = None) -> int:
    """Run the demo (engine.jobs.demo) and show it; returns the exit code."""
    from engine.analysis.report import matrix_view
    from engine.cli.render.matrices import print_matrix
    from engine.jobs.demo import run_demo
    console = console or Console()
    result = run_demo(store, DemoConsole(store, console), epochs=epochs, background=background)
    if background:
        console.print(f"queued runs {result.queued}; watch them with `xlqa` or `xlqa-run list`")
        return result.status
    if result.status:
        return result.status
    for title, run_id in (("teacher[/] (before distillation)", result.teacher_eval),
                          ("student[/] (after distillation)", result.student_eval)):
        console.print(f"\n[bold]{title}:")
        print_matrix(matrix_view(store, run_id, None, "f1"), console)
    console.print(f"\nruns are in {store.url}\nopen the dashboard: [bold]xlqa[/]   "
                  f"or: xlqa-run compare {result.student_eval} {result.teacher_eval}")
    return 0
