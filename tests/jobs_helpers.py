"""Helpers of the job tests (tests/integration/test_jobs.py, test_cluster.py): configs written to TOML, launches
through the CLI, waits on a run's status, and the rows a run wrote. A helpers module, not a test module: test
modules never import each other. The `env` fixture is in tests/conftest.py."""

import json
import os
import signal
import time
from contextlib import contextmanager

import tomli_w
from click.testing import CliRunner
from sqlalchemy import text

from db import Store
from engine.cli import main
from engine.jobs.devices import cpu_threads, worker_env
from engine.jobs.foreground import execute_here
from engine.jobs.scheduler import Scheduler
from tests.helpers import tiny_config

TERMINAL = ("done", "failed", "cancelled", "lost")
THROUGHPUT = ("examples_per_s",)  # wall-clock speed: a value a resumed run cannot repeat (and sys_* telemetry)


def write_config(tmp_path, name, stage="distill", **sections):
    cfg = tiny_config(stage, **sections).replace(name=name, output_dir=str(tmp_path / "runs"))
    path = tmp_path / f"{name}.toml"
    path.write_text(tomli_w.dumps(cfg.to_dict()))
    return path


def bad_offset_data(tmp_path):
    """A folder with one valid SQuAD file whose answer offset is wrong: its sample run fails in the worker."""
    path = tmp_path / "bad" / "xquad.en.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"data": [{"title": "t", "paragraphs": [{"context": "Ana was born in Paris.", "qas": [
        {"id": "q1", "question": "Where?", "answers": [{"text": "Paris", "answer_start": 3}]}]}]}]}))
    return path.parent


def slow_config(tmp_path, name, paragraphs=100, **train):
    """A distill run of two generations, ~4 s an epoch on a 2-core CPU: wide enough to kill at a chosen phase."""
    return write_config(tmp_path, name, data={"synthetic_paragraphs": paragraphs}, model={"name": "tiny-bert:128:2"},
                        features={"max_length": 128, "doc_stride": 48, "max_query_length": 24},
                        train={"epochs": 2, "batch_size": 8, "log_every": 7, "checkpoint_every": 0, **train},
                        eval={"suites": [], "max_per_cell": 10})


def wait_for(store, run_id, statuses, timeout=180):
    deadline = time.time() + timeout
    while time.time() < deadline:
        run = store.get_run(run_id)
        if run["status"] in statuses:
            return run
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} still {store.get_run(run_id)['status']} after {timeout}s")


def wait_until(predicate, timeout=120, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class InProcessScheduler(Scheduler):
    """The scheduler's queue logic (order, dependencies, a failure ending its dependents, resume) with each
    ready run executed here, one at a time, by the code of a foreground run: a queue test pays neither a
    process start nor the import of torch and transformers (about 5 CPU-s) per run. The detached processes
    have tests of their own (kill -9, SIGSTOP, a second executor, the lease)."""

    def launch(self, run, gpus, usable=None):
        execute_here(self.store, run["id"])


@contextmanager
def torch_threads():
    """torch's thread count set for the block, then restored: the one the scheduler's workers get
    (worker_env's rule: OMP_NUM_THREADS when set, else the share of XLQA_CPU_SLOTS). Float sums depend on it,
    so an in-process run's rows equal a worker's only with it."""
    import torch
    threads = torch.get_num_threads()
    slots = int(os.environ.get("XLQA_CPU_SLOTS", "1"))
    torch.set_num_threads(int(worker_env([], 0, threads=cpu_threads(slots))["OMP_NUM_THREADS"]))
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def run_queue(store, max_seconds: float = 120) -> None:
    """Every queued run of the store, through the in-process scheduler, until the queue is empty, with the
    workers' thread count."""
    with torch_threads():
        InProcessScheduler(store, poll=0.05).loop(max_seconds=max_seconds)


def launch(path, *args):
    result = CliRunner().invoke(main, ["launch", str(path), *args])
    assert result.exit_code == 0, result.output
    return [int(x) for x in result.output.split("queued runs ")[1].split(" of")[0].split(", ")]


_BASELINES: dict = {}


def baseline_rows(tmp_path_factory, every: int) -> dict:
    """The rows of an uninterrupted run of slow_config (once per config; run in the foreground, in-process:
    the same engine, so the same rows as a background worker)."""
    if every not in _BASELINES:
        tmp = tmp_path_factory.mktemp(f"baseline{every}")
        store = Store(str(tmp / "xlqa.db"))
        with torch_threads():
            result = CliRunner().invoke(main, ["run", str(slow_config(tmp, "kill", checkpoint_every=every)),
                                               "--db", str(tmp / "xlqa.db")])
        assert result.exit_code == 0, result.output
        train = next(r for r in store.list_runs() if r["kind"] == "distill")
        _BASELINES[every] = (rows(store, train["id"]), train["step"])
    return _BASELINES[every]


def plain(value):
    """A column's value as SQLite and PostgreSQL both give it: JSON columns come back as text from one and
    parsed from the other."""
    if isinstance(value, memoryview):
        return bytes(value)
    if isinstance(value, str) and value[:1] in "[{":
        try:
            value = json.loads(value)
        except ValueError:
            return value
    return json.dumps(value, sort_keys=True) if isinstance(value, (list, dict)) else value


def rows(store, run_id):
    """Everything a run wrote, per table, as sorted tuples (paths relative to the run's folder), on any database."""
    out_dir = store.get_run(run_id)["output_dir"]
    skip = f"key NOT IN {THROUGHPUT + ('',)} AND key NOT LIKE 'sys%'"
    with store.engine.connect() as conn:
        def q(sql):
            found = conn.execute(text(sql), {"r": run_id}).fetchall()
            return sorted(tuple(plain(v) for v in row) for row in found)
        return {
            "metric": q(f"SELECT key, context, step, value FROM metric WHERE run_id = :r AND {skip}"),
            "histogram": q("SELECT key, step, generation, counts, percentiles FROM histogram WHERE run_id = :r"),
            "pair_stat": q("SELECT generation, key, lang_q, lang_c, mean, n FROM pair_stat WHERE run_id = :r"),
            "eval_cell": q("SELECT step, checkpoint, suite, lang_q, lang_c, n, exact_match, f1 FROM eval_cell "
                           "WHERE run_id = :r"),
            "artifact": [(k, os.path.relpath(p, out_dir), s) for k, p, s in
                         q("SELECT kind, path, step FROM artifact WHERE run_id = :r")],
            "metric_summary": q("SELECT key, context, last_step, last_value, best_value, best_step FROM "
                                f"metric_summary WHERE run_id = :r AND {skip}"),
        }


def assert_same_rows(a: dict, b: dict):
    counts = {table: (len(a[table]), len(b[table])) for table in a}
    for table in a:
        assert a[table] == b[table], f"{table}: {counts[table]} rows"
    return counts


def kill_worker(store, run_id):
    os.kill(store.get_run(run_id)["pid"], signal.SIGKILL)
