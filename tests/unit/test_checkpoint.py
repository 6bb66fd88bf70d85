"""Checkpoints survive a kill at any instant of a save, and their state loads with weights_only=True."""

import os
import shutil

import pytest
import torch

from engine.modeling import load_model_and_tokenizer
from engine.pipeline import tokenizer_texts
from engine.train.checkpoint import (STATE_FILE, complete_checkpoints, latest_checkpoint, load_state, position_name,
                                     promote_best, resume_point, write_partial)
from engine.testing import save_checkpoint
from engine.train.teacher_cache import TeacherCache
from tests.helpers import tiny_config


@pytest.fixture(scope="module")
def parts():
    cfg = tiny_config("distill")
    model, tok = load_model_and_tokenizer(cfg.model.name, tokenizer_texts(cfg), seed=0, vocab_size=cfg.model.vocab_size)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model(input_ids=torch.tensor([[2, 5, 3]])).start_logits.sum().backward()
    optimizer.step()  # some Adam state to save
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    return model, tok, optimizer, scheduler


def counters(step, epoch=0, micro=0):
    return {"epoch": epoch, "micro_in_epoch": micro, "global_step": step, "best": 12.5}


def test_a_kill_before_publishing_leaves_the_previous_checkpoint(tmp_path, parts):
    first = save_checkpoint(tmp_path, *parts, counters(10))
    assert latest_checkpoint(tmp_path) == first and (tmp_path / "checkpoint").resolve() == first.resolve()
    partial = write_partial(tmp_path, *parts, counters(20))        # killed here: never renamed
    assert latest_checkpoint(tmp_path) == first
    assert resume_point(latest_checkpoint(tmp_path)).step == 10
    # a kill after the rename, before the link moved: the scan finds the newer one anyway
    os.rename(partial, partial.with_name(partial.name.removesuffix(".partial")))
    assert latest_checkpoint(tmp_path).name == position_name(counters(20))
    assert (tmp_path / "checkpoint").resolve() == first.resolve()
    third = save_checkpoint(tmp_path, *parts, counters(30))        # the next save tidies up
    assert complete_checkpoints(tmp_path) == [third] and not list((tmp_path / "checkpoints").glob("*.partial"))
    assert (tmp_path / "checkpoint").resolve() == third.resolve()


def test_positions_sort_in_training_order_and_the_epoch_end_wins(tmp_path, parts):
    mid = save_checkpoint(tmp_path, *parts, counters(150, epoch=0, micro=300), keep=5)
    end = save_checkpoint(tmp_path, *parts, counters(150, epoch=1, micro=0), keep=5)  # same step, after the epoch
    assert complete_checkpoints(tmp_path) == [mid, end] and latest_checkpoint(tmp_path) == end


def test_state_loads_with_weights_only_and_restores_every_rng(tmp_path, parts):
    import random

    import numpy as np
    teacher = TeacherCache(torch.zeros(3, 4, dtype=torch.float16), torch.ones(3, 4, dtype=torch.float16),
                           torch.tensor([0.5, 1.0, 0.0]), generation=1)
    random.seed(1), np.random.seed(2), torch.manual_seed(3)
    path = save_checkpoint(tmp_path, *parts, counters(7, epoch=1, micro=3), teacher=teacher,
                           window={"sums": {"loss": torch.tensor(2.0)}, "count": 2, "examples": 32, "coefs": None})
    expected = (random.random(), np.random.rand(), torch.rand(1).item())
    state = torch.load(path / STATE_FILE, map_location="cpu", weights_only=True)   # no pickled objects inside
    assert state["counters"]["global_step"] == 7 and state["window"]["count"] == 2
    assert torch.equal(state["teacher"]["coef"], teacher.coef)
    from engine.train.checkpoint import set_rng_state
    set_rng_state(load_state(path)["rng"])
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == expected
    # a mid-epoch checkpoint carries its generation's teacher: the resumed run recomputes only later ones
    assert resume_point(path) == type(resume_point(path))(step=7, generation=2)


def test_best_is_swapped_atomically(tmp_path, parts):
    model, tok, *_ = parts
    promote_best(tmp_path, model, tok, 5)
    target = (tmp_path / "best").resolve()
    promote_best(tmp_path, model, tok, 9)
    assert (tmp_path / "best").resolve().name == "best-00000009" and not target.exists()
    assert (tmp_path / "best" / "config.json").exists()
    shutil.rmtree(tmp_path / "best-00000009.partial", ignore_errors=True)
