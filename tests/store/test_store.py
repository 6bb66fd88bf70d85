import multiprocessing as mp

import pytest

from db import Store
from engine.jobs.store_sink import StoreSink
from db.store import RunTakenOver


def make_run(store, kind="distill", **kw):
    exp = store.create_experiment("exp")
    return store.create_run(exp, kind, {"train": {"seed": 1}}, **{"output_dir": "/nonexistent/run", **kw})


def test_summary_keeps_latest_and_best(store_url):
    store = Store(store_url)
    run = make_run(store)
    store.write_batch(run, metrics=[("loss", "", 1, 3.0, None), ("loss", "", 2, 1.0, None), ("loss", "", 3, 2.0, None),
                                    ("dev_gxlt_f1", "", 2, 40.0, None), ("dev_gxlt_f1", "", 3, 35.0, None)])
    s = store.summary(run)
    assert (s["loss"]["last_value"], s["loss"]["best_value"], s["loss"]["best_step"]) == (2.0, 1.0, 2)
    assert (s["dev_gxlt_f1"]["last_value"], s["dev_gxlt_f1"]["best_value"]) == (35.0, 40.0)
    assert store.list_runs()[0]["best_dev_gxlt_f1"] == 40.0  # best, not last


def test_context_is_a_column_not_part_of_the_key(store_url):
    store = Store(store_url)
    run = make_run(store)
    store.write_batch(run, metrics=[("teacher_coef", "en-de", 0, 0.5, None), ("teacher_coef", "de-en", 0, 0.7, None)])
    assert store.metric_series(run, "teacher_coef", "en-de") == [(0, 0.5)]
    assert store.metric_keys(run) == ["teacher_coef"]


def test_resume_supersedes_points_after_the_checkpoint(store_url):
    store = Store(store_url)
    run = make_run(store)
    store.write_batch(run, metrics=[("loss", "", s, 10.0 - s, None) for s in range(1, 9)],
                      evals=[{"step": 8, "checkpoint": "step", "suite": "x", "split": "", "lang_q": "en", "lang_c": "en",
                              "n": 1, "exact_match": 1.0, "f1": 1.0}])
    store.truncate_to(run, 5)           # resumed from the checkpoint at step 5
    store.write_batch(run, metrics=[("loss", "", s, 20.0 - s, None) for s in range(6, 9)])
    series = store.metric_series(run, "loss")
    assert [s for s, _ in series] == list(range(1, 9))          # none duplicated, none dropped
    assert series[-1] == (8, 12.0) and series[4] == (5, 5.0)
    assert store.summary(run)["loss"]["best_value"] == 5.0
    assert store.eval_cells(run) == []


def test_list_runs_pages_filters_and_sorts(store_url):
    store = Store(store_url)
    ids = [make_run(store, kind=k) for k in ("sample", "teacher", "distill", "evaluate") * 5]
    store.update_run(ids[3], status="failed")
    assert len(store.list_runs(limit=7)) == 7
    assert [r["id"] for r in store.list_runs(limit=3, offset=3)] == sorted(ids, reverse=True)[3:6]
    assert [r["id"] for r in store.list_runs(statuses=("failed",))] == [ids[3]]
    assert {r["kind"] for r in store.list_runs(text="teach")} == {"teacher"}
    assert [r["id"] for r in store.list_runs(sort="id", descending=False, limit=2)] == ids[:2]


def test_dependencies_ready_and_blocked(store_url):
    store = Store(store_url)
    a = make_run(store, "sample")
    b = make_run(store, "distill", depends_on=a)
    assert [r["id"] for r in store.ready_runs()] == [a]
    store.finish(a, "done")
    assert [r["id"] for r in store.ready_runs()] == [b]
    store.finish(a, "failed")
    assert [r["id"] for r in store.blocked_runs()] == [b]


def test_cancel_queued_run_at_once(store_url):
    store = Store(store_url)
    run = make_run(store)
    assert store.request_cancel(run)["status"] == "cancelled"
    assert store.claim(run) is None


def _writer(url, run_id, n):
    store = Store(url)
    sink = StoreSink(store, run_id, interval=0.05)
    for step in range(n):
        sink.log_metrics(step, {"loss": 1.0 / (step + 1), "lr": 0.1})
        if step % 50 == 0:
            sink.log_histogram("coef", step, [0.1, 0.4, 0.9])
    sink.close()


@pytest.mark.slow  # real writer processes
def test_concurrent_writers_lose_no_rows(store_url):
    """4 worker processes write while this process reads: no 'database is locked', every row counted."""
    store = Store(store_url)
    runs = [make_run(store) for _ in range(4)]
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(store_url, r, 600)) for r in runs]
    for p in procs:
        p.start()
    reads = 0
    while any(p.is_alive() for p in procs):
        store.list_runs()
        store.metric_series(runs[0], "loss")
        reads += 1
    for p in procs:
        p.join()
        assert p.exitcode == 0
    for r in runs:
        assert len(store.metric_series(r, "loss")) == 600
        assert len(store.metric_series(r, "lr")) == 600
        assert len(store.histograms(r)) == 12
    assert reads > 0


