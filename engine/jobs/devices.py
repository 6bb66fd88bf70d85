"""GPU choice by free memory, numbered like nvidia-smi (CUDA_DEVICE_ORDER=PCI_BUS_ID).

The scheduler schedules only onto the GPUs its own environment lets it use: a `CUDA_VISIBLE_DEVICES` set
around it (by hand, by Slurm, by a container) restricts the machine's GPUs to those entries, given as
indices or as UUIDs (`GPU-…`), and an empty one means no GPU. A worker is handed its GPUs under the names
that restriction used, so it sees exactly what the scheduler meant. Reading the GPUs never fails: a
missing driver, a driver/library mismatch or an answer that cannot be parsed means CPU, with a warning."""

from __future__ import annotations

import os
import subprocess
import warnings
from dataclasses import dataclass


class DeviceWarning(UserWarning):
    """The GPUs could not be read (or some of them not): jobs go to the CPU or to the GPUs that could."""


class DeviceError(ValueError):
    """A run asked for GPUs this scheduler may not use."""


@dataclass(frozen=True)
class Gpu:
    index: int       # as nvidia-smi and NVML number it (PCI bus order)
    uuid: str
    free_mib: int


def _warn(message: str) -> None:
    warnings.warn(f"{message}; scheduling on the GPUs that could be read, else on CPU", DeviceWarning, stacklevel=3)


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)  # older bindings return bytes


NO_DRIVER = ("NVMLError_LibraryNotFound", "NVMLError_DriverNotLoaded")  # a machine without NVIDIA GPUs


