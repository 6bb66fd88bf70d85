"""The adapter between the engine's MetricSink (engine.sink) and the store, writing off the hot path: calls append to in-memory buffers;
a background thread flushes them in one transaction every `interval` seconds, heartbeats the run and
reads its cancel flag.

A failed write keeps its batch and the next flush retries it (nothing is dropped); a flush is fenced by
the run's attempt, so a worker whose run was taken over (marked lost, resumed elsewhere) writes nothing
more and is stopped."""

from __future__ import annotations

import os
import sys
import threading
import time

import numpy as np

from db.tables import utcnow
from db.store import RunTakenOver, Store
from engine import cancel as cancellation

PERCENTILES = (5, 25, 50, 75, 95)
KINDS = ("metrics", "histograms", "pairs", "evals", "artifacts", "questions", "alerts", "costs")


def histogram_row(key: str, step: int, values, generation=None, bins: int = 20) -> dict:
    values = np.asarray(values, dtype=np.float64)
    counts, edges = np.histogram(values, bins=bins, range=(0.0, 1.0) if key.startswith("coef") else None)
    pct = dict(zip((f"p{p}" for p in PERCENTILES), np.percentile(values, PERCENTILES).tolist())) if len(values) else {}
    pct["mean"] = float(values.mean()) if len(values) else 0.0
    return {"key": key, "step": step, "generation": generation, "bin_edges": edges.tolist(), "counts": counts.tolist(),
            "percentiles": pct}


def _exit_taken_over(error: RunTakenOver) -> None:
    print(f"xlqa: {error}; this worker stops without writing anything more", file=sys.stderr, flush=True)
    os._exit(75)  # at once, from any thread: no checkpoint, no row, no status from a worker that lost its run


class StoreSink:
    """An engine.sink.MetricSink over one run of the store."""

    def __init__(self, store: Store, run_id: int, interval: float = 1.0, attempt: int | None = None,
                 on_taken_over=_exit_taken_over):
        self.store, self.run_id, self.interval, self.attempt = store, run_id, interval, attempt
        self.on_taken_over = on_taken_over
        self._lock = threading.Lock()         # guards the buffers
        self._flush_lock = threading.Lock()   # one flush at a time, so a retried batch keeps its place
        self._buf = self._empty()
        self._progress = (None, None)
        self._stop_requested = False
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="xlqa-store-sink", daemon=True)
        self._thread.start()

    @staticmethod
    def _empty():
        return {kind: [] for kind in KINDS}

    # MetricSink -----------------------------------------------------------------------------------
    def log_metrics(self, step, values, context: str = ""):
        now = utcnow()
        with self._lock:
            self._buf["metrics"].extend((k, context, int(step), float(v), now) for k, v in values.items())

    def log_histogram(self, key, step, values, generation=None):
        row = histogram_row(key, int(step), values, generation)
        with self._lock:
            self._buf["histograms"].append(row)

    def log_pair_stats(self, generation, key, rows):
        with self._lock:
            self._buf["pairs"].extend((int(generation), key, q, c, float(m), int(n)) for q, c, m, n in rows)

    def log_eval(self, step, suite, cells):
        """Cells and their per-question scores enter the buffer together, so one flush writes both."""
        questions = [{"step": int(step), "checkpoint": c.get("checkpoint", "step"), "suite": suite,
                      "lang_q": c["lang_q"], "lang_c": c["lang_c"], "qid": qid, "exact_match": float(em), "f1": float(f1)}
                     for c in cells for qid, em, f1 in c.get("questions", ())]
        with self._lock:
            self._buf["evals"].extend({"step": int(step), "checkpoint": c.get("checkpoint", "step"), "suite": suite,
                                       "split": c.get("split", ""), "lang_q": c["lang_q"], "lang_c": c["lang_c"],
                                       "n": int(c["n"]), "exact_match": float(c["exact_match"]), "f1": float(c["f1"])}
                                      for c in cells)
            self._buf["questions"].extend(questions)

    def log_artifact(self, kind, path, step, size=None):
        from pathlib import Path
        p = Path(path)
        if size is None:
            size = sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) if p.is_dir() else (p.stat().st_size if p.exists() else 0)
        with self._lock:
            self._buf["artifacts"].append((kind, str(path), int(step), int(size)))

    def log_cost(self, row):
        with self._lock:
            self._buf["costs"].append(dict(row))

    def progress(self, step, total, epoch):
        self._progress = (step, total)

    def raise_alert(self, kind: str, text: str) -> None:
        """An alert of this run (db.states.ALERT_KINDS), written with the next batch."""
        with self._lock:
            self._buf["alerts"].append((kind, f"run {self.run_id}: {text}"))

    def should_stop(self) -> bool:
        return self._stop_requested

    def pending(self) -> int:
        with self._lock:
            return sum(len(v) for v in self._buf.values())

    def flush(self):
        """Write what is buffered, then heartbeat. On a failed write the batch goes back in front of what
        arrived meanwhile and the error propagates; the next flush writes it (once: one transaction)."""
        with self._flush_lock:
            with self._lock:
                batch, self._buf = self._buf, self._empty()
            try:
                if any(batch.values()):
                    self.store.write_batch(self.run_id, attempt=self.attempt, **batch)
                step, total = self._progress
                cancel = self.store.heartbeat(self.run_id, step, total, attempt=self.attempt)
            except RunTakenOver as e:
                self.on_taken_over(e)
                raise
            except BaseException:
                with self._lock:
                    for kind in KINDS:
                        self._buf[kind] = batch[kind] + self._buf[kind]
                raise
        if cancel:
            self._stop_requested = True
            cancellation.request()

    def flush_with_retry(self, tries: int = 5, wait: float = 1.0):
        """flush(), retried with a growing pause; the last error propagates."""
        for i in range(tries):
            try:
                return self.flush()
            except RunTakenOver:
                raise
            except Exception:
                if i == tries - 1:
                    raise
                time.sleep(wait * (i + 1))

    def close(self):
        self._closed.set()
        self._thread.join(timeout=10)
        self.flush_with_retry()

    def _loop(self):
        while not self._closed.wait(self.interval):
            try:
                self.flush()
            except RunTakenOver:
                return
            except Exception as e:  # a passing database error must not kill training; the batch is kept
                print(f"xlqa: store flush failed, will retry ({self.pending()} rows kept): {e}", file=sys.stderr)
