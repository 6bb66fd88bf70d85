"""What a run costs, by stage: wall seconds, device-seconds, peak device and host memory, training features and
optimizer steps. The pipeline and the training loop wrap each stage where they already call it; the meter
hands its totals to the sink (`log_cost`), which stores one row per (run, attempt, stage).

A stage nested in another (a teacher pass or a dev evaluation inside training) is counted in its own row
only: the enclosing stage's seconds and peaks leave it out. Totals are of this attempt; each emit repeats
them whole, so the last row written is the attempt's cost and a kill loses only what ran since."""

from __future__ import annotations

import re
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

STAGES = ("sample", "featurize", "teacher", "train", "evaluate")
_HWM = re.compile(r"VmHWM:\s+(\d+)\s*kB")


def host_peak_gb(reset: bool = False) -> float:
    """This process's peak resident memory (Linux VmHWM; elsewhere the lifetime peak of getrusage);
    reset=True starts a new peak from the current size (/proc/self/clear_refs, Linux 4.0+)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            peak = int(_HWM.search(f.read()).group(1)) * 1024
        if reset:
            with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
                f.write("5")
        return peak / 1e9
    except (OSError, AttributeError):
        import resource
        import sys
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kB on Linux, bytes on macOS
        return rss / (1e9 if sys.platform == "darwin" else 1e6)


@dataclass
class StageCost:
    seconds: float = 0.0
    peak_device_gb: float | None = None
    peak_host_gb: float = 0.0
    features: int | None = None
    steps: int | None = None


@dataclass
class CostMeter:
    """devices: how many devices the stage holds (the DDP world on GPUs; 1 on a CPU); device: the torch
    device whose peak memory is read (CUDA only)."""
    devices: int = 1
    device: object = None
    stages: dict[str, StageCost] = field(default_factory=dict)
    _open: list = field(default_factory=list)   # [name, start, seconds spent in nested stages]

    def _cuda(self) -> bool:
        return getattr(self.device, "type", None) == "cuda"

    def _sync(self) -> None:
        """On CUDA, wait for the queued kernels: their time belongs to the stage that launched them."""
        if self._cuda():
            import torch
            torch.cuda.synchronize(self.device)

    def _read_peaks(self, name: str) -> None:
        """Fold the peaks since the last reset into stage `name`, then start new ones."""
        cost = self.stages.setdefault(name, StageCost())
        cost.peak_host_gb = max(cost.peak_host_gb, host_peak_gb(reset=True))
        if self._cuda():
            import torch
            peak = torch.cuda.max_memory_allocated(self.device) / 1e9
            cost.peak_device_gb = max(cost.peak_device_gb or 0.0, peak)
            torch.cuda.reset_peak_memory_stats(self.device)

    def start(self, name: str) -> StageCost:
        """Open stage `name` (inside the open one, if any): what follows counts for it until stop(name)."""
        if name not in STAGES:
            raise ValueError(f"cost stage {name!r}: one of {', '.join(STAGES)}")
        self._sync()
        if self._open:
            self._read_peaks(self._open[-1][0])
        else:
            host_peak_gb(reset=True)
            if self._cuda():
                import torch
                torch.cuda.reset_peak_memory_stats(self.device)
        self._open.append([name, time.perf_counter(), 0.0])
        return self.stages.setdefault(name, StageCost())

    def stop(self, name: str) -> None:
        entry = self._open.pop()
        if entry[0] != name:
            raise RuntimeError(f"cost stage {name!r} stopped while {entry[0]!r} is open")
        self._sync()
        elapsed = time.perf_counter() - entry[1]
        self.stages[name].seconds += elapsed - entry[2]
        self._read_peaks(name)
        if self._open:
            self._open[-1][2] += elapsed

    @contextmanager
    def stage(self, name: str):
        """start(name) ... stop(name), also when the block raises."""
        spent = self.start(name)
        try:
            yield spent
        finally:
            self.stop(name)

    def rows(self) -> list[dict]:
        """One dict per stage, open stages counted up to now (a checkpoint emits in the middle of training)."""
        now = time.perf_counter()
        running: dict[str, float] = {}
        for i, (name, start, nested) in enumerate(self._open):
            child_open = now - self._open[i + 1][1] if i + 1 < len(self._open) else 0.0
            running[name] = running.get(name, 0.0) + (now - start - nested - child_open)
        innermost = self._open[-1][0] if self._open else None
        label = str(self.device or "cpu")
        if self._cuda():
            import torch
            label = torch.cuda.get_device_name(self.device)[:64]
        out = []
        for name, c in self.stages.items():
            seconds = c.seconds + running.get(name, 0.0)
            host, dev = c.peak_host_gb, c.peak_device_gb
            if name == innermost:  # its peak since the last reset, read without resetting
                host = max(host, host_peak_gb())
                if self._cuda():
                    import torch
                    dev = max(dev or 0.0, torch.cuda.max_memory_allocated(self.device) / 1e9)
            out.append({"stage": name, "seconds": seconds, "devices": self.devices,
                        "device_seconds": seconds * self.devices, "device": label,
                        "peak_device_gb": dev, "peak_host_gb": host,
                        "features": c.features, "steps": c.steps})
        return out

    def emit(self, sink) -> None:
        for row in self.rows():
            sink.log_cost(row)


@contextmanager
def recorded(cost: CostMeter, sink, main: bool = True):
    """The meter's rows reach the sink when the block ends: written at once (a flush) when it succeeds; left
    buffered when it raises, for the worker's last flush (a failed or cancelled attempt keeps what it spent).
    main=False (a DDP rank other than 0): nothing is written."""
    try:
        yield cost
    except BaseException:
        if main:
            cost.emit(sink)
        raise
    if main:
        cost.emit(sink)
        sink.flush()
