"""Background jobs for real: detached scheduler and worker processes against a SQLite file, killed with
SIGKILL, stopped with SIGSTOP, starved by a locked database; the rows of every interrupted run must equal
those of an uninterrupted run with the same seed."""

import json
import os
import signal
import sqlite3
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import tomli_w
from click.testing import CliRunner

from engine.cli import main
from tests.helpers import tiny_config
from tests.jobs_helpers import (TERMINAL, assert_same_rows, bad_offset_data, baseline_rows, kill_worker, launch, rows,
                                run_queue, slow_config, wait_for, wait_until, write_config)

# --- the queue ---------------------------------------------------------------------------------------

@pytest.mark.slow  # whole trainings; the resume at the end through a real scheduler and workers
def test_launch_runs_the_queue_and_a_failure_does_not_stop_it(env):
    tmp_path, store = env
    bad_file = bad_offset_data(tmp_path) / "xquad.en.json"
    bad = launch(write_config(tmp_path, "bad-data", data={"train": str(bad_file.parent), "languages": ["en"], "ntl": 0}),
                 "--no-scheduler")
    good = launch(write_config(tmp_path, "good", train={"epochs": 1}), "--no-scheduler")
    run_queue(store)  # the queue's logic, in this process
    failed = wait_for(store, bad[0], TERMINAL)
    assert failed["status"] == "failed"
    assert "answer_start should be 16" in failed["error"] and "data" in failed["hint"]
    assert wait_for(store, bad[1], TERMINAL)["status"] == "failed"      # its dependency failed
    for run_id in good:
        assert wait_for(store, run_id, TERMINAL)["status"] == "done"
    train = store.get_run(good[1])
    assert train["versions"]["torch"] and train["config"]["train"]["epochs"] == 1 and train["seed"] == 42
    runner = CliRunner()
    out = runner.invoke(main, ["matrix", str(good[2])])
    assert out.exit_code == 0 and "G-XLT (cross cells)" in out.output
    csv_text = runner.invoke(main, ["export", str(good[1]), "--format", "csv"]).output
    assert "loss" in csv_text and "dev_gxlt_f1" in csv_text
    png = tmp_path / "run.png"
    assert runner.invoke(main, ["plot", str(good[1]), "-o", str(png)]).exit_code == 0
    assert png.stat().st_size > 10_000
    listing = runner.invoke(main, ["list"]).output
    assert "good" in listing and "failed" in listing
    log = runner.invoke(main, ["logs", str(good[1])]).output   # progress lines in the worker log
    assert "epoch 0 step" in log and "ETA" in log and f"run {good[1]}: done" in log

    # the failed sample and the two runs its failure ended come back with one resume, once the data is fixed
    bad_file.write_text(bad_file.read_text().replace('"answer_start": 3', '"answer_start": 16'))
    result = runner.invoke(main, ["resume", str(bad[0])])
    assert result.exit_code == 0 and f"with runs {bad[1]}, {bad[2]} after it" in result.output
    for run_id in bad:
        assert wait_for(store, run_id, TERMINAL)["status"] == "done"


def test_preflight_queues_nothing_for_bad_input(env, fixture_data):
    tmp_path, store = env
    runner = CliRunner()
    cases = {
        "missing data": ({"data": {"train": str(tmp_path / "nowhere")}}, "no such file or folder"),
        "too many target languages": ({"data": {"train": str(fixture_data / "xquad"), "languages": ["en", "de"],
                                                "ntl": 3}}, "data.ntl = 3, but data.languages has only 1"),
        "empty languages": ({"data": {"languages": [], "en_centric": False}}, "data.languages is empty"),
        "missing teacher": ({"model": {"init_from": str(tmp_path / "runs/exp9/teacher/best")}}, "model.init_from"),
    }
    broken = tmp_path / "train.json"
    broken.write_text('{"data": [')
    cases["malformed JSON"] = ({"data": {"train": str(broken)}}, "train.json: not valid JSON")
    for name, (sections, message) in cases.items():
        path = tmp_path / "c.toml"
        base = tiny_config("distill").replace(output_dir=str(tmp_path / "runs")).to_dict()
        for key, values in sections.items():
            base[key].update(values)
        path.write_text(tomli_w.dumps(base))
        result = runner.invoke(main, ["launch", str(path)])
        assert result.exit_code == 2 and message in result.output, (name, result.output)
        assert "Traceback" not in result.output
    assert store.list_runs() == []                         # nothing was queued
    sample = runner.invoke(main, ["sample", "--data", str(broken), "--languages", "en", "--ntl", "0", "-o",
                                  str(tmp_path / "o.json")])
    assert sample.exit_code == 2 and "not valid JSON" in sample.output and "file name" not in sample.output


