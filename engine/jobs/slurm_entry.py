"""One node of a multi-node Slurm job: start this node's accelerate launcher with its machine rank and the
first node as rendezvous. `python -m engine.jobs.slurm_entry --gpus-per-node N -m engine.jobs.worker ...`
(what engine.jobs.executors.job_command writes)."""

from __future__ import annotations

import os
import subprocess
import sys


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    gpus = int(argv[argv.index("--gpus-per-node") + 1])
    worker = argv[argv.index("--gpus-per-node") + 2:]
    nodes = int(os.environ.get("SLURM_NNODES", "1"))
    rank = int(os.environ.get("SLURM_NODEID", "0"))
    hosts = subprocess.run(["scontrol", "show", "hostnames", os.environ["SLURM_JOB_NODELIST"]],
                           capture_output=True, text=True, check=True).stdout.split()
    port = 29500 + int(os.environ.get("SLURM_JOB_ID", "0")) % 1000
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", f"--num_machines={nodes}",
           f"--machine_rank={rank}", f"--num_processes={nodes * gpus}", f"--main_process_ip={hosts[0]}",
           f"--main_process_port={port}", *worker]
    return subprocess.call(cmd)


if __name__ == "__main__":
    sys.exit(main())
