"""train.epoch_tail = "carry": the paper's loop leaves an epoch's last micro-batches unstepped."""

import copy
import math

import pytest
import torch
from transformers import AutoModelForQuestionAnswering, get_linear_schedule_with_warmup

from engine.features import tokenize
from engine.losses import ce_loss
from engine.modeling import load_model_and_tokenizer
from engine.pipeline import tokenizer_texts, training_records
from engine.train import train
from engine.train.loop import _epoch_order, _optimizer, steps_per_epoch
from engine.train.teacher_cache import masked_logits
from tests.helpers import tiny_config

BATCH, ACCUM, EPOCHS = 8, 4, 2


def setup(tail):
    cfg = tiny_config("teacher", data={"synthetic_paragraphs": 12}, train={
        "epochs": EPOCHS, "batch_size": BATCH, "grad_accum": ACCUM, "epoch_tail": tail, "keep_checkpoints": 5},
        eval={"dev": "", "suites": []})
    model, tok = load_model_and_tokenizer(cfg.model.name, tokenizer_texts(cfg), seed=0, vocab_size=cfg.model.vocab_size)
    return cfg, model, tok, tokenize(training_records(cfg), tok, cfg.features)


def official_loop(cfg, model, feats):
    """The loop of run_squad_w_distillation.py (CE only), written out: loss / accumulation on every
    micro-batch, a step when (step + 1) % accumulation == 0 with the step counter restarting every epoch,
    zero_grad only after a step, t_total = len(dataloader) // accumulation * epochs."""
    batches = math.ceil(len(feats) / BATCH)
    optimizer = _optimizer(model, cfg)
    scheduler = get_linear_schedule_with_warmup(optimizer, 0, batches // ACCUM * EPOCHS)
    model.train()
    torch.manual_seed(cfg.train.seed)  # as train() does: the same dropout draws
    steps = 0
    for epoch in range(EPOCHS):
        order = _epoch_order(len(feats), cfg.train.seed, epoch)
        for step in range(batches):
            b = feats.batch(order[step * BATCH:(step + 1) * BATCH].numpy())
            out = model(input_ids=b["input_ids"], attention_mask=b["attention_mask"],
                        token_type_ids=b["token_type_ids"])
            s, e = (masked_logits(x, b["attention_mask"]) for x in (out.start_logits, out.end_logits))
            (ce_loss(s, e, b["start_positions"], b["end_positions"]) / ACCUM).backward()
            if (step + 1) % ACCUM == 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                scheduler.step()
                model.zero_grad()
                steps += 1
    return steps


def weights(path):
    return AutoModelForQuestionAnswering.from_pretrained(path).state_dict()


@pytest.mark.slow  # trains for a while
def test_carry_trains_like_the_official_loop_and_step_does_not(tmp_path):
    cfg, model, tok, feats = setup("carry")
    micro = math.ceil(len(feats) / BATCH)
    assert micro % ACCUM != 0, "the test needs a tail"
    reference = copy.deepcopy(model)
    ref_steps = official_loop(cfg, reference, feats)
    result = train(cfg, copy.deepcopy(model), tok, feats, tmp_path / "carry")
    assert result.global_step == ref_steps == micro // ACCUM * EPOCHS
    got, want = weights(tmp_path / "carry" / "checkpoint"), reference.state_dict()
    assert all(torch.allclose(got[k], want[k], atol=1e-6) for k in want)

    step_cfg = cfg.replace(**{"train.epoch_tail": "step"})
    stepped = train(step_cfg, copy.deepcopy(model), tok, feats, tmp_path / "step")
    assert stepped.global_step == math.ceil(micro / ACCUM) * EPOCHS
    other = weights(tmp_path / "step" / "checkpoint")
    assert not all(torch.allclose(other[k], want[k], atol=1e-6) for k in want)


@pytest.mark.slow  # trains for a while
def test_resume_after_an_epoch_end_keeps_the_carried_gradients(tmp_path):
    cfg, model, tok, feats = setup("carry")
    train(cfg, copy.deepcopy(model), tok, feats, tmp_path / "full")
    after_epoch_0 = next((tmp_path / "full" / "checkpoints").glob("*-epoch-001-micro-000000"))
    resumed = train(cfg, copy.deepcopy(model), tok, feats, tmp_path / "cut", resume_from=after_epoch_0)
    assert resumed.global_step == steps_per_epoch(math.ceil(len(feats) / BATCH), ACCUM, "carry") * EPOCHS
    a, b = weights(tmp_path / "full" / "checkpoint"), weights(tmp_path / "cut" / "checkpoint")
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)


def test_steps_per_epoch_by_hand():
    assert (steps_per_epoch(10, 4, "carry"), steps_per_epoch(10, 4, "step")) == (2, 3)
    assert (steps_per_epoch(12, 4, "carry"), steps_per_epoch(12, 4, "step")) == (3, 3)
    # an unknown epoch_tail is refused: tests/data/bad_configs/epoch_tail_unknown.toml