def _nvml_gpus(pynvml) -> list[Gpu]:
    try:
        pynvml.nvmlInit()
        count = pynvml.nvmlDeviceGetCount()
    except Exception as e:
        if type(e).__name__ not in NO_DRIVER:  # a driver/library mismatch, say; no driver is plain CPU
            _warn(f"NVML: {e}")
        return []
    gpus = []
    for i in range(count):
        try:
            handle = pynvml.nvmlDeviceGetHandleByIndex(i)
            gpus.append(Gpu(i, _text(pynvml.nvmlDeviceGetUUID(handle)),
                            int(pynvml.nvmlDeviceGetMemoryInfo(handle).free // 2**20)))
        except Exception as e:  # one GPU that cannot be read (MIG mode, fallen off the bus) is left out
            _warn(f"NVML: GPU {i}: {e}")
    return gpus


def _smi_gpus() -> list[Gpu]:
    try:
        done = subprocess.run(["nvidia-smi", "--query-gpu=index,uuid,memory.free", "--format=csv,noheader,nounits"],
                              capture_output=True, text=True, timeout=10)
    except FileNotFoundError:  # no NVIDIA driver here: CPU, nothing to warn about
        return []
    except (OSError, subprocess.SubprocessError) as e:
        _warn(f"nvidia-smi: {e}")
        return []
    if done.returncode != 0:  # e.g. "Failed to initialize NVML: Driver/library version mismatch"
        said = (done.stderr.strip() or done.stdout.strip()).splitlines()
        _warn(f"nvidia-smi exited with {done.returncode}: {said[0] if said else 'no message'}")
        return []
    gpus = []
    for line in done.stdout.strip().splitlines():
        parts = [x.strip() for x in line.split(",")]
        try:
            index, uuid, free = parts
            gpus.append(Gpu(int(index), uuid, int(free)))
        except ValueError:  # "[N/A]" under MIG, "[Unknown Error]", a changed format
            _warn(f"nvidia-smi: cannot read {line.strip()!r} (index, uuid, memory.free); that GPU is left out")
    return gpus


def machine_gpus() -> list[Gpu]:
    """Every GPU of the machine through NVML (nvidia-ml-py); nvidia-smi when the binding is missing;
    [] when there is none or they cannot be read. Never raises."""
    try:
        import pynvml
    except ImportError:
        return _smi_gpus()
    return _nvml_gpus(pynvml)


def visible_gpus(gpus: list[Gpu], restriction: str | None = None) -> dict[int, str]:
    """{index: the name a worker gets in CUDA_VISIBLE_DEVICES} of the GPUs this process may use:
    `restriction` (default: this process's CUDA_VISIBLE_DEVICES) limits them, by index or by UUID (a
    unique prefix is enough, as for CUDA); unset: every GPU; empty: none. As CUDA does, the entries
    after one that names no GPU are ignored (`-1` hides every GPU)."""
    if restriction is None:
        restriction = os.environ.get("CUDA_VISIBLE_DEVICES")
    if restriction is None:
        return {g.index: str(g.index) for g in gpus}
    out = {}
    for entry in (e.strip() for e in restriction.split(",")):
        if not entry:
            continue
        if entry.isdigit():
            found = [g for g in gpus if g.index == int(entry)]
        else:
            found = [g for g in gpus if g.uuid.startswith(entry)]
        if len(found) != 1:
            if gpus and not entry.startswith("-"):
                _warn(f"CUDA_VISIBLE_DEVICES={restriction}: {entry!r} names {len(found) or 'no'} GPU of this "
                      "machine (nvidia-smi -L lists them), it and the entries after it are ignored")
            break
        out.setdefault(found[0].index, entry)
    return out


@dataclass(frozen=True)
class Usable:
    """The GPUs this scheduler may use, read once per poll."""
    free: dict[int, int]     # index -> free MiB
    names: dict[int, str]    # index -> its name in the worker's CUDA_VISIBLE_DEVICES
    uuids: dict[str, int]    # uuid -> index, for --devices given as UUIDs


def usable_gpus() -> Usable:
    gpus = machine_gpus()
    names = visible_gpus(gpus)
    mine = [g for g in gpus if g.index in names]
    return Usable({g.index: g.free_mib for g in mine}, names, {g.uuid: g.index for g in mine})


def pick_gpus(requested: str, busy: set[int], count: int = 1, free: dict[int, int] | None = None,
              uuids: dict[str, int] | None = None) -> list[int] | None:
    """GPUs for a job: the requested ones (indices, or UUIDs through `uuids`) if all idle, else the `count`
    idle GPUs with most free memory. None: wait (all busy). [] : run on CPU (no GPU, or 'cpu' requested).
    DeviceError: a requested GPU is not one this scheduler may use."""
    if requested == "cpu":
        return []
    free = usable_gpus().free if free is None else free
    if not free:
        return []
    if requested:
        wanted = []
        for entry in (x.strip() for x in requested.split(",") if x.strip()):
            index = int(entry) if entry.isdigit() else next((i for u, i in (uuids or {}).items()
                                                             if u.startswith(entry)), None)
            if index not in free:
                raise DeviceError(f"GPU {entry} is not one this scheduler may use (it sees "
                                  f"{', '.join(map(str, sorted(free)))}; CUDA_VISIBLE_DEVICES restricts them)")
            wanted.append(index)
        return wanted if not (set(wanted) & busy) else None
    idle = sorted((g for g in free if g not in busy), key=lambda g: -free[g])
    return idle[:count] if len(idle) >= count else None


def cpu_threads(cpu_slots: int) -> int:
    """Intra-op threads for one CPU worker: the cores shared by the slots. More threads than cores makes
    PyTorch's OpenMP workers spin against each other (a student trained ~10x slower beside one more process
    on a 2-core machine)."""
    return max(1, (os.cpu_count() or 1) // max(1, cpu_slots))


def worker_env(gpus: list[int], port: int, threads: int | None = None, names: dict[int, str] | None = None) -> dict[str, str]:
    """The worker's environment: its GPUs, under the names the scheduler's own restriction gave them
    (`names`; an index by default), its rendezvous port, and for a CPU job its share of the cores
    (`threads`; an OMP_NUM_THREADS the user set wins)."""
    env = dict(os.environ)
    if threads and not gpus:
        env.setdefault("OMP_NUM_THREADS", str(threads))
    env["CUDA_DEVICE_ORDER"] = "PCI_BUS_ID"
    env["CUDA_VISIBLE_DEVICES"] = ",".join((names or {}).get(g, str(g)) for g in gpus)
    env["MASTER_PORT"] = str(port)
    env.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # train.deterministic needs it before CUDA starts
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    return env
