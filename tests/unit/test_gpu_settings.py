"""The CUDA settings of issue 20 §2-3 that a CPU can check: choices, and bf16 refused where unsupported."""
import pytest
import torch

from engine.config import ConfigError
from engine.train.loop import make_accelerator
from tests.helpers import tiny_config


def test_tf32_and_coefficient_groups_are_choices_and_bad_values_are_refused():
    assert tiny_config("distill", train={"precision": "tf32"}).train.precision == "tf32"
    assert tiny_config("distill", distill={"coef_group": 6}).distill.coef_group == 6
    with pytest.raises(ConfigError, match="tf32"):
        tiny_config("distill", train={"precision": "fp8"})
    with pytest.raises(ConfigError, match="coef_group"):
        tiny_config("distill", distill={"coef_group": -1})


def test_bf16_is_refused_on_a_gpu_without_it(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a: "Tesla V100")
    with pytest.raises(ValueError, match="V100 has no bf16"):
        make_accelerator(tiny_config("distill", train={"precision": "bf16"}))