def test_lease_one_scheduler_at_a_time(store_url):
    store = Store(store_url)
    assert store.acquire_lease("a", 1)
    assert not store.acquire_lease("b", 2)
    assert store.acquire_lease("b", 2, stale_after=-1)  # stale: taken over
    store.release_lease("b")
    assert not store.lease_alive()


def test_resume_keeps_the_generations_it_will_not_compute_again(store_url):
    """Generation rows (the teacher's per-pair mAP@k, its per-generation histogram) have no meaningful step:
    a resume deletes exactly the generations the resumed run computes again."""
    store = Store(store_url)
    run = make_run(store)
    pairs = [(g, "teacher_coef", "en", "de", 0.5 + g / 10, 7) for g in range(3)]
    hist = [{"key": "coef_generation", "step": 10 * g, "generation": g, "bin_edges": [0, 1], "counts": [1],
             "percentiles": {}} for g in range(3)]
    store.write_batch(run, pairs=pairs, histograms=hist, metrics=[("loss", "", s, 1.0, None) for s in range(1, 26)])
    store.truncate_to(run, step=20, generation=2)      # the checkpoint at step 20 has no teacher of generation 2
    assert [p["generation"] for g in range(3) for p in store.pair_stats(run, generation=g)] == [0, 1]
    assert [h["generation"] for h in store.histograms(run, "coef_generation")] == [0, 1]
    assert max(s for s, _ in store.metric_series(run, "loss")) == 20
    store.truncate_to(run)                             # from the start: nothing of the run is left
    assert not store.pair_stats(run, generation=0) and not store.metric_series(run, "loss")


def test_claims_are_compare_and_set_and_writes_are_fenced(store_url):
    store = Store(store_url)
    run = make_run(store)
    first = store.claim(run, host="h")
    assert first == 1 and store.claim(run, host="h") is None            # a second executor gets nothing
    assert store.bind_worker(run, first, pid=100, host="h")
    assert not store.bind_worker(run, first, pid=101, host="h")         # nor does a second worker process
    store.write_batch(run, metrics=[("loss", "", 1, 1.0, None)], attempt=first)
    assert store.mark_lost(run, first, "no heartbeat", "resume it")
    with pytest.raises(RunTakenOver):                                   # the lost worker writes nothing more
        store.write_batch(run, metrics=[("loss", "", 2, 1.0, None)], attempt=first)
    with pytest.raises(RunTakenOver):
        store.heartbeat(run, 2, 10, attempt=first)
    assert store.requeue(run) and store.claim(run, host="h") == 2
    with pytest.raises(RunTakenOver):                                   # nor after the run was claimed again
        store.write_batch(run, metrics=[("loss", "", 2, 1.0, None)], attempt=first)
    assert not store.finish(run, "done", attempt=first)
    assert store.metric_series(run, "loss") == [(1, 1.0)]
    assert store.get_run(run)["status"] == "running" and store.get_run(run)["attempt"] == 2


class FlakyStore:
    """A store whose writes fail `fail` times, then go through."""

    def __init__(self, store, fail):
        self.store, self.fail, self.calls = store, fail, 0

    def write_batch(self, *args, **kwargs):
        self.calls += 1
        if self.fail:
            self.fail -= 1
            raise ConnectionError("database went away")
        return self.store.write_batch(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.store, name)


def test_a_failed_flush_keeps_its_rows_and_the_next_one_writes_them_once(store_url):
    store = Store(store_url)
    run = make_run(store)
    flaky = FlakyStore(store, fail=2)
    sink = StoreSink(flaky, run, interval=3600)        # flushes only when told to
    sink.log_metrics(1, {"loss": 3.0})
    sink.log_eval(1, "x", [{"lang_q": "en", "lang_c": "en", "n": 1, "exact_match": 0.0, "f1": 50.0}])
    with pytest.raises(ConnectionError):
        sink.flush()
    sink.log_metrics(2, {"loss": 2.0})                 # arrives while the first batch waits
    with pytest.raises(ConnectionError):
        sink.flush()
    assert sink.pending() == 3 and store.metric_series(run, "loss") == []
    sink.flush()
    assert store.metric_series(run, "loss") == [(1, 3.0), (2, 2.0)]
    assert len(store.eval_cells(run)) == 1 and sink.pending() == 0
    sink.close()
    assert store.metric_series(run, "loss") == [(1, 3.0), (2, 2.0)] and flaky.calls == 3


