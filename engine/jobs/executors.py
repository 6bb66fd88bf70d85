"""Where a claimed run's worker runs. `local` (the default): a detached process on this machine, started by
the scheduler. `slurm`: a Slurm job submitted through submitit (multi-GPU and multi-node under accelerate in
the job); `submitit-local`: the same submitit code path on this machine (submitit's local executor), to try
a Slurm setup without a cluster. The single-host scheduler submits a run when its dependency is done, so run
dependencies hold on Slurm as on one machine."""

from __future__ import annotations

import os
import sys
from pathlib import Path

EXECUTORS = ("local", "slurm", "submitit-local")
REPO = Path(__file__).resolve().parents[2]
# Slurm states after which the job will never write again: the run becomes lost, with the state
ENDED = {"FAILED", "TIMEOUT", "PREEMPTED", "NODE_FAIL", "CANCELLED", "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE",
         "REVOKED", "INTERRUPTED", "FINISHED", "COMPLETED"}
WAITING = {"PENDING", "REQUEUED", "CONFIGURING", "SUSPENDED", "RESIZING", "REQUEUE_HOLD", "REQUEUE_FED"}


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
                         "safely (file locks over NFS are unreliable); use --db postgresql+psycopg://USER@HOST/DB")


def job_command(run: dict, db_url: str, attempt: int, cfg) -> list[str]:
    """The command a Slurm job runs (once per node): the worker, under accelerate for several GPUs/nodes."""
    base = ["-m", "engine.jobs.worker", "--db", db_url, "--run", str(run["id"]), "--attempt", str(attempt)]
    gpus, nodes = cfg.slurm.gpus_per_node, cfg.slurm.nodes
    if run["kind"] in ("teacher", "distill") and nodes > 1:
        return [sys.executable, "-m", "engine.jobs.slurm_entry", "--gpus-per-node", str(gpus), *base[1:]]
    if run["kind"] in ("teacher", "distill") and gpus > 1:
        return [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", f"--num_processes={gpus}", *base]
    return [sys.executable, *base]


def submit(run: dict, cfg, db_url: str, attempt: int, executor: str):
    """Submit the run's worker; returns the submitit job (its job_id is the Slurm job id)."""
    import submitit
    folder = Path(run["output_dir"]) / "submitit"
    cluster = "slurm" if executor == "slurm" else "local"
    ex = submitit.AutoExecutor(folder=folder, cluster=cluster)
    trains = run["kind"] in ("teacher", "distill")
    params = {"timeout_min": cfg.slurm.timeout_min, "name": f"xlqa-{run['id']}-{run['kind']}", "tasks_per_node": 1}
    if executor == "slurm":
        params.update(nodes=cfg.slurm.nodes if trains else 1, gpus_per_node=cfg.slurm.gpus_per_node,
                      cpus_per_task=cfg.slurm.cpus_per_task)
        if cfg.slurm.partition:
            params["slurm_partition"] = cfg.slurm.partition
        if cfg.slurm.account:
            params["slurm_account"] = cfg.slurm.account
    ex.update_parameters(**params)
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "XLQA_WORKER_LOG": str(Path(run["output_dir"]) / "worker.log")}
    env.pop("XLQA_DETACHED", None)
    return ex.submit(submitit.helpers.CommandFunction(job_command(run, db_url, attempt, cfg), cwd=str(REPO), env=env))


def job_state(run: dict, jobs: dict) -> str:
    """The executor's state of a run's job: the submitted job object when this process holds it, else (Slurm)
    asked of the cluster by job id; '' when unknown."""
    job = jobs.get(run["id"])
    if job is not None:
        return str(job.state).upper()
    if run["executor"] == "slurm" and run["external_id"]:
        import submitit
        return str(submitit.SlurmJob(Path(run["output_dir"]) / "submitit", run["external_id"]).state).upper()
    return ""


def cancel_job(run: dict) -> None:
    """scancel (Slurm); a submitit-local job is stopped by SIGTERM to its worker like a local one."""
    if run["executor"] == "slurm" and run["external_id"]:
        import submitit
        submitit.SlurmJob(Path(run["output_dir"]) / "submitit", run["external_id"]).cancel(check=False)