@pytest.mark.slow  # real scheduler and worker processes, or whole trainings
def test_cancel_then_resume_continues_from_the_checkpoint(env):
    tmp_path, store = env
    ids = launch(write_config(tmp_path, "long", train={"epochs": 40, "checkpoint_every": 5}, eval={"suites": []}))
    train_id = ids[1]
    wait_for(store, train_id, ("running",))
    wait_until(lambda: store.get_run(train_id)["step"] >= 12, what="step 12")
    result = CliRunner().invoke(main, ["cancel", str(train_id)])
    assert "stopping" in result.output
    run = wait_for(store, train_id, TERMINAL)
    assert run["status"] == "cancelled"
    stopped_at = max(s for s, _ in store.metric_series(train_id, "loss"))
    assert (Path(run["output_dir"]) / "checkpoint").is_symlink()
    # shorten the rest of the run, then resume it from its checkpoint
    store.update_run(train_id, config={**run["config"], "train": {**run["config"]["train"], "max_steps": stopped_at + 6}})
    assert CliRunner().invoke(main, ["resume", str(train_id)]).exit_code == 0
    assert wait_for(store, train_id, TERMINAL)["status"] == "done"
    steps = [s for s, _ in store.metric_series(train_id, "loss")]
    assert steps == sorted(set(steps))            # superseded, not duplicated
    assert max(steps) == stopped_at + 6
    # the cost counts both attempts; a cancel checkpoints the step it stops at, so no step is done twice
    train_rows = [c for c in store.run_costs(train_id) if c["stage"] == "train"]
    assert len(train_rows) == 2 and sum(c["steps"] for c in train_rows) == store.get_run(train_id)["step"]
    assert store.cost_totals([train_id])[train_id]["cost_attempts"] == 2


@pytest.mark.slow  # real scheduler and worker processes, or whole trainings
def test_cancel_stops_a_job_within_seconds_outside_training(env):
    """A cancel during the teacher pass (no optimizer step yet) ends the run in seconds, not minutes."""
    tmp_path, store = env
    ids = launch(slow_config(tmp_path, "cancel-early", paragraphs=300, eval_batch_size=1))  # a slow teacher pass
    wait_for(store, ids[1], ("running",))
    wait_until(lambda: "teacher pass" in (Path(store.get_run(ids[1])["output_dir"]) / "worker.log").read_text()
               if (Path(store.get_run(ids[1])["output_dir"]) / "worker.log").exists() else False, what="the teacher pass")
    asked = time.time()
    CliRunner().invoke(main, ["cancel", str(ids[1])])
    assert wait_for(store, ids[1], TERMINAL, timeout=30)["status"] == "cancelled"
    assert time.time() - asked < 10 and store.get_run(ids[1])["step"] == 0


# --- nothing lost, nothing twice ----------------------------------------------------------------------

@pytest.mark.slow  # real scheduler and worker processes, or whole trainings
@pytest.mark.parametrize("scenario", [  # under pytest-xdist, a baseline's tests share the worker that computed it
    pytest.param("before the first checkpoint", marks=pytest.mark.xdist_group("baseline-0")),
    pytest.param("after an epoch checkpoint", marks=pytest.mark.xdist_group("baseline-0")),
    "after a mid-generation checkpoint"])
