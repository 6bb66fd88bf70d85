"""The teacher of a generation, computed once: it is frozen for the whole epoch, so its start/end logits
and each feature's coefficient are computed in inference mode at the epoch's start, stored compactly
(float16, padded with the mask value) and sliced per batch. No second model lives in memory."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from engine import cancel
from engine.features import QAFeatures, length_grouped_batches
from engine.losses import MASK_VALUE, coefficient_per_example


@dataclass
class TeacherCache:
    start: torch.Tensor        # [N, Lmax] float16 by default
    end: torch.Tensor
    coef: torch.Tensor         # [N] float32, the per-feature coefficient (distill.coefficient: mAP@k, entropy, ...)
    generation: int

    def slice(self, feature_index: torch.Tensor, width: int):
        return (self.start[feature_index, :width].float(), self.end[feature_index, :width].float(),
                self.coef[feature_index])

    def state_dict(self):
        return {"start": self.start.cpu(), "end": self.end.cpu(), "coef": self.coef.cpu(), "generation": self.generation}

    @classmethod
    def from_state(cls, state, device):
        return cls(state["start"].to(device), state["end"].to(device), state["coef"].to(device), state["generation"])


def masked_logits(out_logits: torch.Tensor, attention_mask: torch.Tensor, mask: bool = True) -> torch.Tensor:
    """Padding positions get MASK_VALUE, so losses do not depend on how much a batch was padded.
    mask=False keeps the model's logits there (the paper's code: softmax over every padded position)."""
    logits = out_logits.float()
    return logits.masked_fill(attention_mask == 0, MASK_VALUE) if mask else logits


def qa_logits(model, b: dict, autocast_dtype, device):
    """Start and end logits, the QA head in fp32 even under autocast: bf16 logits tie, and the reciprocal
    rank among tied positions (so the coefficient) would then depend on the kernel."""
    head = getattr(model, "qa_outputs", None)
    body = getattr(model, getattr(model, "base_model_prefix", ""), None)
    with torch.autocast(device.type, dtype=autocast_dtype, enabled=autocast_dtype is not None):
        if head is None or body is None or autocast_dtype is None:
            out = model(input_ids=b["input_ids"], attention_mask=b["attention_mask"], token_type_ids=b.get("token_type_ids"))
            return out.start_logits, out.end_logits
        hidden = body(input_ids=b["input_ids"], attention_mask=b["attention_mask"],
                      token_type_ids=b.get("token_type_ids"))[0]
    logits = head(hidden.float())  # outside autocast: an fp32 matmul
    start, end = logits.split(1, dim=-1)
    return start.squeeze(-1), end.squeeze(-1)


@torch.no_grad()
def compute_teacher(model, feats: QAFeatures, generation: int, mode: str, k: int, window: int, batch_size: int,
                    device, autocast_dtype=None, store_dtype=torch.float16, mask: bool = True,
                    temperature: float = 1.0) -> TeacherCache:
    """The generation's teacher: its logits, and each feature's coefficient at `temperature` on the loss's
    support (the unmasked positions; every position when mask is False)."""
    was_training = model.training
    model.eval()
    n, width = len(feats), feats.width
    start = torch.full((n, width), MASK_VALUE, dtype=store_dtype, device=device)
    end = torch.full((n, width), MASK_VALUE, dtype=store_dtype, device=device)
    coef = torch.empty(n, device=device)
    for idx in length_grouped_batches(feats.lengths, batch_size):
        cancel.check()
        b = {key: v.to(device) for key, v in feats.batch(idx).items()}
        start_logits, end_logits = qa_logits(model, b, autocast_dtype, device)
        s = masked_logits(start_logits, b["attention_mask"], mask)
        e = masked_logits(end_logits, b["attention_mask"], mask)
        rows = b["feature_index"]
        start[rows, :s.size(1)] = s.to(store_dtype)
        end[rows, :e.size(1)] = e.to(store_dtype)
        coef[rows] = coefficient_per_example(mode, s, e, b["start_positions"], b["end_positions"], k, window,
                                             temperature, b["attention_mask"].bool() if mask else None)
    model.train(was_training)
    return TeacherCache(start, end, coef, generation)
