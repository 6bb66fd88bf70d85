"""DDP that cannot hang (issue 20 §1): 2 gloo processes on CPU, each test bounded by a subprocess timeout,
so a regression fails instead of hanging the suite."""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from engine.train.loop import micro_batches

REPO = Path(__file__).resolve().parents[2]  # tests/<layer>/this file
BOUND_S = 240


def _run_two_ranks(tmp_path, mode, port):
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", f"--master_port={port}",
           str(REPO / "tests" / "ddp_safety_worker.py"), str(tmp_path), mode]
    log = tmp_path / "launch.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT)
        try:
            proc.wait(timeout=float(os.environ.get("XLQA_DDP_BOUND_S", BOUND_S)))
        except subprocess.TimeoutExpired:
            # the ranks run in sessions of their own (torch elastic): kill the whole tree, not a group
            for p in [*psutil.Process(proc.pid).children(recursive=True), proc]:
                p.kill()
            proc.wait()
            pytest.fail(f"2-process {mode} run still running after the bound: a rank waits on a collective")
    assert proc.returncode == 0, log.read_text()[-3000:]
    return [json.loads((tmp_path / f"rank-{r}.json").read_text()) for r in (0, 1)]


@pytest.mark.slow  # two processes under torchrun
def test_a_stop_seen_by_rank_0_only_stops_every_rank(tmp_path):
    started = time.monotonic()
    ranks = _run_two_ranks(tmp_path, "stop", 29561)
    assert [r["ended"] for r in ranks] == ["cancelled", "cancelled"]
    assert all(r["message"] == "stopped at step 2" for r in ranks)
    assert (tmp_path / "run" / "checkpoint").exists()  # rank 0 checkpointed with the others at the barrier
    assert time.monotonic() - started < BOUND_S


@pytest.mark.slow  # two processes under torchrun
def test_a_last_batch_smaller_than_the_world_is_dropped_on_every_rank(tmp_path):
    ranks = _run_two_ranks(tmp_path, "tail", 29562)
    assert ranks == [{"ended": "finished", "step": 1}] * 2  # 17 features, 2 x 8 per step: the 17th is left out


@pytest.mark.parametrize("n, batch, world, expected", [
    (17, 8, 2, (1, 1)),    # one feature for two ranks: dropped
    (18, 8, 2, (2, 0)),    # one each: kept
    (16, 8, 2, (1, 0)),
    (33, 8, 4, (1, 1)),
    (35, 8, 4, (1, 3)),
    (36, 8, 4, (2, 0)),
    (17, 8, 1, (3, 0)),    # one process never has an empty slice
])
def test_micro_batches_drop_only_a_tail_smaller_than_the_world(n, batch, world, expected):
    assert micro_batches(n, batch, world) == expected