def test_kill_9_and_resume_gives_the_rows_of_an_uninterrupted_run(env, scenario, tmp_path_factory):
    tmp_path, store = env
    every = 40 if scenario == "after a mid-generation checkpoint" else 0
    baseline, steps = baseline_rows(tmp_path_factory, every)   # steps: 2 epochs
    killed = launch(slow_config(tmp_path, "kill", checkpoint_every=every))
    train = killed[1]
    if scenario == "before the first checkpoint":
        wait_until(lambda: 15 <= store.get_run(train)["step"], what="step 15")
        assert store.get_run(train)["step"] < steps // 2 and not store.artifacts(train)
    else:
        # past a checkpoint in generation 1: the epoch's (no teacher inside) or a mid-epoch one (with its teacher)
        target = (steps // 2 // every + 2) * every + 10 if every else steps // 2 + 20
        wait_until(lambda: store.get_run(train)["step"] >= target, what=f"step {target}")
    kill_worker(store, train)
    lost = wait_for(store, train, TERMINAL, timeout=30)
    assert lost["status"] == "lost" and "is gone" in lost["error"]
    assert CliRunner().invoke(main, ["resume", str(train)]).exit_code == 0
    assert wait_for(store, train, TERMINAL)["status"] == "done"
    assert store.get_run(train)["attempt"] == 2
    counts = assert_same_rows(baseline, rows(store, train))
    assert counts["pair_stat"][0] == 2 * 4 and counts["metric"][0] > 100   # 2 generations x 4 language pairs
    print(scenario, counts)


@pytest.mark.slow  # real scheduler and worker processes, or whole trainings
@pytest.mark.xdist_group("baseline-0")
def test_a_locked_database_loses_no_row(env, monkeypatch, tmp_path_factory):
    """Writes that raise (the database locked by another process for seconds) are kept and retried."""
    tmp_path, store = env
    baseline, _ = baseline_rows(tmp_path_factory, 0)
    monkeypatch.setenv("XLQA_SQLITE_BUSY_MS", "200")
    ids = launch(slow_config(tmp_path, "kill"))
    wait_until(lambda: store.get_run(ids[1])["step"] >= 10, what="step 10")
    worker_log = Path(store.get_run(ids[1])["output_dir"]) / "worker.log"
    locker = sqlite3.connect(store.url.split(":///", 1)[1], isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:                                    # held until a flush has failed on it (the store cannot be read now)
        wait_until(lambda: "store flush failed, will retry" in worker_log.read_text(), timeout=60,
                   what="a flush that fails on the lock")
    finally:
        locker.execute("COMMIT")
        locker.close()
    assert wait_for(store, ids[1], TERMINAL)["status"] == "done"
    assert "store flush failed, will retry" in worker_log.read_text()
    assert_same_rows(baseline, rows(store, ids[1]))


@pytest.mark.slow  # real scheduler and worker processes, or whole trainings
def test_a_stopped_worker_is_killed_marked_lost_and_resumes(env, monkeypatch):
    """SIGSTOP: the pid lives but the heartbeat stops; the scheduler kills it and marks the run lost."""
    tmp_path, store = env
    monkeypatch.setenv("XLQA_HEARTBEAT_STALE_S", "8")
    ids = launch(slow_config(tmp_path, "stopped", epochs=4, checkpoint_every=30))
    train = ids[1]
    wait_until(lambda: store.get_run(train)["step"] >= 40, what="step 40")
    pid = store.get_run(train)["pid"]
    os.kill(pid, signal.SIGSTOP)
    lost = wait_for(store, train, TERMINAL, timeout=30)
    assert lost["status"] == "lost" and "no heartbeat" in lost["error"] and "was killed" in lost["error"]
    wait_until(lambda: not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2],
               timeout=10, what="the stopped worker to die")
    resumed_at = int(lost["step"])
    store.update_run(train, config={**lost["config"], "train": {**lost["config"]["train"], "max_steps": resumed_at + 10}})
    assert CliRunner().invoke(main, ["resume", str(train)]).exit_code == 0
    assert wait_for(store, train, TERMINAL)["status"] == "done"
    steps = [s for s, _ in store.metric_series(train, "loss")]
    assert steps == sorted(set(steps))


@pytest.mark.slow  # real scheduler and worker processes, or whole trainings
def test_a_run_whose_worker_and_scheduler_died_becomes_lost_and_resumable(env, monkeypatch):
    tmp_path, store = env
    monkeypatch.setenv("XLQA_HEARTBEAT_STALE_S", "3")
    ids = launch(slow_config(tmp_path, "orphan"))
    train = ids[1]
    wait_until(lambda: store.get_run(train)["step"] >= 5, what="step 5")
    with store.session() as s:
        from db.models import SchedulerLease
        lease = s.get(SchedulerLease, 1)
        scheduler_pid = lease.pid
    os.kill(scheduler_pid, signal.SIGKILL)
    kill_worker(store, train)
    from db.tables import utcnow
    stale = lambda: (utcnow() - store.get_run(train)["heartbeat_at"]).total_seconds() > 3.5   # past XLQA_HEARTBEAT_STALE_S
    wait_until(stale, timeout=30, what="the heartbeat to go stale")
    assert store.get_run(train)["status"] == "running"      # nobody noticed yet
    listing = CliRunner().invoke(main, ["list"])
    assert store.get_run(train)["status"] == "lost" and "lost" in listing.output
    assert "no scheduler alive" not in listing.output       # the lost run is not ready; nothing else waits
    assert "nothing to cancel" in CliRunner().invoke(main, ["cancel", str(train)]).output
    assert CliRunner().invoke(main, ["resume", str(train)]).exit_code == 0
    assert wait_for(store, train, TERMINAL)["status"] == "done"
    assert wait_for(store, ids[0], TERMINAL)["status"] == "done"


@pytest.mark.slow  # real scheduler and worker processes, or whole trainings
def test_a_second_executor_cannot_run_the_same_run(env):
    tmp_path, store = env
    import subprocess
    import sys
    ids = launch(write_config(tmp_path, "manual", train={"epochs": 1}, eval={"suites": []}), "--no-scheduler")
    assert store.get_run(ids[0])["status"] == "queued"
    cmd = [sys.executable, "-m", "engine.jobs.worker", "--db", store.url, "--run", str(ids[0])]
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=120)   # claims the queued run itself
    assert first.returncode == 0 and store.get_run(ids[0])["status"] == "done"
    second = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert second.returncode == 3 and "is done" in second.stderr
    # a worker started for an attempt that another process already bound is refused too
    attempt = store.claim(ids[1], host="elsewhere")
    assert store.bind_worker(ids[1], attempt, pid=1, host="elsewhere")
    third = subprocess.run(cmd[:-1] + [str(ids[1]), "--attempt", str(attempt)], capture_output=True, text=True, timeout=120)
    assert third.returncode == 3 and "already taken" in third.stderr


