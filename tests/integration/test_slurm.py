"""Against a real Slurm: `--executor slurm` submits through sbatch to the one-node cluster that .ci/slurm.sh
starts, with the store on the PostgreSQL of .ci/postgres.sh (jobs on other hosts cannot share SQLite). Skipped
without them on a user's clone; required (failing) under CI, which sets XLQA_REQUIRE_SLURM=1.

The time-limit test shortens the running job's limit with `scontrol update TimeLimit` so that Slurm's
warning (SIGUSR2, slurm.warning_s before the limit) comes within its next time-limit check (every 30 s),
then gives the requeued job its limit back (a requeued job keeps the limit it had) and lets it start within
2 s (Slurm holds a requeued job for 2 minutes)."""

import math
import os
import shutil
import socket
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from db import Store
from engine.cli import main
from engine.jobs.executors import job_command
from engine.jobs.launch import ensure_scheduler
from engine.jobs.liveness import holder_alive
from engine.jobs.slurm_entry import node_command
from engine.jobs.slurm_state import job_states
from tests.helpers import pg_database_url
from tests.jobs_helpers import (TERMINAL, assert_same_rows, launch, rows, wait_for, wait_until,
                                write_config)

REQUIRE = os.environ.get("XLQA_REQUIRE_SLURM", "") not in ("", "0")
PARTITION = os.environ.get("XLQA_TEST_SLURM_PARTITION", "")

pytestmark = pytest.mark.slow  # a real Slurm cluster and real jobs


def slurm_state(job_id: str) -> str:
    return job_states([job_id]).get(job_id, "")


@pytest.fixture
def cluster(tmp_path, monkeypatch):
    """A fresh PostgreSQL database for the test, as XLQA_DB; the Slurm partition to submit to."""
    missing = []
    if not os.environ.get("XLQA_TEST_SLURM") or not shutil.which("sbatch"):
        missing.append("a Slurm cluster (source .ci/slurm.sh: it sets XLQA_TEST_SLURM=1)")
    if not os.environ.get("XLQA_TEST_PG_URL"):
        missing.append("PostgreSQL (source .ci/postgres.sh: it sets XLQA_TEST_PG_URL)")
    if missing:
        message = "needs " + " and ".join(missing)
        if REQUIRE:
            pytest.fail(message + " [XLQA_REQUIRE_SLURM is set]")
        pytest.skip(message)
    server = create_engine(os.environ["XLQA_TEST_PG_URL"], isolation_level="AUTOCOMMIT")
    name = f"xlqa_slurm_{uuid.uuid4().hex[:10]}"
    with server.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    url = pg_database_url(os.environ["XLQA_TEST_PG_URL"], name)
    monkeypatch.setenv("XLQA_DB", url)
    monkeypatch.setenv("XLQA_SLURM_POLL_S", "1")
    monkeypatch.chdir(tmp_path)
    store = Store(url)
    yield tmp_path, store
    jobs = [store.get_run(r["id"])["external_id"] for r in store.all_runs()]
    jobs = [j for j in jobs if j]
    if jobs:
        subprocess.run(["scancel", *jobs], capture_output=True)
    with create_engine(url).connect() as conn:  # its scheduler too: it would poll a dropped database forever
        for (pid,) in conn.execute(text("SELECT pid FROM scheduler_lease")).fetchall():
            if holder_alive(f"{socket.gethostname()}:{pid}", pid):
                os.kill(pid, signal.SIGKILL)
    with server.connect() as conn:  # FORCE: a scheduler still polling must not keep the database
        conn.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
    server.dispose()


def on_slurm(tmp_path, name, **sections):
    slurm = {"partition": PARTITION, "gpus_per_node": 0, "cpus_per_task": 1, **sections.pop("slurm", {})}
    return write_config(tmp_path, name, slurm=slurm, **sections)


