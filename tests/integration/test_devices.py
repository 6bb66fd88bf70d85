"""Devices: choosing GPUs, the environment a worker gets, reading the GPUs (a fake nvidia-smi on PATH, a
stubbed NVML) inside and outside a CUDA_VISIBLE_DEVICES restriction, and the system monitor."""

import json
import os
import re
import sys
import time
import types

import pytest

from db import Store
from engine.jobs import scheduler as scheduler_module
from engine.jobs.devices import (DeviceError, DeviceWarning, Gpu, cpu_threads, machine_gpus, pick_gpus, usable_gpus,
                                 visible_gpus, worker_env)
from engine.jobs.scheduler import Scheduler, worker_command
from engine.jobs.sysmon import SystemMonitor, gpu_handles, sample


def test_gpus_chosen_by_free_memory_and_busy_ones_skipped():
    free = {0: 1000, 1: 70000, 2: 30000, 3: 80000}
    assert pick_gpus("", busy=set(), free=free) == [3]
    assert pick_gpus("", busy={3}, count=2, free=free) == [1, 2]
    assert pick_gpus("", busy={1, 2, 3}, count=2, free=free) is None       # wait for a free pair
    assert pick_gpus("0,1", busy=set(), free=free) == [0, 1]
    assert pick_gpus("0,1", busy={1}, free=free) is None
    assert pick_gpus("cpu", busy=set(), free=free) == []
    assert pick_gpus("", busy=set(), free={}) == []                         # no GPU: CPU


def test_worker_environment_and_multi_gpu_command():
    env = worker_env([2, 3], 29601)
    assert env["CUDA_DEVICE_ORDER"] == "PCI_BUS_ID" and env["CUDA_VISIBLE_DEVICES"] == "2,3"
    single = worker_command({"id": 7}, "sqlite:///x.db", [0], 29600)
    assert single[1:] == ["-m", "engine.jobs.worker", "--db", "sqlite:///x.db", "--run", "7"]
    multi = worker_command({"id": 7}, "sqlite:///x.db", [2, 3], 29601)
    assert "--num_processes=2" in multi and "--main_process_port=29601" in multi and "--multi_gpu" in multi


def test_cpu_workers_share_the_cores_and_a_users_setting_wins(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 16)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert [cpu_threads(s) for s in (1, 2, 3, 32)] == [16, 8, 5, 1]
    assert worker_env([], 29600, threads=8)["OMP_NUM_THREADS"] == "8"
    assert "OMP_NUM_THREADS" not in worker_env([0], 29600, threads=8)     # a GPU job keeps torch's default
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert worker_env([], 29600, threads=8)["OMP_NUM_THREADS"] == "3"


# --- reading the GPUs: a fake nvidia-smi on PATH, a stubbed NVML -------------------------------------------

FOUR = "0, GPU-aaaa-0, 1000\n1, GPU-bbbb-1, 70000\n2, GPU-cccc-2, 30000\n3, GPU-dddd-3, 80000\n"


@pytest.fixture
def fake_smi(tmp_path, monkeypatch):
    """nvidia-smi as a script on PATH that prints `out` and exits with `code`; no NVML binding."""
    monkeypatch.setitem(sys.modules, "pynvml", None)                  # import pynvml raises ImportError
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")

    def install(out: str, code: int = 0):
        (bin_dir / "out.txt").write_text(out)
        script = bin_dir / "nvidia-smi"
        script.write_text(f"#!/bin/sh\ncat '{bin_dir / 'out.txt'}'\nexit {code}\n")
        script.chmod(0o755)
    return install


def test_nvidia_smi_gives_indices_uuids_and_free_memory(fake_smi):
    fake_smi(FOUR)
    assert machine_gpus()[1] == Gpu(1, "GPU-bbbb-1", 70000)
    assert usable_gpus().free == {0: 1000, 1: 70000, 2: 30000, 3: 80000}