@pytest.mark.slow  # real scheduler and worker processes, or whole trainings
def test_logs_follow_shows_the_last_lines_and_foreground_runs_have_logs(env):
    tmp_path, store = env
    path = write_config(tmp_path, "fg", train={"epochs": 1}, eval={"suites": []})
    before = signal.getsignal(signal.SIGTERM)
    result = CliRunner().invoke(main, ["run", str(path)])
    assert result.exit_code == 0, result.output
    assert signal.getsignal(signal.SIGTERM) is before          # the foreground run gave SIGTERM back
    train_id = [r for r in store.list_runs() if r["kind"] == "distill"][0]["id"]
    followed = CliRunner().invoke(main, ["logs", str(train_id), "-f"]).output
    assert "epoch 0 step" in followed and f"run {train_id}: done" in followed.splitlines()[-1]
    ids = launch(path, "--no-scheduler")
    waiting = CliRunner().invoke(main, ["logs", str(ids[1])])
    assert "has not started yet" in waiting.output


def test_a_scheduler_that_loses_its_lease_stops_scheduling(env):
    tmp_path, store = env
    from engine.jobs.scheduler import Scheduler
    exp = store.create_experiment("x")
    blocker = store.create_run(exp, "sample", {}, devices="cpu", output_dir=str(tmp_path / "b"))
    store.create_run(exp, "distill", {}, depends_on=blocker, output_dir=str(tmp_path / "d"))
    store.claim(blocker, host="elsewhere")                      # a live run elsewhere keeps the queue busy
    scheduler = Scheduler(store, poll=0.1)
    thread = threading.Thread(target=scheduler.loop, kwargs={"max_seconds": 30})
    thread.start()
    wait_until(lambda: store.lease_alive(), what="the lease")
    # taken over (retried: the live scheduler may renew between our read and our compare-and-set)
    wait_until(lambda: store.acquire_lease("intruder", 1, stale_after=-1), timeout=5, what="the takeover")
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert store.lease_alive()                                   # the intruder's lease is left alone