class Trace:
    """The states a run goes through (its status with its Slurm job's state), for the CI log."""

    def __init__(self, store, run_id):
        self.store, self.run_id, self.seen = store, run_id, []

    def poll(self):
        run = self.store.get_run(self.run_id)
        state = (run["status"], slurm_state(run["external_id"]) if run["external_id"] else "")
        if not self.seen or self.seen[-1] != state:
            self.seen.append(state)
        return run

    def until(self, predicate, timeout=240, what="condition"):
        deadline = time.time() + timeout
        while time.time() < deadline:
            run = self.poll()
            if predicate(run):
                return run
            time.sleep(0.3)
        run = self.store.get_run(self.run_id)
        job = subprocess.run(["scontrol", "show", "job", "-o", run["external_id"] or "0"], capture_output=True,
                             text=True).stdout if run["external_id"] else ""
        log = Path(run["output_dir"] or ".") / "worker.log"
        tail = "".join(log.read_text().splitlines(keepends=True)[-15:]) if log.is_file() else "(no worker.log)"
        raise AssertionError(f"run {self.run_id}: timed out waiting for {what}; went through {self.seen}\n"
                             f"scontrol: {job}\nworker.log:\n{tail}")

    def __str__(self):
        return " -> ".join(f"{s}/{j or '-'}" for s, j in self.seen)


def test_an_experiment_runs_on_slurm_end_to_end_and_its_jobs_see_their_slurm_variables(cluster):
    tmp_path, store = cluster
    start = time.monotonic()
    ids = launch(on_slurm(tmp_path, "slurm-e2e", train={"epochs": 1}, eval={"max_per_cell": 5}), "--executor", "slurm")
    traces = [Trace(store, i) for i in ids]
    for trace in traces:
        trace.until(lambda r: r["status"] in TERMINAL, what="the end")
    runs = [store.get_run(i) for i in ids]
    assert [r["status"] for r in runs] == ["done"] * 3, [r["error"] for r in runs]
    assert runs[0]["ended_at"] <= runs[1]["started_at"] and runs[1]["ended_at"] <= runs[2]["started_at"]
    jobs = [r["external_id"] for r in runs]
    assert all(j.isdigit() for j in jobs) and len(set(jobs)) == 3
    wait_until(lambda: [slurm_state(j) for j in jobs] == ["COMPLETED"] * 3, timeout=30, what="3 COMPLETED jobs")
    host = subprocess.run(["hostname", "-s"], capture_output=True, text=True).stdout.strip()
    for run, job in zip(runs, jobs):  # the worker logs the job's own SLURM_* variables: they reached it
        logs = CliRunner().invoke(main, ["logs", str(run["id"])]).output
        assert f"in Slurm job {job}, node 0 of 1 ({host})" in logs
    for trace in traces:
        print(f"run {trace.run_id} ({store.get_run(trace.run_id)['kind']}): {trace}")
    print(f"experiment on Slurm: {time.monotonic() - start:.0f} s")


def test_a_gpu_asked_of_a_partition_without_gpus_is_refused_naming_the_key(cluster):
    """The sample job asks for no GPU, so it runs; the training job's refusal names slurm.gpus_per_node."""
    tmp_path, store = cluster
    ids = launch(on_slurm(tmp_path, "slurm-gres", slurm={"gpus_per_node": 1}, train={"epochs": 1},
                          eval={"suites": []}), "--executor", "slurm")
    assert wait_for(store, ids[0], TERMINAL, timeout=180)["status"] == "done"
    refused = wait_for(store, ids[1], TERMINAL, timeout=60)
    assert refused["status"] == "failed" and "gres" in refused["error"] and "slurm.gpus_per_node" in refused["error"]
    assert refused["external_id"] == ""


