"""GPU choice by free memory, numbered like nvidia-smi (CUDA_DEVICE_ORDER=PCI_BUS_ID)."""

from __future__ import annotations

import os
import subprocess


def gpu_free_memory() -> dict[int, int]:
    """{gpu index: free MiB} (PCI bus order, as nvidia-smi numbers them) through NVML; nvidia-smi when the
    NVML binding is missing; {} when there is no GPU."""
    try:
        import pynvml
        pynvml.nvmlInit()
        free = {}
        for i in range(pynvml.nvmlDeviceGetCount()):
            free[i] = pynvml.nvmlDeviceGetMemoryInfo(pynvml.nvmlDeviceGetHandleByIndex(i)).free // 2**20
        return free
    except ImportError:
        pass
    except Exception:  # no driver or no GPU
        return {}
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=index,memory.free", "--format=csv,noheader,nounits"],
                             capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    free = {}
    for line in out.strip().splitlines():
        idx, mem = (x.strip() for x in line.split(","))
        free[int(idx)] = int(mem)
    return free


def pick_gpus(requested: str, busy: set[int], count: int = 1, free: dict[int, int] | None = None) -> list[int] | None:
    """GPUs for a job: the requested ones if all idle, else the `count` idle GPUs with most free memory.
    None: wait (all busy). [] : run on CPU (no GPU, or 'cpu' requested)."""
    if requested == "cpu":
        return []
    free = gpu_free_memory() if free is None else free
    if not free:
        return []
    if requested:
        wanted = [int(x) for x in requested.split(",") if x.strip()]
        return wanted if not (set(wanted) & busy) else None
    idle = sorted((g for g in free if g not in busy), key=lambda g: -free[g])
    return idle[:count] if len(idle) >= count else None


def cpu_threads(cpu_slots: int) -> int:
    """Intra-op threads for one CPU worker: the cores shared by the slots. More threads than cores makes
    PyTorch's OpenMP workers spin against each other (a student trained ~10x slower beside one more process
    on a 2-core machine)."""
    return max(1, (os.cpu_count() or 1) // max(1, cpu_slots))


def worker_env(gpus: list[int], port: int, threads: int | None = None) -> dict[str, str]:
    """The worker's environment: its GPUs, its rendezvous port, and for a CPU job its share of the cores
    (`threads`; an OMP_NUM_THREADS the user set wins)."""
    env = dict(os.environ)
    if threads and not gpus:
        env.setdefault("OMP_NUM_THREADS", str(threads))
    env["CUDA_DEVICE_ORDER"] = "PCI_BUS_ID"
    env["CUDA_VISIBLE_DEVICES"] = ",".join(map(str, gpus)) if gpus else ""
    env["MASTER_PORT"] = str(port)
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    return env
