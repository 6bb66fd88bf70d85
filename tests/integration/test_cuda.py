"""Tests that need a CUDA GPU carry `@pytest.mark.cuda`: they skip with the reason on a machine without
one (conftest), and fail instead when XLQA_REQUIRE_CUDA=1 (the GPU check sets it)."""

import os
import subprocess
import sys


import pytest
import torch


@pytest.mark.cuda
def test_a_cuda_matmul_agrees_with_the_cpu():
    torch.manual_seed(0)
    a, b = torch.randn(256, 256), torch.randn(256, 256)
    tf32 = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False                      # IEEE fp32, as on the CPU
    try:
        got = (a.cuda() @ b.cuda()).cpu()
    finally:
        torch.backends.cuda.matmul.allow_tf32 = tf32
    assert torch.allclose(got, a @ b, rtol=1e-4, atol=1e-4)


def _run_marked(**env):
    """This file's cuda-marked test in a fresh pytest: what a user without a GPU sees."""
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
                           __file__, "-k", "agrees_with_the_cpu"],
                          capture_output=True, text=True, timeout=300, env={**os.environ, **env})


@pytest.mark.slow  # a whole pytest in a subprocess
@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA: the marked test runs instead")
def test_cuda_tests_skip_with_a_reason_and_fail_when_cuda_is_required():
    skipped = _run_marked(XLQA_REQUIRE_CUDA="0")
    assert skipped.returncode == 0 and "1 skipped" in skipped.stdout, skipped.stdout
    assert "needs a CUDA GPU: torch" in skipped.stdout                  # -rs shows the reason
    required = _run_marked(XLQA_REQUIRE_CUDA="1")
    assert required.returncode == 1 and "XLQA_REQUIRE_CUDA is set" in required.stdout, required.stdout