def test_cancel_goes_through_scancel_and_ends_cancelled_with_its_checkpoint(cluster):
    tmp_path, store = cluster
    ids = launch(on_slurm(tmp_path, "slurm-cancel", train={"epochs": 40, "checkpoint_every": 0}, eval={"suites": []}),
                 "--executor", "slurm")
    trace = Trace(store, ids[1])
    trace.until(lambda r: r["step"] >= 5, what="step 5")
    job = store.get_run(ids[1])["external_id"]
    assert "stopping" in CliRunner().invoke(main, ["cancel", str(ids[1])]).output
    run = trace.until(lambda r: r["status"] in TERMINAL, timeout=60, what="the end")
    assert run["status"] == "cancelled", run["error"]
    checkpoints = [a["step"] for a in store.artifacts(ids[1]) if a["kind"] == "checkpoint"]
    assert checkpoints and max(checkpoints) == run["step"]  # written where it stopped
    wait_until(lambda: slurm_state(job) == "CANCELLED", timeout=30, what="Slurm's CANCELLED")
    print(f"cancelled run {ids[1]}: {trace}")


def test_a_failing_job_ends_failed_with_slurms_state(cluster):
    """The worker killed inside its job (as the kernel's OOM killer would): Slurm ends the job FAILED."""
    tmp_path, store = cluster
    ids = launch(on_slurm(tmp_path, "slurm-fail", train={"epochs": 40}, eval={"suites": []}), "--executor", "slurm")
    trace = Trace(store, ids[1])
    trace.until(lambda r: r["step"] >= 3, what="step 3")
    os.kill(store.get_run(ids[1])["pid"], signal.SIGKILL)  # the job runs on this machine, its one node
    run = trace.until(lambda r: r["status"] in TERMINAL, timeout=60, what="the end")
    assert run["status"] == "failed" and f"job {run['external_id']} ended FAILED" in run["error"]
    # why the job failed is in the job's own log (submitit's), which the error quotes after the worker's
    assert f"--- {run['external_id']}_0_log.err" in run["error"] and "the worker exited with status -9" in run["error"]
    assert "resume" in run["hint"]
    print(f"failed run {ids[1]}: {trace}")


def test_a_restarted_scheduler_finds_its_jobs_again(cluster):
    """The scheduler dies; its training job fails while no scheduler runs; a new scheduler, which knows the job
    only by the id on the run, finds it FAILED (without the job's state the run would be lost, by heartbeat)."""
    tmp_path, store = cluster
    ids = launch(on_slurm(tmp_path, "slurm-restart", train={"epochs": 40}, eval={"suites": []}), "--executor", "slurm")
    trace = Trace(store, ids[1])
    trace.until(lambda r: r["step"] >= 3, what="step 3")
    engine = create_engine(store.url)
    with engine.connect() as conn:
        pid = conn.execute(text("SELECT pid FROM scheduler_lease")).scalar_one()
    engine.dispose()
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not store.lease_alive(holder_alive=holder_alive), timeout=30, what="the lease to free")
    job = store.get_run(ids[1])["external_id"]
    os.kill(store.get_run(ids[1])["pid"], signal.SIGKILL)
    wait_until(lambda: slurm_state(job) == "FAILED", timeout=30, what="the job FAILED")
    assert store.get_run(ids[1])["status"] == "running"  # nobody noticed yet
    assert ensure_scheduler(store)
    run = trace.until(lambda r: r["status"] in TERMINAL, timeout=60, what="the end")
    assert run["status"] == "failed" and f"job {job} ended FAILED" in run["error"]
    print(f"run {ids[1]} across a scheduler restart: {trace}")


