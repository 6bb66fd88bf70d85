"""Where a claimed run's worker runs. `local` (the default): a detached process on this machine, started by
the scheduler. `slurm`: a Slurm job submitted through submitit (multi-GPU and multi-node under accelerate in
the job); `submitit-local`: the same submitit code path on this machine (submitit's local executor), to try
a Slurm setup without a cluster. The single-host scheduler submits a run when its dependency is done, so run
dependencies hold on Slurm as on one machine."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from db.states import TRAINING_KINDS
from engine.jobs.commands import worker_args, worker_command

EXECUTORS = ("local", "slurm", "submitit-local")
REPO = Path(__file__).resolve().parents[2]
# Slurm states after which the job will never write again. A job that failed on its own makes its run
# failed; one that was stopped from outside (time limit, preemption, node failure, a bare scancel) makes it
# lost. Either way with the state in the error, and `resume` continues from the last checkpoint.
FAILED = {"FAILED", "OUT_OF_MEMORY", "BOOT_FAIL"}
ENDED = FAILED | {"TIMEOUT", "PREEMPTED", "NODE_FAIL", "CANCELLED", "DEADLINE", "REVOKED", "INTERRUPTED",
                  "FINISHED", "COMPLETED"}
WAITING = {"PENDING", "REQUEUED", "CONFIGURING", "SUSPENDED", "RESIZING", "REQUEUE_HOLD", "REQUEUE_FED"}
MAX_REQUEUES = 50  # time-limit requeues of one job (each continues from the checkpoint of the one before)
MIN_WORK_S = 60
ENDED_GRACE_S = 10.0  # a job Slurm calls ended whose worker heartbeat this recently is still saving  # a job must be able to work this long before its time-limit warning
STATE_POLL_S = float(os.environ.get("XLQA_SLURM_POLL_S", "5"))  # sacct at most this often, for all jobs at once
# what sbatch says when it refuses a job -> the [slurm] key (and flag) to change
REFUSALS = (("generic resource", "slurm.gpus_per_node (--gpus-per-node; 0 on a partition without GPUs)"),
            ("gres", "slurm.gpus_per_node (--gpus-per-node; 0 on a partition without GPUs)"),
            ("processors requested", "slurm.cpus_per_task (at most the cores of one node)"),
            ("node count", "slurm.nodes (--nodes)"),
            ("partition", "slurm.partition (--partition; `sinfo -s` lists them)"),
            ("account", "slurm.account (--account; `sacctmgr show assoc user=$USER` lists yours)"),
            ("time limit", "slurm.time (--time; at most the partition's MaxTime, `sinfo -o '%P %l'`)"),
            ("node configuration is not available", "slurm.cpus_per_task or slurm.gpus_per_node (more than one "
             "node of the partition has)"))


def check_database_for(executor: str, url: str) -> None:
    """Jobs on other hosts need a server database, and submitit (ValueError otherwise)."""
    if executor != "local":
        try:
            import submitit  # noqa: F401
        except ImportError:
            raise ValueError(f"--executor {executor} needs submitit: pip install 'xlqa[slurm]' "
                             "(or pip install submitit)") from None
    if executor == "slurm" and url.startswith("sqlite"):
        raise ValueError("--executor slurm needs a server database: jobs on other nodes cannot share a SQLite file "
                         "safely (file locks over NFS are unreliable). Either use a server database, "
                         "--db postgresql+psycopg://USER@HOST/DB (or XLQA_DB), or keep SQLite and run on this "
                         "machine with --executor local")


def check_launch(executor: str, url: str, cfg) -> None:
    """Everything that would make a launch fail later, refused now (ValueError): the database, submitit, and
    a time limit too short for the warning that lets a job save before it."""
    check_database_for(executor, url)
    if executor == "slurm" and cfg.slurm.time_s < cfg.slurm.warning_s + MIN_WORK_S:
        raise ValueError(f"slurm.time = {cfg.slurm.time} leaves no time to work: Slurm warns the job "
                         f"slurm.warning_s = {cfg.slurm.warning_s} s before its limit, and it then stops to save; "
                         f"give slurm.time (--time) at least {cfg.slurm.warning_s + MIN_WORK_S} s, or lower "
                         "slurm.warning_s")


def job_command(run: dict, db_url: str, attempt: int, cfg) -> list[str]:
    """The command a Slurm job runs (once per node): the worker, under accelerate for several GPUs/nodes."""
    gpus, nodes = cfg.slurm.gpus_per_node, cfg.slurm.nodes
    trains = run["kind"] in TRAINING_KINDS
    if trains and nodes > 1:  # slurm_entry starts each node's launcher with its rank
        return [sys.executable, "-m", "engine.jobs.slurm_entry", "--gpus-per-node", str(gpus),
                *worker_args(run["id"], db_url, attempt)]
    return worker_command(run["id"], db_url, attempt, gpus=gpus if trains else 1)


def resources(run: dict, cfg) -> dict:
    """What a run's job asks Slurm for: sampling needs no GPU, evaluation one, training all of them."""
    trains = run["kind"] in TRAINING_KINDS
    gpus = cfg.slurm.gpus_per_node if trains else (min(1, cfg.slurm.gpus_per_node) if run["kind"] == "evaluate" else 0)
    return {"nodes": cfg.slurm.nodes if trains else 1, "gpus_per_node": gpus, "cpus_per_task": cfg.slurm.cpus_per_task}


