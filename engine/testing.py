"""What the tests, benchmarks and studies share and the product does not use: the tiny offline experiment they
start from, a sink that keeps everything in lists (and one that stops at a step), and a checkpoint written in
one call."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.config import ExperimentConfig, from_dict
from engine.sink import NullSink


def tiny_config(stage: str = "teacher", **sections) -> ExperimentConfig:
    """A tiny BERT on the synthetic set (English only for the teacher; en + de sampled for distillation),
    scored on synthetic en/de cells. `sections` update the TOML tables, e.g. train={"epochs": 1}."""
    base = {
        "name": f"test-{stage}",
        "data": {"train": "synthetic", "languages": ["en"] if stage == "teacher" else ["en", "de"],
                 "sample": stage != "teacher", "ntl": 1, "synthetic_paragraphs": 60},
        "model": {"name": "tiny-bert:32:1", "vocab_size": 1500},
        "features": {"max_length": 96, "doc_stride": 32, "max_query_length": 24},
        "train": {"stage": stage, "epochs": 2, "learning_rate": 1e-3, "batch_size": 16, "grad_accum": 1,
                  "log_every": 2, "warmup_ratio": 0.0},
        "eval": {"dev": "synthetic", "suites": ["synthetic"], "languages": ["en", "de"], "max_per_cell": 20},
    }
    for key, values in sections.items():
        base.setdefault(key, {}).update(values)
    return from_dict(base)


class MemorySink(NullSink):
    """Keeps everything in lists."""

    def __init__(self):
        self.metrics, self.histograms, self.pairs, self.evals, self.artifacts = [], [], [], [], []
        self.costs: dict[str, dict] = {}   # stage -> its latest totals

    def log_metrics(self, step, values, context=""): self.metrics.append((step, dict(values)))
    def log_histogram(self, key, step, values, generation=None): self.histograms.append((key, step, np.asarray(values), generation))
    def log_pair_stats(self, generation, key, rows): self.pairs.append((generation, key, list(rows)))
    def log_eval(self, step, suite, cells): self.evals.append((step, suite, list(cells)))
    def log_artifact(self, kind, path, step, size=None): self.artifacts.append((kind, path, step))
    def log_cost(self, row): self.costs[row["stage"]] = dict(row)

    def series(self, key):
        return [(s, v[key]) for s, v in self.metrics if key in v]


class StopAtStep(MemorySink):
    """A memory sink that asks training to stop once it has reported `step` (a cancel at a known step)."""

    def __init__(self, step: int):
        super().__init__()
        self.stop_step, self.step = step, 0

    def progress(self, step, total, epoch):
        self.step = step

    def should_stop(self):
        return self.step >= self.stop_step


def save_checkpoint(output_dir: Path, model, tokenizer, optimizer, scheduler, counters: dict, teacher=None,
                    window: dict | None = None, keep: int = 1) -> Path:
    """Write and publish a checkpoint in one call (training writes, then publishes when the step is done)."""
    from engine.train.checkpoint import publish, write_partial
    return publish(write_partial(output_dir, model, tokenizer, optimizer, scheduler, counters, teacher, window), keep)