def test_the_multi_node_command_line_whole():
    from engine.testing import tiny_config
    cfg = tiny_config("distill", slurm={"gpus_per_node": 4, "nodes": 2})
    worker = ["-m", "engine.jobs.worker", "--db", "postgresql://x", "--run", "7", "--attempt", "3"]
    assert job_command({"id": 7, "kind": "distill"}, "postgresql://x", 3, cfg) == [
        sys.executable, "-m", "engine.jobs.slurm_entry", "--gpus-per-node", "4", *worker]
    assert job_command({"id": 7, "kind": "evaluate"}, "postgresql://x", 3, cfg) == [sys.executable, *worker]
    env = {"SLURM_NNODES": "2", "SLURM_NODEID": "1", "SLURM_JOB_NODELIST": "gpu[07-08]", "SLURM_JOB_ID": "4242"}
    if os.environ.get("XLQA_TEST_SLURM"):  # scontrol expands the node list; it needs a slurm.conf
        assert node_command(["--gpus-per-node", "4", *worker], env) == [
            sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_machines=2", "--machine_rank=1",
            "--num_processes=8", "--main_process_ip=gpu07", "--main_process_port=29742", *worker]


def test_a_time_limit_mid_training_checkpoints_requeues_and_gives_the_rows_of_an_uninterrupted_run(cluster, request):
    tmp_path, store = cluster
    # long enough that the run is still training when Slurm warns (its time-limit check runs every 30 s)
    train_cfg = {"epochs": 20, "batch_size": 8, "log_every": 7, "checkpoint_every": 0}
    sections = dict(data={"synthetic_paragraphs": 100}, model={"name": "tiny-bert:128:2"},
                    features={"max_length": 128, "doc_stride": 48, "max_query_length": 24},
                    train=train_cfg, eval={"suites": [], "max_per_cell": 10})
    # the same config, uninterrupted, in a process of its own beside the Slurm job (this test's waits are
    # Slurm's, and the baseline is a whole training); one thread, as the job's cpus_per_task gives its worker
    base = tmp_path / "baseline"
    base.mkdir()
    with (base / "run.log").open("w") as log:
        baseline_run = subprocess.Popen(
            [sys.executable, "-m", "engine.cli", "run", str(write_config(base, "slurm-time", **sections)),
             "--db", str(base / "xlqa.db")], cwd=base, stdout=log, stderr=subprocess.STDOUT,
            env={**os.environ, "OMP_NUM_THREADS": "1"})
    request.addfinalizer(baseline_run.kill)   # a no-op once it has ended
    ids = launch(on_slurm(tmp_path, "slurm-time", slurm={"time": "00:10:00", "warning_s": 300}, **sections),
                 "--executor", "slurm")
    train = ids[1]
    trace = Trace(store, train)
    trace.until(lambda r: r["step"] >= 5, what="step 5")
    job = store.get_run(train)["external_id"]
    elapsed = subprocess.run(["squeue", "-h", "-j", job, "-o", "%M"], capture_output=True, text=True).stdout.strip()
    minutes = sum(int(p) * 60 ** i for i, p in enumerate(reversed(elapsed.split(":")))) / 60
    # the limit now 2-3 minutes away, within the 300 s warning: Slurm warns at its next check
    subprocess.run(["scontrol", "update", f"JobId={job}", f"TimeLimit={math.ceil(minutes) + 2}"], check=True)
    warned = trace.until(lambda r: r["pid"] is None, timeout=150, what="the warning's hand-back")  # 30 s checks, a loaded machine
    stopped = max(a["step"] for a in store.artifacts(train) if a["kind"] == "checkpoint")  # written at the warning
    assert warned["status"] == "running" and stopped >= max(s for s, _ in store.metric_series(train, "loss"))
    reason = lambda: subprocess.run(["squeue", "-h", "-j", job, "-o", "%T %r"], capture_output=True, text=True).stdout
    wait_until(lambda: reason().strip() == "PENDING BeginTime", timeout=30, what="the job requeued")
    # its own limit again, and a start now rather than after Slurm's 2 minutes, but in a later second than the
    # requeue's: the requeue revoked the job's credential, to the second, and a start within that same second is
    # refused ("Killing non-startable batch JobId=N: Job credential revoked" in slurmctld.log; the job ends
    # FAILED). That was this test's failure in 2 of 5 CI runs and 3 of 9 runs here under load; Slurm's own hold
    # (cred_expire, 120 s) never meets it. (StartTime=now+2 waits for the scheduler's next pass, ~30 s.)
    requeued = math.floor(time.time())
    wait_until(lambda: time.time() >= requeued + 2, timeout=5, what="a second after the requeue's")
    subprocess.run(["scontrol", "update", f"JobId={job}", "TimeLimit=10", "StartTime=now"], check=True)
    done = trace.until(lambda r: r["status"] in TERMINAL, timeout=300, what="the end")
    assert done["status"] == "done" and done["external_id"] == job and done["attempt"] == 1, (  # say why, if not
        done["status"], store.get_run(train)["error"], store.get_run(train)["hint"])
    log = CliRunner().invoke(main, ["logs", str(train)]).output
    assert "resuming from" in log
    assert baseline_run.wait(timeout=600) == 0, (base / "run.log").read_text()[-3000:]
    base_store = Store(str(base / "xlqa.db"))
    base_train = next(r for r in base_store.list_runs() if r["kind"] == "distill")
    resumed = rows(store, train)
    # the checkpoint written at the warning is one more artifact row than an uninterrupted run has, unless the
    # warning fell on a periodic checkpoint's step; every other row must be equal
    baseline = rows(base_store, base_train["id"])
    if ("checkpoint", "checkpoint", stopped) not in baseline["artifact"]:
        resumed["artifact"].remove(("checkpoint", "checkpoint", stopped))
    counts = assert_same_rows(baseline, resumed)
    print(f"time-limit run {train}: stopped at step {stopped} of {done['step']}; {trace}; rows {counts}")