def explain_refusal(message: str) -> str:
    """sbatch's refusal, with the config key that changes what was asked."""
    keys = [key for pattern, key in REFUSALS if pattern in message.lower()]
    return message.strip() + (f"; change {keys[0]}" if keys else "")


def submit(run: dict, cfg, db_url: str, attempt: int, executor: str):
    """Submit the run's worker; returns the submitit job (its job_id is the Slurm job id). ValueError naming
    the config key when sbatch refuses the job."""
    import submitit
    from engine.jobs.slurm_job import WorkerJob
    folder = Path(run["output_dir"]) / "submitit"
    cluster = "slurm" if executor == "slurm" else "local"
    ex = submitit.AutoExecutor(folder=folder, cluster=cluster, slurm_max_num_timeout=MAX_REQUEUES)
    need = resources(run, cfg)
    params = {"timeout_min": cfg.slurm.timeout_min, "name": f"xlqa-{run['id']}-{run['kind']}", "tasks_per_node": 1}
    if executor == "slurm":
        params.update(need, slurm_signal_delay_s=cfg.slurm.warning_s)
        if cfg.slurm.partition:
            params["slurm_partition"] = cfg.slurm.partition
        if cfg.slurm.account:
            params["slurm_account"] = cfg.slurm.account
    ex.update_parameters(**params)
    job = WorkerJob(job_command(run, db_url, attempt, cfg), db_url, run["id"], attempt,
                    log=str(Path(run["output_dir"]) / "worker.log"), gpus=need["gpus_per_node"],
                    grace_s=max(10, cfg.slurm.warning_s - 15))
    try:
        return ex.submit(job)
    except (submitit.core.utils.FailedJobError, submitit.core.utils.FailedSubmissionError) as e:
        raise ValueError(explain_refusal("; ".join(line.strip() for line in str(e).splitlines() if line.strip()))) from None


def job_state(run: dict, jobs: dict, max_age_s: float = 0.0) -> str:
    """The executor's state of a run's job ('' when unknown): Slurm's, asked of the cluster by job id (so a
    restarted scheduler finds its jobs again); a submitit-local job's from the job object this process holds."""
    if run["executor"] == "slurm" and run["external_id"]:
        from engine.jobs.slurm_state import job_states
        return job_states([run["external_id"]], max_age_s).get(run["external_id"], "")
    job = jobs.get(run["id"])
    return str(job.state).upper() if job is not None else ""


def job_states(runs: list[dict], jobs: dict) -> dict[int, str]:
    """{run id: state} for many runs, with one sacct call for all the Slurm ones."""
    from engine.jobs.slurm_state import job_states as slurm_states
    ids = [r["external_id"] for r in runs if r["executor"] == "slurm" and r["external_id"]]
    slurm = slurm_states(ids, STATE_POLL_S) if ids else {}
    return {r["id"]: slurm.get(r["external_id"], "") if r["executor"] == "slurm" else job_state(r, jobs)
            for r in runs}


def cancel_job(run: dict) -> None:
    """scancel: Slurm sends SIGTERM to the job; its worker sees the cancel flag, checkpoints and ends cancelled."""
    if run["executor"] == "slurm" and run["external_id"]:
        import subprocess
        subprocess.run(["scancel", run["external_id"]], capture_output=True, timeout=30)
