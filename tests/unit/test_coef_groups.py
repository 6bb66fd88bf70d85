"""Coefficient groups (issue 20 §3): one micro-batch of 24 in groups of 6 == 6 x 4 accumulation."""
import pytest
import torch

from engine.losses import coefficient_per_example, distillation_loss


def _batch(n=24, width=40, seed=0):
    g = torch.Generator().manual_seed(seed)
    s, e = torch.randn(n, width, generator=g), torch.randn(n, width, generator=g)
    ts, te = torch.randn(n, width, generator=g) * 3, torch.randn(n, width, generator=g) * 3
    sp, ep = torch.randint(0, width, (n,), generator=g), torch.randint(0, width, (n,), generator=g)
    return s, e, ts, te, sp, ep


@pytest.mark.parametrize("direction", ["forward", "symmetric"])
def test_groups_of_6_in_a_batch_of_24_equal_4_accumulated_batches_of_6(direction):
    s, e, ts, te, sp, ep = _batch()
    coef = coefficient_per_example("map@k", ts, te, sp, ep, k=10, window=5)
    assert coef.view(4, 6).mean(1).unique().numel() > 1  # the groups' w differ: the test can tell them apart
    kw = dict(mode="map@k", temperature=2.0, a_ce=1.0, a_kl=1.0, direction=direction)

    s1, e1 = s.clone().requires_grad_(), e.clone().requires_grad_()
    grouped = distillation_loss(s1, e1, ts, te, sp, ep, coef, group=6, **kw)
    grouped["loss"].backward()

    s2, e2 = s.clone().requires_grad_(), e.clone().requires_grad_()
    accumulated = 0.0
    for i in range(0, 24, 6):
        sl = slice(i, i + 6)
        part = distillation_loss(s2[sl], e2[sl], ts[sl], te[sl], sp[sl], ep[sl], coef[sl], **kw)["loss"] / 4
        part.backward()
        accumulated += part.detach()
    assert torch.allclose(grouped["loss"].detach(), accumulated, rtol=1e-6)
    assert torch.allclose(s1.grad, s2.grad, atol=1e-7) and torch.allclose(e1.grad, e2.grad, atol=1e-7)

    whole = distillation_loss(s, e, ts, te, sp, ep, coef, **kw)["loss"]  # one w for all 24: a different loss
    assert not torch.allclose(whole, accumulated, rtol=1e-4)


def test_a_shorter_last_group_counts_as_one_accumulated_micro_batch():
    s, e, ts, te, sp, ep = _batch(n=17)
    coef = coefficient_per_example("map@k", ts, te, sp, ep, k=10, window=5)
    kw = dict(mode="map@k", temperature=2.0)
    grouped = distillation_loss(s, e, ts, te, sp, ep, coef, group=6, **kw)["loss"]
    parts = [distillation_loss(s[i:i + 6], e[i:i + 6], ts[i:i + 6], te[i:i + 6], sp[i:i + 6], ep[i:i + 6],
                               coef[i:i + 6], **kw)["loss"] for i in (0, 6, 12)]
    assert torch.allclose(grouped, sum(parts) / 3, rtol=1e-6)


def test_training_with_groups_matches_accumulation(tmp_path):
    """The loop: batch 16 in groups of 8 takes the same steps as 8 x 2 accumulation (dropout off). On this
    tiny model the groups' w barely differ, so the fixed-logits test above is the one that tells them apart."""
    import copy

    from engine.features import tokenize
    from engine.modeling import load_model_and_tokenizer
    from engine.pipeline import tokenizer_texts, training_records
    from engine.testing import MemorySink
    from engine.train import train
    from tests.helpers import tiny_config

    def cfg_of(batch, accum, group):
        return tiny_config("distill", train={"epochs": 1, "batch_size": batch, "grad_accum": accum, "max_steps": 2,
                                             "log_every": 1}, distill={"coef_group": group},
                           data={"synthetic_paragraphs": 10},  # 120 features: 2 steps read 32, the teacher reads all
                           eval={"dev": "", "suites": []})
    cfg = cfg_of(8, 2, 0)
    model, tok = load_model_and_tokenizer(cfg.model.name, tokenizer_texts(cfg), seed=0, vocab_size=cfg.model.vocab_size)
    for m in model.modules():
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0
    feats = tokenize(training_records(cfg), tok, cfg.features)
    runs = {}
    for name, c in {"accumulated": cfg, "grouped": cfg_of(16, 1, 8)}.items():
        sink = MemorySink()
        train(c, copy.deepcopy(model), tok, feats, tmp_path / name, sink=sink)
        runs[name] = [m["loss"] for _, m in sink.metrics]
    assert runs["grouped"] == pytest.approx(runs["accumulated"], rel=1e-5)