@pytest.mark.parametrize("out, code, said", [
    ("Failed to initialize NVML: Driver/library version mismatch\nNVML library version: 550.54\n", 18,
     "exited with 18: Failed to initialize NVML: Driver/library version mismatch"),
    ("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\n", 9, "exited with 9"),
    ("Failed to initialize NVML: Driver/library version mismatch\n", 0, "cannot read"),    # said with exit 0
    ("0, GPU-aaaa-0, [N/A]\n", 0, "cannot read '0, GPU-aaaa-0, [N/A]'"),                # MIG mode
])
def test_a_failing_or_unreadable_nvidia_smi_means_cpu_with_a_warning(fake_smi, out, code, said):
    fake_smi(out, code)
    with pytest.warns(DeviceWarning, match=re.escape(said)):
        assert machine_gpus() == []


def test_one_unreadable_gpu_leaves_the_others(fake_smi):
    fake_smi("0, GPU-aaaa-0, [N/A]\n1, GPU-bbbb-1, 4000\n")
    with pytest.warns(DeviceWarning, match="left out"):
        assert usable_gpus().free == {1: 4000}


def test_restrictions_by_index_uuid_or_empty():
    gpus = [Gpu(i, f"GPU-{c * 4}-{i}", 1000 * (i + 1)) for i, c in enumerate("abcd")]
    assert visible_gpus(gpus, "2,3") == {2: "2", 3: "3"}
    assert visible_gpus(gpus, "GPU-dddd-3,GPU-bbbb") == {3: "GPU-dddd-3", 1: "GPU-bbbb"}   # a unique prefix too
    assert visible_gpus(gpus, "") == {} and visible_gpus(gpus, "-1") == {}
    with pytest.warns(DeviceWarning, match="'7' names no GPU"):
        assert visible_gpus(gpus, "1,7,2") == {1: "1"}                # as CUDA: the rest after a bad entry go
    with pytest.warns(DeviceWarning, match="names 4 GPU"):
        assert visible_gpus(gpus, "GPU-") == {}                        # ambiguous
    free = {2: 3000, 3: 4000}
    assert pick_gpus("GPU-cccc", busy=set(), free=free, uuids={g.uuid: g.index for g in gpus[2:]}) == [2]
    with pytest.raises(DeviceError, match="GPU 0 is not one this scheduler may use .*2, 3"):
        pick_gpus("0", busy=set(), free=free)


def probe_scheduler(monkeypatch, tmp_path, *devices, cpu_slots=0):
    """A real scheduler whose workers are a probe that writes the CUDA_VISIBLE_DEVICES it was given."""
    probe = "import json, os; print(json.dumps(os.environ.get('CUDA_VISIBLE_DEVICES')))"
    monkeypatch.setattr(scheduler_module, "worker_command", lambda *a, **k: [sys.executable, "-c", probe])
    store = Store(f"sqlite:///{tmp_path / 'x.db'}")
    exp = store.create_experiment("gpus")
    ids = [store.create_run(exp, "distill", {}, devices=d, output_dir=str(tmp_path / f"r{i}")) for i, d in enumerate(devices)]
    scheduler = Scheduler(store, cpu_slots=cpu_slots)                   # no CPU slot: a GPU or a wait
    scheduler.start_ready()
    for proc in scheduler.children.values():
        proc.wait(timeout=60)
    seen = {i: json.loads((tmp_path / f"r{n}" / "worker.log").read_text()) if (tmp_path / f"r{n}" / "worker.log").exists()
            else None for n, i in enumerate(ids)}
    return store, ids, seen


def test_a_scheduler_inside_a_restriction_uses_only_its_gpus_under_their_names(fake_smi, monkeypatch, tmp_path):
    fake_smi(FOUR)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "GPU-cccc-2,1")          # GPU 3 has most memory, but is not ours
    store, ids, seen = probe_scheduler(monkeypatch, tmp_path, "", "", "", "3")
    assert seen[ids[0]] == "1" and seen[ids[1]] == "GPU-cccc-2"          # by free memory, named as given
    assert seen[ids[2]] is None and store.get_run(ids[2])["status"] == "queued"     # waits for one of the two
    assert [store.get_run(i)["assigned_devices"] for i in ids[:2]] == ["1", "2"]
    refused = store.get_run(ids[3])
    assert refused["status"] == "failed" and "GPU 3 is not one this scheduler may use" in refused["error"]