@pytest.mark.slow  # real scheduler and worker processes, or whole trainings
def test_a_killed_evaluation_resumes_cell_by_cell_with_the_rows_of_an_uninterrupted_one(env):
    """kill -9 mid-evaluation: finished cells are not scored again, and cells plus per-question scores equal
    an uninterrupted evaluation of the same checkpoint."""
    tmp_path, store = env
    langs = ["en", "es", "de", "ar", "hi", "vi", "zh"]
    cfg = write_config(tmp_path, "scored", train={"epochs": 1}, eval={"suites": [], "dev": ""})
    assert CliRunner().invoke(main, ["run", str(cfg)]).exit_code == 0
    model = Path(store.get_run(2)["output_dir"]) / "checkpoint"
    settings = ["--set", "train.stage=evaluate", "--set", f"model.init_from={model}", "--set", "eval.suites=[\"synthetic\"]",
                "--set", f"eval.languages={json.dumps(langs)}", "--set", "eval.max_per_cell=25",
                "--set", "train.eval_batch_size=1"]                 # slow enough to be killed half-way
    whole = launch(cfg, *settings, "--no-scheduler")[0]
    run_queue(store)  # the uninterrupted evaluation, in this process
    assert store.get_run(whole)["status"] == "done"
    killed = launch(cfg, *settings)[0]
    wait_until(lambda: len(store.eval_cells(killed, "synthetic", checkpoint="best")) >= 10, what="10 cells")
    kill_worker(store, killed)
    assert wait_for(store, killed, TERMINAL, timeout=30)["status"] == "lost"
    scored_before = len(store.eval_cells(killed, "synthetic", checkpoint="best"))
    assert 10 <= scored_before < 49
    assert CliRunner().invoke(main, ["resume", str(killed)]).exit_code == 0
    assert wait_for(store, killed, TERMINAL)["status"] == "done"
    log = (Path(store.get_run(killed)["output_dir"]) / "worker.log").read_text()
    assert f"{scored_before} cells already scored" in log
    assert log.count("cell 49/49") == 1                               # no cell scored twice
    a, b = rows(store, whole), rows(store, killed)
    for table in ("eval_cell", "metric"):
        assert a[table] == b[table]
    assert store.question_scores(whole, "synthetic") == store.question_scores(killed, "synthetic")
    assert len(store.question_scores(killed, "synthetic")) == 49 * 25
    predictions = json.loads((Path(store.get_run(killed)["output_dir"]) / "predictions_synthetic.json").read_text())
    assert len(predictions) == 49 * 25


@pytest.mark.slow  # real scheduler and worker processes, or whole trainings
def test_compare_significance_of_a_teacher_and_its_student(env):
    """The demo's flow in small: a teacher, a student distilled from it; their evaluations compared."""
    tmp_path, store = env
    teacher = write_config(tmp_path, "teacher", stage="teacher", train={"epochs": 2})
    assert CliRunner().invoke(main, ["run", str(teacher)]).exit_code == 0
    student = write_config(tmp_path, "student", train={"epochs": 1},
                           model={"init_from": str(Path(store.get_run(2)["output_dir"]) / "best")})
    assert CliRunner().invoke(main, ["run", str(student)]).exit_code == 0
    out = CliRunner().invoke(main, ["compare", "3", "6", "--significance", "--json", "--resamples", "2000"])
    assert out.exit_code == 0, out.output
    result = json.loads(out.output)
    assert result["g_xlt"]["n"] == 4 * 20 and result["xlt"]["n"] == 2 * 20
    assert result["g_xlt"]["delta"] == pytest.approx(
        np.mean([c["f1"] for c in store.eval_cells(6)]) - np.mean([c["f1"] for c in store.eval_cells(3)]))
    itself = json.loads(CliRunner().invoke(main, ["compare", "3", "3", "--significance", "--json"]).output)
    assert itself["g_xlt"]["p"] == 1.0 and itself["g_xlt"]["ci95"] == [0.0, 0.0]
    # a training run stands for its evaluate run
    assert json.loads(CliRunner().invoke(main, ["compare", "2", "5", "--significance", "--json",
                                                "--resamples", "2000"]).output)["runs"] == {"a": [3], "b": [6], "seeds": [42]}