def test_sbatch_refusals_name_the_key_and_a_time_limit_too_short_is_refused_at_launch(cluster):
    from engine.jobs.executors import submit
    from engine.testing import tiny_config
    tmp_path, store = cluster
    run = {"id": 1, "kind": "distill", "output_dir": str(tmp_path / "refused")}
    for slurm, key in (({"gpus_per_node": 1}, "slurm.gpus_per_node"), ({"cpus_per_task": 512}, "slurm.cpus_per_task")):
        cfg = tiny_config("distill", slurm={"partition": PARTITION, "gpus_per_node": 0, "cpus_per_task": 1, **slurm})
        with pytest.raises(ValueError, match=rf"sbatch: error: .*; change {key}"):
            submit(run, cfg, store.url, 1, "slurm")
    result = CliRunner().invoke(main, ["launch", str(on_slurm(tmp_path, "short")), "--executor", "slurm",
                                       "--time", "00:01:00"])
    assert result.exit_code == 2 and "slurm.time = 00:01:00 leaves no time" in result.output
    assert "at least 150 s" in result.output and store.list_runs() == []


def test_without_accounting_states_come_from_squeue_and_scontrol(cluster, monkeypatch):
    """sacct as it answers on a cluster without slurmdbd (a failing stand-in on PATH; the rest is real)."""
    import engine.jobs.slurm_state as slurm_states
    tmp_path, _ = cluster
    shim = tmp_path / "bin"
    shim.mkdir()
    (shim / "sacct").write_text("#!/bin/sh\necho 'sacct: error: Slurm accounting storage is disabled' >&2\nexit 1\n")
    (shim / "sacct").chmod(0o755)
    submit = lambda *cmd: subprocess.run(["sbatch", "--parsable", "-p", PARTITION, "-o", "/dev/null", *cmd],
                                         capture_output=True, text=True, check=True).stdout.strip()
    running, ended = submit("--wrap", "sleep 60"), submit("--wrap", "exit 3")
    monkeypatch.setenv("PATH", f"{shim}{os.pathsep}{os.environ['PATH']}")
    assert slurm_states.from_sacct([running, ended]) == {}
    try:
        wait_until(lambda: slurm_states.job_states([running, ended]) == {running: "RUNNING", ended: "FAILED"},
                   timeout=60, what="squeue's RUNNING and scontrol's FAILED")
    finally:
        subprocess.run(["scancel", running, ended])
