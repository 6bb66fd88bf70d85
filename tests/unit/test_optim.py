"""train.optimizer = "adamw-legacy": transformers 4.x AdamW, hand-computed."""

import math

import pytest
import torch

from engine.train.loop import _optimizer
from engine.train.optim import LegacyAdamW
from tests.helpers import tiny_config


def one_step(opt_class, eps, weight_decay=0.0):
    p = torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
    opt = opt_class([p], lr=0.1, eps=eps, weight_decay=weight_decay)
    p.grad = torch.tensor([0.5], dtype=torch.float64)
    opt.step()
    return float(p)


def test_eps_on_the_uncorrected_root_and_decay_after_the_update():
    # step 1, g = 0.5: m = 0.05, v = 0.00025, sqrt(v) = 0.0158114; bias corrections 0.1 and 0.001
    sqrt_v = math.sqrt(0.00025)
    legacy = 1 - 0.1 * math.sqrt(0.001) / 0.1 * 0.05 / (sqrt_v + 0.01)     # 1 - 0.061257
    torch_form = 1 - 0.1 / 0.1 * 0.05 / (sqrt_v / math.sqrt(0.001) + 0.01)  # 1 - 0.098039
    assert one_step(LegacyAdamW, 0.01) == pytest.approx(legacy, abs=1e-12) == pytest.approx(0.938743, abs=1e-6)
    assert one_step(torch.optim.AdamW, 0.01) == pytest.approx(torch_form, abs=1e-12)
    # the legacy form is torch's with eps / sqrt(1 - beta2^t)
    assert one_step(torch.optim.AdamW, 0.01 / math.sqrt(0.001)) == pytest.approx(legacy, abs=1e-12)
    # weight decay 0.5 after the update: p' = (1 - 0.061257) * (1 - 0.1 * 0.5) = 0.891806 (decaying first, as
    # torch does, would give 0.95 - 0.061257 = 0.888743)
    assert one_step(LegacyAdamW, 0.01, 0.5) == pytest.approx(legacy * 0.95, abs=1e-12)


def test_second_step_by_hand():
    p = torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
    opt = LegacyAdamW([p], lr=0.1, eps=1e-8)
    for g in (0.5, -0.2):
        p.grad = torch.tensor([g], dtype=torch.float64)
        opt.step()
    m1, v1 = 0.05, 0.00025
    m2, v2 = 0.9 * m1 + 0.1 * -0.2, 0.999 * v1 + 0.001 * 0.04
    p1 = 1 - 0.1 * math.sqrt(1 - 0.999) / (1 - 0.9) * m1 / (math.sqrt(v1) + 1e-8)
    p2 = p1 - 0.1 * math.sqrt(1 - 0.999 ** 2) / (1 - 0.9 ** 2) * m2 / (math.sqrt(v2) + 1e-8)
    assert float(p) == pytest.approx(p2, abs=1e-12)


def test_the_config_chooses_the_optimizer():
    model = torch.nn.Linear(3, 2)
    assert isinstance(_optimizer(model, tiny_config("teacher")), torch.optim.AdamW)
    assert isinstance(_optimizer(model, tiny_config("teacher", train={"optimizer": "adamw-legacy"})), LegacyAdamW)
    # an unknown optimizer is refused: tests/data/bad_configs/optimizer_unknown.toml