def test_an_evaluation_is_chosen_by_explicit_checkpoint_values(store_url):
    """PREFERRED_CHECKPOINT: the 'best' cells if there are any, else the last step's; ANY_CHECKPOINT: whichever
    was scored at the step; a value that is neither a checkpoint nor one of these is an error, not a filter."""
    from db.store import ANY_CHECKPOINT, PREFERRED_CHECKPOINT
    store = Store(store_url)
    run = make_run(store)
    cell = {"suite": "x", "split": "", "lang_q": "en", "lang_c": "en", "n": 1, "exact_match": 1.0}
    store.write_batch(run, evals=[{**cell, "step": 4, "checkpoint": "step", "f1": 10.0},
                                  {**cell, "step": 8, "checkpoint": "step", "f1": 20.0}])
    assert [c["f1"] for c in store.eval_cells(run, "x")] == [20.0]           # no best yet: the last step's
    store.write_batch(run, evals=[{**cell, "step": 6, "checkpoint": "best", "f1": 30.0}])
    assert [c["f1"] for c in store.eval_cells(run, "x", PREFERRED_CHECKPOINT)] == [30.0]
    assert [c["f1"] for c in store.eval_cells(run, "x", "step")] == [20.0]
    assert [c["f1"] for c in store.eval_cells(run, "x", ANY_CHECKPOINT, step=4)] == [10.0]
    assert [c["f1"] for c in store.eval_cells(run, "x", ANY_CHECKPOINT)] == [20.0]
    for bad in ("", None, "latest"):
        with pytest.raises(ValueError, match="checkpoint"):
            store.eval_cells(run, "x", bad)


def test_metrics_at_a_step_or_the_nearest_logged_one(store_url):
    store = Store(store_url)
    run = make_run(store)
    store.write_batch(run, metrics=[("loss", "", s, 10.0 - s, None) for s in range(1, 9)]
                      + [("dev_gxlt_f1", "", 4, 40.0, None), ("dev_gxlt_f1", "", 8, 44.0, None),
                         ("teacher_coef", "en-de", 0, 0.5, None), ("sys_cpu_percent", "", 6, 99.0, None)])
    assert store.metrics_at_step(run, 7) == {"loss": (7, 3.0), "dev_gxlt_f1": (8, 44.0), "teacher_coef[en-de]": (0, 0.5)}
    assert store.metrics_at_step(run, 2)["dev_gxlt_f1"] == (4, 40.0)
    assert store.metrics_at_step(run, 100)["loss"] == (8, 2.0)
    store.write_batch(run, metrics=[("dev_gxlt_f1", "", 12, 45.0, None)])
    assert store.metrics_at_step(run, 10)["dev_gxlt_f1"] == (8, 44.0)     # a tie: the earlier step


def cost_row(stage, seconds, steps=None, features=None, devices=1):
    return {"stage": stage, "seconds": seconds, "devices": devices, "device_seconds": seconds * devices,
            "device": "cpu", "peak_device_gb": None, "peak_host_gb": seconds / 10, "features": features, "steps": steps}


def test_cost_rows_replace_within_an_attempt_and_add_up_across_attempts(store_url):
    """Each emit repeats an attempt's totals (replaced, never doubled); a resumed run's new attempt adds its
    own: v_runs sums seconds and steps over attempts and keeps the largest peak."""
    store = Store(store_url)
    run = make_run(store)
    first = store.claim(run, host="h")
    store.write_batch(run, costs=[cost_row("featurize", 2.0, features=50), cost_row("train", 10.0, steps=4)],
                      attempt=first)
    store.write_batch(run, costs=[cost_row("train", 30.0, steps=12), cost_row("train", 31.0, steps=13)], attempt=first)
    store.mark_lost(run, first, "killed", "")     # killed after its last checkpoint; resumed
    assert store.requeue(run)
    second = store.claim(run, host="h")
    store.write_batch(run, costs=[cost_row("featurize", 1.0, features=50), cost_row("train", 20.0, steps=8, devices=2)],
                      attempt=second)
    totals = store.cost_totals([run])[run]
    assert totals == {"wall_s": 54.0, "device_s": 74.0, "featurize_s": 3.0, "teacher_s": None, "train_s": 51.0,
                      "eval_s": None, "peak_device_gb": None, "peak_host_gb": 3.1, "train_features": 50,
                      "optimizer_steps": 21, "cost_attempts": 2}
    assert [(c["attempt"], c["stage"], c["seconds"]) for c in store.run_costs(run)] == [
        (first, "featurize", 2.0), (first, "train", 31.0), (second, "featurize", 1.0), (second, "train", 20.0)]
    assert store.list_runs()[0]["optimizer_steps"] == 21
    store.truncate_to(run, -1, -1, attempt=second)   # a restart from nothing keeps what was spent
    assert store.cost_totals([run])[run]["wall_s"] == 54.0
