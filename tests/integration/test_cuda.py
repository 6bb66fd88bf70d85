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


@pytest.mark.cuda
def test_tf32_turns_tf32_matmuls_on_and_the_papers_fp32_turns_them_off():
    from engine.train.loop import make_accelerator
    from tests.helpers import tiny_config
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    try:
        acc = make_accelerator(tiny_config("distill", train={"precision": "tf32"}))
        assert acc.device.type == "cuda" and acc.mixed_precision == "no"   # fp32 storage, no autocast
        assert torch.backends.cuda.matmul.allow_tf32 and torch.backends.cudnn.allow_tf32
        make_accelerator(tiny_config("distill", train={"precision": "no"}))
        assert not torch.backends.cuda.matmul.allow_tf32 and not torch.backends.cudnn.allow_tf32
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


@pytest.mark.cuda
def test_the_teacher_head_is_fp32_under_bf16_autocast_on_cuda():
    from engine.modeling import tiny_bert
    from engine.train.teacher_cache import qa_logits
    device = torch.device("cuda")
    model = tiny_bert(500, hidden=64, layers=2).to(device).eval()
    b = {"input_ids": torch.randint(5, 500, (4, 64), device=device),
         "attention_mask": torch.ones(4, 64, dtype=torch.long, device=device)}
    with torch.no_grad():
        s, e = qa_logits(model, b, torch.bfloat16, device)
        ref = model(**b)                                                  # fp32 throughout
    assert s.dtype == e.dtype == torch.float32 and s.device.type == "cuda"
    assert torch.allclose(s, ref.start_logits, atol=0.1) and torch.allclose(e, ref.end_logits, atol=0.1)


def _run_marked(**env):
    """This file's cuda-marked test in a fresh pytest: what a user without a GPU sees."""
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "-n", "0",
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
