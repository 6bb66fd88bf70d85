"""The machine while a job runs, as metrics every few seconds: CPU %, RAM used (GB), the worker's resident
memory (GB), and per visible GPU its utilisation % and memory used (GB) through NVML (nvidia-ml-py), when
there is one. Keys start with `sys_` (GPU ones carry the device as context, e.g. `gpu0`); their step is
the number of seconds since the run was queued, so attempts of a resumed run never collide. They describe
the machine, not the training, so a resume never truncates them."""

from __future__ import annotations

import logging
import os
import threading
from datetime import datetime

INTERVAL_S = float(os.environ.get("XLQA_SYS_INTERVAL_S", "5"))
log = logging.getLogger("xlqa.sysmon")


def visible_entries(value: str | None) -> list[str] | None:
    """The entries of a CUDA_VISIBLE_DEVICES value: None when unset (every GPU), [] when empty (a CPU job: no
    GPU at all). Indices and UUIDs are kept; as CUDA does, an entry such as -1 hides itself and the rest."""
    if value is None:
        return None
    out = []
    for entry in (e.strip() for e in value.split(",")):
        if not entry:
            continue
        if entry.startswith("-"):
            break
        out.append(entry)
    return out


def gpu_handles():
    """[(visible index, NVML handle)] of the GPUs this process may use; [] without NVML, without a GPU, or for
    a CPU job. Never raises: a GPU that cannot be opened is left out, with a warning in the worker log."""
    try:
        import pynvml
        pynvml.nvmlInit()
        entries = visible_entries(os.environ.get("CUDA_VISIBLE_DEVICES"))
        if entries is None:
            entries = [str(i) for i in range(pynvml.nvmlDeviceGetCount())]
    except Exception:  # no driver, no library, no GPU
        return []
    handles = []
    for n, entry in enumerate(entries):
        try:
            handle = _handle(pynvml, entry)
        except Exception as e:
            log.warning("system metrics: GPU %s (CUDA_VISIBLE_DEVICES) cannot be read through NVML: %s", entry, e)
            continue
        handles.append((n, handle))
    return handles


def _handle(pynvml, entry: str):
    """The scheduler hands GPUs by index (PCI bus order, as NVML numbers them) or by UUID, which CUDA also
    accepts as a unique prefix."""
    if entry.isdigit():
        return pynvml.nvmlDeviceGetHandleByIndex(int(entry))
    for i in range(pynvml.nvmlDeviceGetCount()):
        handle = pynvml.nvmlDeviceGetHandleByIndex(i)
        uuid = pynvml.nvmlDeviceGetUUID(handle)
        if (uuid.decode() if isinstance(uuid, bytes) else uuid).startswith(entry):
            return handle
    raise LookupError(f"no GPU has the UUID {entry}")


def sample(process, handles) -> list[tuple[str, str, float]]:
    """(key, context, value) of one reading. A value that cannot be read (a NotSupported query under MIG, a
    child process that just ended) is left out; the others of the reading stay."""
    import psutil
    memory = psutil.virtual_memory()
    rows = [("sys_cpu_percent", "", psutil.cpu_percent(interval=None)),
            ("sys_ram_used_gb", "", (memory.total - memory.available) / 1e9)]
    try:
        rss = process.memory_info().rss + sum(c.memory_info().rss for c in process.children(recursive=True))
        rows.append(("sys_worker_rss_gb", "", rss / 1e9))
    except psutil.Error:
        pass
    if handles:
        import pynvml
        for n, handle in handles:
            for key, read in (("sys_gpu_util_percent", lambda h: float(pynvml.nvmlDeviceGetUtilizationRates(h).gpu)),
                              ("sys_gpu_mem_used_gb", lambda h: pynvml.nvmlDeviceGetMemoryInfo(h).used / 1e9)):
                try:
                    rows.append((key, f"gpu{n}", read(handle)))
                except Exception:  # NotSupported and friends: this value only
                    pass
    return rows


class SystemMonitor:
    """A daemon thread logging `sample()` through `log(step, key, context, value)` every `interval` seconds."""

    def __init__(self, log, queued_at: datetime | None, interval: float = INTERVAL_S):
        self.log, self.interval = log, interval
        self.queued_at = queued_at or datetime.utcnow()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="xlqa-sysmon", daemon=True)

    def start(self) -> "SystemMonitor":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        try:
            import psutil
            process = psutil.Process()
            psutil.cpu_percent(interval=None)  # the first reading of a process is meaningless
            handles = gpu_handles()
        except Exception as e:  # a monitor must never take a job down, nor stop without a word
            log.warning("system metrics are off for this run: %s", e)
            return
        failures = 0
        while not self._stop.wait(self.interval):
            step = int((datetime.utcnow() - self.queued_at).total_seconds())
            try:
                for key, context, value in sample(process, handles):
                    self.log(step, key, context, value)
            except Exception as e:
                failures += 1
                if failures == 1:  # said once: a store that is down says so on its own
                    log.warning("system metrics: a reading failed (%s); trying again every %g s", e, self.interval)
