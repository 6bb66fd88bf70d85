"""The trainer's MetricSink, writing to the store off the hot path: calls append to in-memory buffers;
a background thread flushes them in one transaction every `interval` seconds, heartbeats the run and
reads its cancel flag."""

from __future__ import annotations

import threading

import numpy as np

from db.models import utcnow
from db.store import Store

PERCENTILES = (5, 25, 50, 75, 95)


def histogram_row(key: str, step: int, values, generation=None, bins: int = 20) -> dict:
    values = np.asarray(values, dtype=np.float64)
    counts, edges = np.histogram(values, bins=bins, range=(0.0, 1.0) if key.startswith("coef") else None)
    pct = dict(zip((f"p{p}" for p in PERCENTILES), np.percentile(values, PERCENTILES).tolist())) if len(values) else {}
    pct["mean"] = float(values.mean()) if len(values) else 0.0
    return {"key": key, "step": step, "generation": generation, "bin_edges": edges.tolist(), "counts": counts.tolist(),
            "percentiles": pct}


class StoreSink:
    def __init__(self, store: Store, run_id: int, interval: float = 1.0):
        self.store, self.run_id, self.interval = store, run_id, interval
        self._lock = threading.Lock()
        self._buf = self._empty()
        self._progress = (None, None)
        self._stop_requested = False
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="xlqa-store-sink", daemon=True)
        self._thread.start()

    @staticmethod
    def _empty():
        return {"metrics": [], "histograms": [], "pairs": [], "evals": [], "artifacts": []}

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
        with self._lock:
            self._buf["evals"].extend({"step": int(step), "checkpoint": c.get("checkpoint", "step"), "suite": suite,
                                       "split": c.get("split", ""), "lang_q": c["lang_q"], "lang_c": c["lang_c"],
                                       "n": int(c["n"]), "exact_match": float(c["exact_match"]), "f1": float(c["f1"])}
                                      for c in cells)

    def log_artifact(self, kind, path, step):
        from pathlib import Path
        p = Path(path)
        size = sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) if p.is_dir() else (p.stat().st_size if p.exists() else 0)
        with self._lock:
            self._buf["artifacts"].append((kind, str(path), int(step), int(size)))

    def progress(self, step, total, epoch):
        self._progress = (step, total)

    def request_stop(self):
        self._stop_requested = True

    def should_stop(self) -> bool:
        return self._stop_requested

    def flush(self):
        with self._lock:
            buf, self._buf = self._buf, self._empty()
        if any(buf.values()):
            self.store.write_batch(self.run_id, **buf)
        step, total = self._progress
        if self.store.heartbeat(self.run_id, step, total):
            self._stop_requested = True

    def close(self):
        self._closed.set()
        self._thread.join(timeout=10)
        self.flush()

    def _loop(self):
        while not self._closed.wait(self.interval):
            try:
                self.flush()
            except Exception as e:  # a passing database error must not kill training; the next flush retries
                import sys
                print(f"xlqa: store flush failed, will retry: {e}", file=sys.stderr)
