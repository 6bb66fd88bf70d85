"""Losses of self-knowledge distillation with mAP@k coefficients.

loss = a_ce * CE(student, gold) + a_kl * w * T^2 * KL(teacher_T, student_T), averaged over start and end.
The coefficient w measures how well the teacher ranks the gold span:
  map@k          paper code: teacher top-k positions, a hit is within [gold - window, gold + window),
                 reciprocal rank of the first hit, mean of start and end, mean over the batch
  map@k-example  the same per example, weighting each example's KL (beyond the paper)
  mrr@k(-example) exact positions instead of the window
  entropy        1 - H(p_T) / log(positions): a sharp teacher is trusted, a flat one not (beyond the paper)
  confidence     the teacher's top-1 probability p_T (beyond the paper)
  gold-mass      p_T's mass on [gold - window, gold + window] (beyond the paper)
  none           w = 1
Each of entropy, confidence and gold-mass is the mean of start and end, at the distillation temperature T, on
the loss's support (the unmasked positions, or every position with train.mask_padding_logits = false), and
as a batch-level w or, with the -example suffix, per example.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from engine.loss_modes import COEFFICIENTS, KL_DIRECTIONS

MASK_VALUE = -1e4  # finite: -inf would make 0 * log 0 terms NaN inside the KL


def ce_loss(start_logits, end_logits, start_positions, end_positions) -> torch.Tensor:
    """Mean of start and end cross-entropy (as BertForQuestionAnswering)."""
    width = start_logits.size(1)
    s = start_positions.clamp(0, width - 1)
    e = end_positions.clamp(0, width - 1)
    return (F.cross_entropy(start_logits.float(), s) + F.cross_entropy(end_logits.float(), e)) / 2


def kl_per_example(student_logits, teacher_logits, temperature: float, direction: str = "forward") -> torch.Tensor:
    """[B] KL divergence per example between temperature-scaled distributions (sum over positions)."""
    log_s = F.log_softmax(student_logits.float() / temperature, dim=-1)
    log_t = F.log_softmax(teacher_logits.float() / temperature, dim=-1)
    forward = (log_t.exp() * (log_t - log_s)).sum(-1)     # KL(teacher || student)
    if direction == "forward":
        return forward
    reverse = (log_s.exp() * (log_s - log_t)).sum(-1)     # KL(student || teacher)
    if direction == "reverse":
        return reverse
    if direction == "symmetric":       # the paper's code: forward + reverse
        return forward + reverse
    if direction == "symmetric-mean":  # half of it: the same weight as one direction
        return (forward + reverse) / 2
    raise ValueError(f"kl direction {direction!r}: use one of {KL_DIRECTIONS}")


def reciprocal_rank_at_k(teacher_logits, gold, k: int = 10, window: int | None = 5) -> torch.Tensor:
    """[B] 1/rank of the first of the teacher's top-k positions that hits gold (0 if none).

    window=None: exact position (MRR@k); else a hit is any position in [gold - window, gold + window).
    Softmax(logits / T) keeps the order of the logits, so the top-k needs no temperature.
    """
    k = min(k, teacher_logits.size(-1))
    top = teacher_logits.topk(k, dim=-1).indices                       # [B, k], best first
    g = gold.unsqueeze(-1)
    hit = (top == g) if window is None else (top >= g - window) & (top < g + window)
    ranks = torch.arange(1, k + 1, device=top.device, dtype=torch.float32)
    return torch.where(hit, 1.0 / ranks, torch.zeros_like(ranks)).amax(-1)


def normalized_certainty(teacher_logits, temperature: float, support: torch.Tensor | None = None) -> torch.Tensor:
    """[B] 1 - H(p_T) / log(n), n the positions of the support ([B, L] bool; None: every position)."""
    log_p = F.log_softmax(teacher_logits.float() / temperature, dim=-1)
    entropy = -(log_p.exp() * log_p).sum(-1)            # masked positions: p = 0 exactly, so they add 0
    n = (torch.full_like(entropy, teacher_logits.size(-1)) if support is None
         else support.sum(-1).to(entropy.dtype))
    return 1 - entropy / n.clamp_min(2).log()           # one position: H = 0, so w = 1


def top1_probability(teacher_logits, temperature: float) -> torch.Tensor:
    """[B] the teacher's largest probability at temperature T."""
    return F.softmax(teacher_logits.float() / temperature, dim=-1).amax(-1)


def gold_window_mass(teacher_logits, gold, temperature: float, window: int) -> torch.Tensor:
    """[B] the teacher's probability on the positions [gold - window, gold + window] (window 0: p(gold))."""
    p = F.softmax(teacher_logits.float() / temperature, dim=-1)
    pos = torch.arange(p.size(-1), device=p.device)
    g = gold.unsqueeze(-1)
    return (p * ((pos >= g - window) & (pos <= g + window))).sum(-1)


