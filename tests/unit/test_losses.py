import math

import pytest
import torch

from engine.losses import (ce_loss, coefficient_per_example, distillation_loss, kl_per_example,
                           reciprocal_rank_at_k)


def test_ce_is_mean_of_start_and_end():
    s = torch.tensor([[0.0, math.log(3.0)]])   # p = [1/4, 3/4]
    e = torch.tensor([[0.0, 0.0]])             # p = [1/2, 1/2]
    loss = ce_loss(s, e, torch.tensor([1]), torch.tensor([0]))
    assert loss.item() == pytest.approx((-math.log(0.75) - math.log(0.5)) / 2)


def test_kl_hand_computed_with_temperature():
    student = torch.tensor([[0.0, 0.0]])                     # T=2: [1/2, 1/2]
    teacher = torch.tensor([[0.0, 2 * math.log(3.0)]])      # T=2: [1/4, 3/4]
    p, q = [0.25, 0.75], [0.5, 0.5]
    fwd = sum(pi * math.log(pi / qi) for pi, qi in zip(p, q))
    rev = sum(qi * math.log(qi / pi) for pi, qi in zip(p, q))
    assert kl_per_example(student, teacher, 2.0, "forward").item() == pytest.approx(fwd)
    assert kl_per_example(student, teacher, 2.0, "reverse").item() == pytest.approx(rev)
    assert kl_per_example(student, teacher, 2.0, "symmetric").item() == pytest.approx(fwd + rev)      # the paper's code
    assert kl_per_example(student, teacher, 2.0, "symmetric-mean").item() == pytest.approx((fwd + rev) / 2)


def test_reciprocal_rank_window_and_exact():
    logits = torch.tensor([[9.0, 8.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0, 0.0, -1.0, -2.0, -3.0, -4.0, -5.0, -6.0]])
    # top-10 = positions 0..9 in order; gold 12: window [7, 17) -> first hit is position 7, rank 8
    assert reciprocal_rank_at_k(logits, torch.tensor([12]), k=10, window=5).item() == pytest.approx(1 / 8)
    assert reciprocal_rank_at_k(logits, torch.tensor([12]), k=10, window=None).item() == 0.0
    assert reciprocal_rank_at_k(logits, torch.tensor([3]), k=10, window=None).item() == pytest.approx(1 / 4)
    # [gold - 5, gold + 5): gold 5 includes position 0; gold 14 starts at position 9 (rank 10); gold 15 misses
    assert reciprocal_rank_at_k(logits, torch.tensor([5]), k=10, window=5).item() == 1.0
    assert reciprocal_rank_at_k(logits, torch.tensor([14]), k=10, window=5).item() == pytest.approx(1 / 10)
    assert reciprocal_rank_at_k(logits, torch.tensor([15]), k=10, window=5).item() == 0.0
    assert reciprocal_rank_at_k(logits, torch.tensor([15]), k=10, window=6).item() == pytest.approx(1 / 10)


def paper_map_at_k(t_start, t_end, gold_s, gold_e, temperature, k=10, window=5):
    """The paper code's semantics, written as plain loops over softmax probabilities."""
    total = 0.0
    for logits, gold in ((t_start, gold_s), (t_end, gold_e)):
        probs = torch.softmax(logits / temperature, dim=-1)
        for row, g in zip(probs.tolist(), gold.tolist()):
            ranked = sorted(range(len(row)), key=lambda i: -row[i])[:k]
            rr = 0.0
            for rank, pos in enumerate(ranked):
                if g - window <= pos < g + window:
                    rr = 1.0 / (rank + 1)
                    break
            total += rr / len(gold)
    return total / 2


@pytest.mark.parametrize("seed", range(5))
def test_map_at_k_matches_paper_semantics_on_random_logits(seed):
    g = torch.Generator().manual_seed(seed)
    ts, te = torch.randn(16, 50, generator=g) * 3, torch.randn(16, 50, generator=g) * 3
    gs, ge = torch.randint(0, 50, (16,), generator=g), torch.randint(0, 50, (16,), generator=g)
    w = coefficient_per_example("map@k", ts, te, gs, ge, k=10, window=5).mean().item()
    assert w == pytest.approx(paper_map_at_k(ts, te, gs, ge, temperature=2.0))


def test_loss_variants():
    g = torch.Generator().manual_seed(0)
    s, e, ts, te = (torch.randn(4, 12, generator=g) for _ in range(4))
    gs, ge = torch.tensor([1, 2, 3, 0]), torch.tensor([2, 2, 5, 0])
    coef = torch.tensor([1.0, 0.5, 0.0, 0.25])
    kl_ex = (kl_per_example(s, ts, 2.0) + kl_per_example(e, te, 2.0)) / 2 * 4.0
    ce = ce_loss(s, e, gs, ge)
    batch = distillation_loss(s, e, ts, te, gs, ge, coef, mode="map@k", temperature=2.0)
    assert batch["loss"].item() == pytest.approx((ce + coef.mean() * kl_ex.mean()).item())
    per_ex = distillation_loss(s, e, ts, te, gs, ge, coef, mode="map@k-example", temperature=2.0)
    assert per_ex["loss"].item() == pytest.approx((ce + (coef * kl_ex).mean()).item())
    no_ce = distillation_loss(s, e, ts, te, gs, ge, torch.ones(4), mode="none", temperature=2.0, a_ce=0.0, a_kl=2.0)
    assert no_ce["loss"].item() == pytest.approx(2 * kl_ex.mean().item())
    assert no_ce["loss_kl"].item() == pytest.approx(kl_ex.mean().item())


def test_coefficient_none_and_unknown():
    ts = torch.zeros(3, 5)
    assert coefficient_per_example("none", ts, ts, torch.zeros(3, dtype=torch.long), torch.zeros(3, dtype=torch.long)).tolist() == [1.0] * 3
    with pytest.raises(ValueError, match="coefficient"):
        coefficient_per_example("map@5", ts, ts, torch.zeros(3, dtype=torch.long), torch.zeros(3, dtype=torch.long))


def test_unmasked_softmax_runs_over_the_padding_like_the_papers_code():
    """Two real positions and two padding positions whose logits the model set to 0 and log(2)."""
    from engine.train.teacher_cache import masked_logits
    logits = torch.tensor([[math.log(3.0), 0.0, 0.0, math.log(2.0)]])
    mask = torch.tensor([[1, 1, 0, 0]])
    gold = torch.tensor([0])
    masked = ce_loss(masked_logits(logits, mask), masked_logits(logits, mask), gold, gold)
    unmasked = ce_loss(masked_logits(logits, mask, False), masked_logits(logits, mask, False), gold, gold)
    assert masked.item() == pytest.approx(-math.log(3 / 4))            # softmax over the 2 real positions
    assert unmasked.item() == pytest.approx(-math.log(3 / 7))          # over all 4: 3 / (3 + 1 + 1 + 2)
    # mAP@k: a padding position the teacher ranks high pushes the gold start down the list
    teacher = torch.tensor([[0.0, 5.0, 9.0, -1.0, -2.0, -3.0]])
    pad = torch.tensor([[1, 1, 0, 0, 0, 0]])
    start = torch.tensor([1])
    masked_rr = reciprocal_rank_at_k(masked_logits(teacher, pad), start, k=3, window=None).item()
    unmasked_rr = reciprocal_rank_at_k(masked_logits(teacher, pad, False), start, k=3, window=None).item()
    assert (masked_rr, unmasked_rr) == (1.0, 0.5)
