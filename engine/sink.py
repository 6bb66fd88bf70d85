"""Where metrics leave the trainer. The database store implements the same interface (db.sink)."""

from __future__ import annotations

from typing import Protocol

import numpy as np


class MetricSink(Protocol):
    def log_metrics(self, step: int, values: dict[str, float]) -> None: ...
    def log_histogram(self, key: str, step: int, values: np.ndarray, generation: int | None = None) -> None: ...
    def log_pair_stats(self, generation: int, key: str, rows: list[tuple[str, str, float, int]]) -> None: ...
    def log_eval(self, step: int, suite: str, cells: list[dict]) -> None: ...
    def log_artifact(self, kind: str, path: str, step: int) -> None: ...
    def progress(self, step: int, total: int, epoch: int) -> None: ...
    def should_stop(self) -> bool: ...
    def flush(self) -> None: ...


class NullSink:
    def log_metrics(self, step, values): pass
    def log_histogram(self, key, step, values, generation=None): pass
    def log_pair_stats(self, generation, key, rows): pass
    def log_eval(self, step, suite, cells): pass
    def log_artifact(self, kind, path, step): pass
    def progress(self, step, total, epoch): pass
    def should_stop(self): return False
    def flush(self): pass


class MemorySink(NullSink):
    """Keeps everything in lists (tests, notebooks)."""

    def __init__(self):
        self.metrics, self.histograms, self.pairs, self.evals, self.artifacts = [], [], [], [], []

    def log_metrics(self, step, values): self.metrics.append((step, dict(values)))
    def log_histogram(self, key, step, values, generation=None): self.histograms.append((key, step, np.asarray(values), generation))
    def log_pair_stats(self, generation, key, rows): self.pairs.append((generation, key, list(rows)))
    def log_eval(self, step, suite, cells): self.evals.append((step, suite, list(cells)))
    def log_artifact(self, kind, path, step): self.artifacts.append((kind, path, step))

    def series(self, key):
        return [(s, v[key]) for s, v in self.metrics if key in v]


class FanoutSink(NullSink):
    def __init__(self, *sinks):
        self.sinks = [s for s in sinks if s is not None]

    def __getattribute__(self, name):
        if name in ("sinks", "__class__", "__dict__") or name.startswith("__"):
            return object.__getattribute__(self, name)
        sinks = object.__getattribute__(self, "sinks")
        if name == "should_stop":
            return lambda: any(s.should_stop() for s in sinks)
        return lambda *a, **kw: [getattr(s, name)(*a, **kw) for s in sinks] and None
