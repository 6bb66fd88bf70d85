"""The coefficients beyond the paper (entropy, confidence, gold-mass), pinned on hand-computed logits."""

import math

import pytest
import torch

from engine.config import ExperimentConfig
from engine.loss_modes import COEFFICIENTS
from engine.losses import MASK_VALUE, coefficient_per_example, distillation_loss
from engine.train.teacher_cache import masked_logits

T = 2.0
# at T = 2 the start logits give p = [1/2, 1/4, 1/8, 1/8], the end logits p = [1/4, 1/4, 1/4, 1/4]
START = torch.tensor([[2 * math.log(4.0), 2 * math.log(2.0), 0.0, 0.0]])
END = torch.zeros(1, 4)
GOLD_S, GOLD_E = torch.tensor([1]), torch.tensor([3])


def coef(mode, start=START, end=END, **kw):
    return coefficient_per_example(mode, start, end, GOLD_S, GOLD_E, temperature=T, **kw).tolist()


def test_entropy_is_one_minus_normalized_entropy_mean_of_start_and_end():
    h_start = -(0.5 * math.log(0.5) + 0.25 * math.log(0.25) + 2 * 0.125 * math.log(0.125))   # 1.75 bits
    expected = ((1 - h_start / math.log(4)) + (1 - 1.0)) / 2           # the uniform end has w = 0
    assert coef("entropy") == pytest.approx([expected])
    assert expected == pytest.approx(0.125 / 2)                        # 1 - 1.75 / 2 bits, halved


def test_confidence_is_the_top1_probability_at_temperature_t():
    assert coef("confidence") == pytest.approx([(0.5 + 0.25) / 2])
    # at T = 1 the start is sharper: p = [16, 4, 1, 1] / 22
    t1 = coefficient_per_example("confidence", START, END, GOLD_S, GOLD_E, temperature=1.0).item()
    assert t1 == pytest.approx((16 / 22 + 0.25) / 2)


def test_gold_mass_sums_the_window_around_the_gold_position():
    # window 0: p(gold) = p_start[1] = 1/4 and p_end[3] = 1/4
    assert coef("gold-mass", window=0) == pytest.approx([0.25])
    # window 1: start [0, 2] -> 1/2 + 1/4 + 1/8; end [2, 3] (clipped) -> 1/2
    assert coef("gold-mass", window=1) == pytest.approx([(0.875 + 0.5) / 2])


def test_masked_support_counts_only_the_real_positions():
    """Two padding positions appended: masked, the coefficients are those of the 4 real positions; the paper's
    unmasked softmax runs over all 6 (padding logits 0 here), so every value changes."""
    attention = torch.tensor([[1, 1, 1, 1, 0, 0]])
    padded = [torch.cat([x, torch.zeros(1, 2)], dim=1) for x in (START, END)]
    masked = [masked_logits(x, attention) for x in padded]
    for mode in ("entropy", "confidence", "gold-mass"):
        on_support = coef(mode, *masked, support=attention.bool())
        assert on_support == pytest.approx(coef(mode)), mode
    unmasked = [masked_logits(x, attention, False) for x in padded]
    p6 = [0.4, 0.2, 0.1, 0.1, 0.1, 0.1]                                # the start at T = 2: [4, 2, 1, 1, 1, 1] / 10
    start6 = 1 + sum(p * math.log(p) for p in p6) / math.log(6)
    end6 = 0.0                                                         # still uniform over all 6
    assert coef("entropy", *unmasked) == pytest.approx([(start6 + end6) / 2], rel=1e-5)
    assert coef("confidence", *unmasked) == pytest.approx([(4 / 10 + 1 / 6) / 2])    # p = [4, 2, 1, 1, 1, 1] / 10


def test_batch_level_and_per_example_weighting():
    """As mAP@k: the plain name weights the mean KL by the batch's mean w, -example each example's KL by its w."""
    g = torch.Generator().manual_seed(0)
    s, e, ts, te = (torch.randn(3, 8, generator=g) for _ in range(4))
    gs, ge = torch.tensor([1, 2, 3]), torch.tensor([2, 4, 5])
    for base in ("entropy", "confidence", "gold-mass"):
        w = coefficient_per_example(base, ts, te, gs, ge, temperature=T)
        assert torch.equal(w, coefficient_per_example(f"{base}-example", ts, te, gs, ge, temperature=T))
        assert ((w >= 0) & (w <= 1)).all()
        plain = distillation_loss(s, e, ts, te, gs, ge, w, mode=base, temperature=T)
        per_ex = distillation_loss(s, e, ts, te, gs, ge, w, mode=f"{base}-example", temperature=T)
        none = distillation_loss(s, e, ts, te, gs, ge, torch.ones(3), mode="none", temperature=T)
        kl_ex = none["loss"] - none["loss_ce"]     # the mean KL term with w = 1
        assert plain["loss"].item() == pytest.approx((none["loss_ce"] + w.mean() * kl_ex).item())
        assert per_ex["loss"].item() != pytest.approx(plain["loss"].item())


def test_every_coefficient_is_a_config_choice():
    for mode in COEFFICIENTS:
        assert ExperimentConfig().replace(**{"distill.coefficient": mode}).distill.coefficient == mode
    assert {"none", "entropy", "entropy-example", "confidence", "gold-mass", "gold-mass-example"} <= set(COEFFICIENTS)


def test_masked_padding_has_zero_probability():
    """The reason masked positions add nothing to the entropy: exp(MASK_VALUE / T) is exactly 0 in float32."""
    assert torch.softmax(torch.tensor([0.0, MASK_VALUE / 0.5]), -1)[1].item() == 0.0


@pytest.mark.parametrize("mask", [True, False])
def test_the_teacher_pass_computes_the_coefficient_at_t_on_the_losss_support(mask):
    """The cached per-feature coefficient is the one the cached logits give at distill.temperature, over the
    unmasked positions (masked) or every position (the paper's unmasked softmax, max_length padding)."""
    from engine.features import tokenize
    from engine.modeling import load_model_and_tokenizer
    from engine.pipeline import tokenizer_texts, training_records
    from engine.testing import tiny_config
    from engine.train.teacher_cache import compute_teacher
    cfg = tiny_config("distill", data={"synthetic_paragraphs": 4}, features={"padding": "max_length"},
                      train={"mask_padding_logits": mask})
    model, tok = load_model_and_tokenizer(cfg.model.name, tokenizer_texts(cfg), seed=0, vocab_size=cfg.model.vocab_size)
    feats = tokenize(training_records(cfg), tok, cfg.features)
    for mode in ("entropy", "gold-mass-example"):
        cache = compute_teacher(model, feats, 0, mode, 10, 5, 8, torch.device("cpu"), store_dtype=torch.float32,
                                mask=mask, temperature=3.0)
        b = feats.batch(list(range(len(feats))))
        ts, te, cached = cache.slice(b["feature_index"], feats.width)
        support = b["attention_mask"].bool() if mask else None
        again = coefficient_per_example(mode, ts, te, b["start_positions"], b["end_positions"], 10, 5, 3.0, support)
        assert torch.allclose(cached, again, atol=1e-6), mode
        at_one = coefficient_per_example(mode, ts, te, b["start_positions"], b["end_positions"], 10, 5, 1.0, support)
        assert not torch.allclose(cached, at_one, atol=1e-3), mode