def test_a_broken_nvidia_smi_does_not_stop_the_scheduler(fake_smi, monkeypatch, tmp_path):
    fake_smi("Failed to initialize NVML: Driver/library version mismatch\n", 18)
    with pytest.warns(DeviceWarning):
        store, ids, seen = probe_scheduler(monkeypatch, tmp_path, "", cpu_slots=1)
    assert seen[ids[0]] == "" and store.get_run(ids[0])["assigned_devices"] == ""      # on CPU


# --- the system monitor, against a stubbed NVML ------------------------------------------------------------

class NVMLError(Exception):
    pass


class NVMLError_NotSupported(NVMLError):
    pass


def stub_nvml(monkeypatch, count=2, util_error=None, count_error=None):
    nvml = types.ModuleType("pynvml")
    handles = [types.SimpleNamespace(i=i, uuid=f"GPU-{c * 4}-{i}") for i, c in zip(range(count), "abcd")]

    def get_count():
        if count_error:
            raise count_error
        return count

    def util(h):
        if util_error and h.i in util_error:
            raise NVMLError_NotSupported("Not Supported")
        return types.SimpleNamespace(gpu=10 * (h.i + 1))
    nvml.nvmlInit = lambda: None
    nvml.nvmlDeviceGetCount = get_count
    nvml.nvmlDeviceGetHandleByIndex = lambda i: handles[i]
    nvml.nvmlDeviceGetUUID = lambda h: h.uuid.encode()                  # bytes, as older bindings return it
    nvml.nvmlDeviceGetUtilizationRates = util
    nvml.nvmlDeviceGetMemoryInfo = lambda h: types.SimpleNamespace(used=2e9 * (h.i + 1), free=2**30)
    monkeypatch.setitem(sys.modules, "pynvml", nvml)
    return handles


def test_the_monitor_sees_the_jobs_gpus_only(monkeypatch):
    handles = stub_nvml(monkeypatch)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert [h for _, h in gpu_handles()] == handles                     # unrestricted: every GPU
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert gpu_handles() == []                                          # a CPU job on a GPU box: none
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "GPU-bbbb-1")
    assert gpu_handles() == [(0, handles[1])]                           # a UUID is kept
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1,0")
    assert gpu_handles() == [(0, handles[1]), (1, handles[0])]


def test_a_not_supported_query_keeps_the_rest_of_the_reading(monkeypatch):
    import psutil
    stub_nvml(monkeypatch, util_error={0})
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    rows = {(key, ctx): value for key, ctx, value in sample(psutil.Process(), gpu_handles())}
    assert {("sys_cpu_percent", ""), ("sys_ram_used_gb", ""), ("sys_worker_rss_gb", "")} <= set(rows)
    assert ("sys_gpu_util_percent", "gpu0") not in rows and rows[("sys_gpu_mem_used_gb", "gpu0")] == 2.0
    assert rows[("sys_gpu_util_percent", "gpu1")] == 20.0


def test_an_nvml_error_while_opening_the_gpus_does_not_stop_the_monitor(monkeypatch):
    from datetime import datetime
    stub_nvml(monkeypatch, count_error=NVMLError("Unknown Error"))
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    rows = []
    monitor = SystemMonitor(lambda *row: rows.append(row), datetime.utcnow(), interval=0.05).start()
    deadline = time.time() + 10
    while not any(key == "sys_cpu_percent" for _, key, _, _ in rows) and time.time() < deadline:
        time.sleep(0.05)
    monitor.stop()
    assert monitor._thread.is_alive() or rows, "the monitor thread died"
    assert any(key == "sys_cpu_percent" for _, key, _, _ in rows)
