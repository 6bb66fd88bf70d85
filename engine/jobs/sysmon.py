"""The machine while a job runs, as metrics every few seconds: CPU %, RAM used (GB), the worker's resident
memory (GB), and per visible GPU its utilisation % and memory used (GB) through NVML (nvidia-ml-py), when
there is one. Keys start with `sys_` (GPU ones carry the device as context, e.g. `gpu0`); their step is
the number of seconds since the run was queued, so attempts of a resumed run never collide. They describe
the machine, not the training, so a resume never truncates them."""

from __future__ import annotations

import os
import threading
import time
from datetime import datetime

INTERVAL_S = float(os.environ.get("XLQA_SYS_INTERVAL_S", "5"))


def gpu_handles():
    """[(visible index, NVML handle)] of the GPUs this process may use; [] without NVML or a GPU."""
    try:
        import pynvml
        pynvml.nvmlInit()
    except Exception:  # no driver, no library, no GPU
        return []
    count = pynvml.nvmlDeviceGetCount()
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    indexes = [int(i) for i in visible.split(",") if i.strip().isdigit()] if visible else list(range(count))
    return [(n, pynvml.nvmlDeviceGetHandleByIndex(i)) for n, i in enumerate(indexes) if i < count]


def sample(process, handles) -> list[tuple[str, str, float]]:
    """(key, context, value) of one reading."""
    import psutil
    memory = psutil.virtual_memory()
    rss = process.memory_info().rss + sum(c.memory_info().rss for c in process.children(recursive=True))
    rows = [("sys_cpu_percent", "", psutil.cpu_percent(interval=None)),
            ("sys_ram_used_gb", "", (memory.total - memory.available) / 1e9),
            ("sys_worker_rss_gb", "", rss / 1e9)]
    if handles:
        import pynvml
        for n, handle in handles:
            util = pynvml.nvmlDeviceGetUtilizationRates(handle)
            mem = pynvml.nvmlDeviceGetMemoryInfo(handle)
            rows += [("sys_gpu_util_percent", f"gpu{n}", float(util.gpu)), ("sys_gpu_mem_used_gb", f"gpu{n}", mem.used / 1e9)]
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
        import psutil
        process = psutil.Process()
        psutil.cpu_percent(interval=None)  # the first reading of a process is meaningless
        handles = gpu_handles()
        while not self._stop.wait(self.interval):
            step = int((datetime.utcnow() - self.queued_at).total_seconds())
            try:
                for key, context, value in sample(process, handles):
                    self.log(step, key, context, value)
            except Exception:  # a monitor must never take a job down
                pass
