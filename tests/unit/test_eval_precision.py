"""Dev and final evaluation share one precision (issue 20 §3)."""
import torch

from engine.evaluate import eval_autocast


def test_evaluation_takes_the_training_precision_on_cuda_and_fp32_on_cpu():
    cuda, cpu = torch.device("cuda"), torch.device("cpu")
    assert eval_autocast("bf16", cuda) is torch.bfloat16
    assert eval_autocast("fp16", cuda) is torch.float16
    assert eval_autocast("tf32", cuda) is None and eval_autocast("no", cuda) is None
    assert eval_autocast("bf16", cpu) is None
