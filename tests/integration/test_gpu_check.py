"""benchmarks/gpu_check.sh on a machine without a GPU: --dry-run runs what a CPU can (the measurements' smoke
mode) and names every CUDA stage it skips; a real run there skips them too and fails, so a box whose GPU
vanished cannot pass the device check."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "gpu_check.sh"


def check(tmp_path, *args, **env):
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OUT": str(tmp_path), "XLQA_WHEELS": str(tmp_path / "no-wheels"), **env})


@pytest.mark.slow  # a shell script that starts Python three times and trains six tiny configurations
@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA: run the device check itself")
def test_the_dry_run_skips_the_cuda_stages_by_name_and_runs_the_smoke_measurements(tmp_path):
    done = check(tmp_path, "--dry-run")
    assert done.returncode == 0, done.stdout + done.stderr
    summary = (tmp_path / "summary.txt").read_text()
    for stage in ("cuda-tests", "bench", "e2e"):
        assert f"SKIP  {stage}: --dry-run (needs a CUDA GPU)" in summary
    assert "STAGE bench-smoke rc=0" in summary
    log = (tmp_path / "gpu_check.log").read_text()
    assert "train bf16 24x1 seq 32" in log and "host syncs per step, resumed bf16 run" in log
    assert sorted(p.name for p in tmp_path.iterdir()) == ["env.txt", "gpu_check.log", "summary.txt"]


@pytest.mark.slow  # starts Python to ask torch for a GPU
@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA: run the device check itself")
def test_without_a_gpu_the_check_fails_naming_why(tmp_path):
    done = check(tmp_path, STAGES="cuda-tests bench")
    assert done.returncode == 1
    assert "SKIP  cuda-tests: no CUDA device (torch" in done.stdout and "SKIP  bench: no CUDA device" in done.stdout


def test_the_suite_runs_where_pytest_xdist_is_not_installed():
    """The cuda stage's pytest on a GPU image without pytest-xdist (`-o addopts=` drops `-n`; conftest's
    xdist hook must then be optional, not an unknown hook)."""
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:xdist", "-o", "addopts=", "-p", "no:cacheprovider",
                           "--collect-only", "-q", str(ROOT / "tests" / "unit" / "test_scoring.py")],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0 and "tests collected" in done.stdout, done.stdout[-2000:] + done.stderr[-2000:]
