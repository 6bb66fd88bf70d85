"""One node of a multi-node Slurm job: start this node's accelerate launcher with its machine rank and the
first node as rendezvous. `python -m engine.jobs.slurm_entry --gpus-per-node N -m engine.jobs.worker ...`
(what engine.jobs.executors.job_command writes)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from engine.jobs.commands import accelerate_args


def node_command(argv: list[str], env) -> list[str]:
    """This node's accelerate launcher, from the job's SLURM_* variables (present: the job keeps its own
    environment, engine.jobs.slurm_job)."""
    gpus = int(argv[argv.index("--gpus-per-node") + 1])
    worker = argv[argv.index("--gpus-per-node") + 2:]  # -m engine.jobs.worker ...
    nodes, rank = int(env["SLURM_NNODES"]), int(env["SLURM_NODEID"])
    hosts = subprocess.run(["scontrol", "show", "hostnames", env["SLURM_JOB_NODELIST"]],
                           capture_output=True, text=True, check=True).stdout.split()
    port = 29500 + int(env["SLURM_JOB_ID"]) % 1000
    return [sys.executable, *accelerate_args(nodes * gpus, port, machines=nodes, rank=rank, ip=hosts[0]), *worker]


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    missing = [k for k in ("SLURM_NNODES", "SLURM_NODEID", "SLURM_JOB_NODELIST", "SLURM_JOB_ID") if k not in os.environ]
    if missing:  # every node would think itself rank 0 of one
        print(f"engine.jobs.slurm_entry runs inside a Slurm job: {', '.join(missing)} unset", file=sys.stderr)
        return 2
    proc = subprocess.Popen(node_command(argv, os.environ))
    for sig in (signal.SIGTERM, signal.SIGUSR2):  # the stop and the time-limit warning reach the workers
        signal.signal(sig, lambda signum, _frame: proc.send_signal(signum))
    return proc.wait()


if __name__ == "__main__":
    sys.exit(main())
