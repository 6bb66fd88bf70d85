from engine.jobs.devices import cpu_threads, pick_gpus, worker_env
from engine.jobs.scheduler import worker_command


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