def coefficient_per_example(mode: str, teacher_start, teacher_end, start_positions, end_positions,
                            k: int = 10, window: int = 5, temperature: float = 1.0,
                            support: torch.Tensor | None = None) -> torch.Tensor:
    """[B] per-example coefficient (mean over start and end); ones for 'none'. temperature and support
    (the [B, L] positions the loss's softmax runs over; None: all) matter to entropy, confidence and
    gold-mass; the rank coefficients need neither (softmax keeps the order, a masked position ranks last)."""
    if mode not in COEFFICIENTS:
        raise ValueError(f"coefficient {mode!r}: use one of {COEFFICIENTS}")
    base = mode.removesuffix("-example")
    if base == "none":
        return torch.ones(teacher_start.size(0), device=teacher_start.device)
    return (_one_side(base, teacher_start, start_positions, k, window, temperature, support)
            + _one_side(base, teacher_end, end_positions, k, window, temperature, support)) / 2


def _one_side(base: str, logits, gold, k: int, window: int, temperature: float, support) -> torch.Tensor:
    if base == "entropy":
        return normalized_certainty(logits, temperature, support)
    if base == "confidence":
        return top1_probability(logits, temperature)
    if base == "gold-mass":
        return gold_window_mass(logits, gold, temperature, window)
    return reciprocal_rank_at_k(logits, gold, k, None if base == "mrr@k" else window)


def distillation_loss(student_start, student_end, teacher_start, teacher_end, start_positions, end_positions,
                      coef: torch.Tensor, *, mode: str = "map@k", temperature: float = 2.0, a_ce: float = 1.0,
                      a_kl: float = 1.0, direction: str = "forward", batch_coef: torch.Tensor | None = None,
                      group: int = 0) -> dict[str, torch.Tensor]:
    """coef: [B] per-example coefficients (coefficient_per_example on the teacher's logits).
    batch_coef: the batch-level w when the batch is split over processes (the mean over the global batch).
    group: G > 0 computes the batch-level w per group of G consecutive examples (B a multiple of G), so a
    micro-batch of 24 with G = 6 has the loss and gradient of 4 accumulated micro-batches of 6 (the paper's
    batch-mean coefficient, without its small, launch-bound micro-batches). Not with batch_coef.

    Returns loss, loss_ce, loss_kl (the unweighted batchmean KL * T^2) and coef (the w applied)."""
    ce = ce_loss(student_start, student_end, start_positions, end_positions)
    kl_ex = (kl_per_example(student_start, teacher_start, temperature, direction)
             + kl_per_example(student_end, teacher_end, temperature, direction)) / 2 * temperature ** 2
    kl = kl_ex.mean()
    if mode.endswith("-example"):
        weighted = (coef * kl_ex).mean()
        w = coef.mean()
    elif group and group < coef.size(0):
        # each group as its own micro-batch: its CE mean, its w, its KL mean; then the mean over groups (a
        # shorter last group counts as one, as a shorter accumulated micro-batch would)
        parts = [distillation_loss(*(t[i:i + group] for t in (student_start, student_end, teacher_start,
                                                              teacher_end, start_positions, end_positions, coef)),
                                   mode=mode, temperature=temperature, a_ce=a_ce, a_kl=a_kl, direction=direction)
                 for i in range(0, coef.size(0), group)]
        mean = {k: torch.stack([p[k] for p in parts]).mean() for k in parts[0]}
        return {**mean, "loss_ce": ce, "loss_kl": kl}
    else:
        w = coef.mean() if batch_coef is None else batch_coef
        weighted = w * kl
    return {"loss": a_ce * ce + a_kl * weighted, "loss_ce": ce, "loss_kl": kl, "coef": w}


def step_loss(start_logits, end_logits, batch: dict, stage: str, distill, teacher=None,
              batch_coef: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """The training step's loss on the student's (masked) logits, as training and the dry run compute it.
    `teacher`: (start, end, coef) of the teacher for these features, or None (no teacher yet: cross-entropy,
    weighted by distill.a_ce in a distill stage). `distill`: the config's distill section."""
    starts, ends = batch["start_positions"], batch["end_positions"]
    if teacher is not None:
        ts, te, coef = teacher
        return distillation_loss(start_logits, end_logits, ts, te, starts, ends, coef, mode=distill.coefficient,
                                 temperature=distill.temperature, a_ce=distill.a_ce, a_kl=distill.a_kl,
                                 direction=distill.kl_direction, batch_coef=batch_coef,
                                 group=distill.coef_group)
    ce = ce_loss(start_logits, end_logits, starts, ends)
    return {"loss": ce * distill.a_ce if stage == "distill" else ce, "loss_ce": ce}
