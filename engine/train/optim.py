"""The AdamW of transformers <= 4.x (`transformers.AdamW`, Trainer's `adamw_hf`), which the paper's code
uses for both the teacher and the students (`train.optimizer = "adamw-legacy"`).

It differs from torch.optim.AdamW in two places:
  - ε is added to the uncorrected √v, and the bias corrections go into the step size:
        p -= lr · √(1 - β₂ᵗ) / (1 - β₁ᵗ) · m / (√v + ε)
    torch adds ε after the correction, m̂ / (√v̂ + ε); the legacy form is torch's with ε / √(1 - β₂ᵗ)
    (3.2e-7 at step 1 for ε = 1e-8, 1.3e-8 at step 1,000).
  - weight decay is applied after the Adam update, p -= lr · wd · p on the updated p (torch: before).
"""

from __future__ import annotations

import math

import torch


class LegacyAdamW(torch.optim.Optimizer):
    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0):
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self, closure=None):
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["step"] = 0  # a Python int: the step size is computed on the host, no device sync
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                state["step"] += 1
                m, v, t = state["exp_avg"], state["exp_avg_sq"], state["step"]
                m.mul_(beta1).add_(p.grad, alpha=1 - beta1)
                v.mul_(beta2).addcmul_(p.grad, p.grad, value=1 - beta2)
                step_size = group["lr"] * math.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
                p.addcdiv_(m, v.sqrt().add_(group["eps"]), value=-step_size)
                if group["weight_decay"] > 0:
                    p.add_(p, alpha=-group["lr"] * group["weight_decay"])
        return loss
