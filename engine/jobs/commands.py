"""The worker's command line, built once: the scheduler starts it on this machine, a Slurm job (through
engine.jobs.executors and engine.jobs.slurm_entry) on a cluster's node."""

from __future__ import annotations

import sys


def worker_args(run_id: int, db_url: str, attempt: int | None = None) -> list[str]:
    """`-m engine.jobs.worker ...`: a module, not a script path, so it runs from any working directory."""
    args = ["-m", "engine.jobs.worker", "--db", db_url, "--run", str(run_id)]
    return args + ["--attempt", str(attempt)] if attempt is not None else args


def accelerate_args(processes: int, port: int | None = None, machines: int | None = None, rank: int = 0,
                    ip: str | None = None) -> list[str]:
    """accelerate's launcher for DDP over `processes` GPUs in all (rank 0 writes the store); `machines`, `rank`
    and `ip` (the first node's) for a job over several nodes."""
    nodes = [f"--num_machines={machines}", f"--machine_rank={rank}"] if machines else []
    return ["-m", "accelerate.commands.launch", "--multi_gpu", *nodes, f"--num_processes={processes}",
            *([f"--main_process_ip={ip}"] if ip else []), *([f"--main_process_port={port}"] if port else [])]


def worker_command(run_id: int, db_url: str, attempt: int | None = None, gpus: int = 1,
                   port: int | None = None) -> list[str]:
    """The worker under this Python; under accelerate when it trains on several GPUs."""
    worker = worker_args(run_id, db_url, attempt)
    if gpus > 1:
        return [sys.executable, *accelerate_args(gpus, port), *worker]
    return [sys.executable, *worker]
