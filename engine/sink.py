"""Where metrics leave the trainer: the one sink protocol. engine.jobs.store_sink adapts it to the store."""

from __future__ import annotations

import logging
from typing import Protocol

import numpy as np


class MetricSink(Protocol):
    def log_metrics(self, step: int, values: dict[str, float], context: str = "") -> None: ...
    def log_histogram(self, key: str, step: int, values: np.ndarray, generation: int | None = None) -> None: ...
    def log_pair_stats(self, generation: int, key: str, rows: list[tuple[str, str, float, int]]) -> None: ...
    def log_eval(self, step: int, suite: str, cells: list[dict]) -> None: ...
    def log_artifact(self, kind: str, path: str, step: int, size: int | None = None) -> None: ...
    def log_cost(self, row: dict) -> None: ...   # one stage's totals of this attempt (engine.cost)
    def progress(self, step: int, total: int, epoch: int) -> None: ...
    def should_stop(self) -> bool: ...
    def flush(self) -> None: ...


class NullSink:
    def log_metrics(self, step, values, context=""): pass
    def log_histogram(self, key, step, values, generation=None): pass
    def log_pair_stats(self, generation, key, rows): pass
    def log_eval(self, step, suite, cells): pass
    def log_artifact(self, kind, path, step, size=None): pass
    def log_cost(self, row): pass
    def progress(self, step, total, epoch): pass
    def should_stop(self): return False
    def flush(self): pass


class FanoutSink:
    """Sends every call to each sink (e.g. the store and a progress bar)."""

    def __init__(self, *sinks):
        self.sinks = [s for s in sinks if s is not None]

    def log_metrics(self, step, values, context=""):
        for s in self.sinks:
            s.log_metrics(step, values, context)

    def log_histogram(self, key, step, values, generation=None):
        for s in self.sinks:
            s.log_histogram(key, step, values, generation)

    def log_pair_stats(self, generation, key, rows):
        for s in self.sinks:
            s.log_pair_stats(generation, key, rows)

    def log_eval(self, step, suite, cells):
        for s in self.sinks:
            s.log_eval(step, suite, cells)

    def log_artifact(self, kind, path, step, size=None):
        for s in self.sinks:
            s.log_artifact(kind, path, step, size)

    def log_cost(self, row):
        for s in self.sinks:
            s.log_cost(row)

    def progress(self, step, total, epoch):
        for s in self.sinks:
            s.progress(step, total, epoch)

    def should_stop(self):
        return any(s.should_stop() for s in self.sinks)

    def flush(self):
        for s in self.sinks:
            s.flush()

    def flush_with_retry(self):
        for s in self.sinks:
            getattr(s, "flush_with_retry", s.flush)()


class LogSink(NullSink):
    """Evaluations and artifacts as lines of the worker log (training progress lines come from the loop)."""

    def __init__(self, name: str = "xlqa.run"):
        self.log = logging.getLogger(name)

    def log_eval(self, step, suite, cells):
        from engine.scoring.summary import format_summary, summarize
        self.log.info("%s at step %d, %d cells, %d questions: %s", suite, step, len(cells),
                      sum(int(c["n"]) for c in cells), format_summary(summarize(cells)))

    def log_artifact(self, kind, path, step, size=None):
        self.log.info("%s at step %d: %s", kind, step, path)
