"""Beyond one box: Slurm through submitit (tested with submitit's local executor: real subprocesses, the same
code path), sweeps as one command, and their progress."""

import os
import signal
import time

import pytest
from click.testing import CliRunner

from engine.cli import main
from engine.jobs.executors import job_command
from engine.jobs.scheduler import Scheduler
from tests.jobs_helpers import TERMINAL, launch, run_queue, wait_for, wait_until, write_config


@pytest.mark.slow  # submitit-local: real job processes
def test_runs_go_through_submitit_and_keep_their_dependencies(env):
    tmp_path, store = env
    path = write_config(tmp_path, "cluster", train={"epochs": 1}, eval={"max_per_cell": 5})
    start = time.monotonic()
    ids = launch(path, "--executor", "submitit-local")
    wait_until(lambda: store.get_run(ids[0])["pid"] is not None, timeout=120, what="the first worker to bind")
    latency = time.monotonic() - start
    for run_id in ids:
        assert wait_for(store, run_id, TERMINAL, timeout=240)["status"] == "done"
    runs = [store.get_run(i) for i in ids]
    assert all(r["executor"] == "submitit-local" and r["external_id"] for r in runs)
    assert runs[0]["ended_at"] <= runs[1]["started_at"] and runs[1]["ended_at"] <= runs[2]["started_at"]
    assert "epoch 0 step" in CliRunner().invoke(main, ["logs", str(ids[1])]).output   # logs of a cluster job
    print(f"submit-to-running latency (submitit-local): {latency:.1f} s")


@pytest.mark.slow  # submitit-local: real job processes
def test_a_killed_job_becomes_lost_and_resume_submits_it_again(env):
    tmp_path, store = env
    ids = launch(write_config(tmp_path, "cluster-kill", train={"epochs": 30, "checkpoint_every": 5}, eval={"suites": []}),
                 "--executor", "submitit-local")
    train = ids[1]
    wait_until(lambda: store.get_run(train)["step"] >= 8, timeout=180, what="step 8")
    first_job = store.get_run(train)["external_id"]
    os.kill(store.get_run(train)["pid"], signal.SIGKILL)
    killed = time.monotonic()
    assert wait_for(store, train, TERMINAL, timeout=60)["status"] == "lost"
    print(f"status sync (submitit-local): killed job -> run lost in {time.monotonic() - killed:.1f} s")
    run = store.get_run(train)
    store.update_run(train, config={**run["config"], "train": {**run["config"]["train"], "max_steps": run["step"] + 4}})
    assert CliRunner().invoke(main, ["resume", str(train)]).exit_code == 0
    assert wait_for(store, train, TERMINAL, timeout=180)["status"] == "done"
    again = store.get_run(train)
    assert again["attempt"] == 2 and again["external_id"] != first_job


class FakeJob:
    def __init__(self, state):
        self.state = state


def test_executor_states_keep_a_waiting_run_alive_and_make_an_ended_one_lost(env):
    """The held job objects of submitit-local (Slurm's own states: tests/integration/test_slurm.py)."""
    tmp, store = env
    exp = store.create_experiment("s")
    pending = store.create_run(exp, "distill", {}, executor="submitit-local", output_dir=str(tmp / "p"))
    timed_out = store.create_run(exp, "distill", {}, executor="submitit-local", output_dir=str(tmp / "t"))
    scheduler = Scheduler(store)
    for run_id, state in ((pending, "PENDING"), (timed_out, "TIMEOUT")):
        store.claim(run_id, host="")
        store.update_run(run_id, external_id=f"9{run_id}", heartbeat_at=None)
        scheduler.jobs[run_id] = FakeJob(state)
    scheduler.mark_lost()
    assert store.get_run(pending)["status"] == "running" and store.get_run(pending)["heartbeat_at"] is not None
    lost = store.get_run(timed_out)
    assert lost["status"] == "lost" and "TIMEOUT" in lost["error"] and "resume" in lost["hint"]


def test_slurm_with_sqlite_is_refused_naming_both_ways_out(env, tmp_path):
    path = write_config(tmp_path, "refused")
    result = CliRunner().invoke(main, ["launch", str(path), "--executor", "slurm", "--partition", "gpu"])
    assert result.exit_code == 2 and "needs a server database" in result.output
    assert "--db postgresql+psycopg://" in result.output and "--executor local" in result.output
    from engine.testing import tiny_config
    one_node = job_command({"id": 7, "kind": "distill"}, "postgresql://x", 3, tiny_config("distill", slurm={"gpus_per_node": 4}))
    assert one_node[1:5] == ["-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes=4"]
    assert one_node[5:7] == ["-m", "engine.jobs.worker"]  # a module, not a script path


@pytest.mark.slow  # eight runs, four of them trainings
def test_a_sweep_is_one_command_and_running_it_again_skips_what_is_done(env, monkeypatch):
    tmp_path, store = env
    monkeypatch.setattr("engine.jobs.launch.ensure_scheduler", lambda store: True)  # the queue runs here instead
    path = write_config(tmp_path, "sweep-T", train={"epochs": 1}, eval={"suites": [], "dev": ""})
    runner = CliRunner()
    dry = runner.invoke(main, ["sweep", str(path), "--grid", "distill.temperature=2,3", "--seeds", "2", "--dry-run"])
    assert dry.exit_code == 0 and "4 points" in dry.output and store.list_runs() == []
    first = runner.invoke(main, ["sweep", str(path), "--grid", "distill.temperature=2,3", "--seeds", "2"])
    assert first.exit_code == 0 and "4 points, 4 queued now" in first.output
    ids = [r["id"] for r in store.list_runs(limit=100)]
    run_queue(store)
    for run_id in ids:
        assert store.get_run(run_id)["status"] == "done"
    points = {store.get_run(i)["config"]["grid_point"] for i in ids}
    assert points == {f"distill.temperature={t} train.seed={s}" for t in (2, 3) for s in (42, 43)}
    assert {store.get_run(i)["config"]["sweep"] for i in ids} == {"sweep-T"}
    again = runner.invoke(main, ["sweep", str(path), "--grid", "distill.temperature=2,3", "--seeds", "2"])
    assert again.output.count("done already") == 4 and "0 queued now" in again.output
    assert len(store.list_runs(limit=100)) == len(ids)
    listing = runner.invoke(main, ["list"]).output
    assert f"sweep sweep-T: {len(ids)} done of {len(ids)} runs" in listing
    bad = runner.invoke(main, ["sweep", str(path), "--grid", "distill.temperature=2,-1"])
    assert bad.exit_code == 2 and "grid point distill.temperature=-1" in bad.output


def test_a_cluster_executor_without_submitit_is_refused_with_the_install_command(monkeypatch):
    from engine.jobs.executors import check_database_for
    monkeypatch.setitem(__import__("sys").modules, "submitit", None)  # import submitit now raises ImportError
    with pytest.raises(ValueError, match=r"pip install 'xlqa\[slurm\]'"):
        check_database_for("submitit-local", "sqlite:///x.db")
    check_database_for("local", "sqlite:///x.db")  # the local executor does not need it
