import copy
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from engine.features import tokenize
from engine.losses import distillation_loss
from engine.modeling import load_model_and_tokenizer
from engine.pipeline import run_stage, tokenizer_texts, training_records
from engine.testing import MemorySink, StopAtStep
from engine.train.loop import Cancelled
from engine.train.teacher_cache import compute_teacher, masked_logits
from tests.helpers import tiny_config

REPO = Path(__file__).resolve().parents[2]  # tests/<layer>/this file


@pytest.mark.slow  # trains for a while
def test_teacher_learns_the_synthetic_set(tmp_path):
    """The offline default must be learnable: held-out English F1 above 80 after a short CPU run."""
    cfg = tiny_config("teacher", data={"synthetic_paragraphs": 400},
                      model={"name": "tiny-bert:128:2", "vocab_size": 3000},
                      features={"max_length": 128, "doc_stride": 48, "max_query_length": 32},
                      train={"epochs": 4, "batch_size": 32, "log_every": 10, "warmup_ratio": 0.1},
                      eval={"languages": ["en"], "max_per_cell": 150})
    sink = MemorySink()
    result = run_stage(cfg, tmp_path, sink)
    assert result.final["synthetic"]["xlt"] > 80
    losses = [v for _, v in sink.series("loss")]
    assert losses[-1] < losses[0] / 3


def _tiny_setup(stage="distill", **kw):
    cfg = tiny_config(stage, **kw)
    model, tok = load_model_and_tokenizer(cfg.model.name, tokenizer_texts(cfg), seed=0, vocab_size=cfg.model.vocab_size)
    records = training_records(cfg)
    return cfg, model, tok, records, tokenize(records, tok, cfg.features)


@pytest.mark.slow  # trains for a while
@pytest.mark.parametrize("mode", ["map@k", "map@k-example", "mrr@k"])
def test_cached_teacher_equals_on_the_fly_teacher(mode):
    cfg, model, tok, records, feats = _tiny_setup()
    cache = compute_teacher(model, feats, 0, mode, 10, 5, 7, torch.device("cpu"), store_dtype=torch.float32)
    half = compute_teacher(model, feats, 0, mode, 10, 5, 7, torch.device("cpu"))
    teacher = copy.deepcopy(model).eval()  # what the paper's code keeps: a second model, run every batch
    student = model.train()
    torch.manual_seed(0)
    for idx in ([0, 5, 9, 33], list(range(40, 56))):
        b = feats.batch(idx)
        inputs = {k: b[k] for k in ("input_ids", "attention_mask", "token_type_ids")}
        out = student(**inputs)
        s, e = masked_logits(out.start_logits, b["attention_mask"]), masked_logits(out.end_logits, b["attention_mask"])
        with torch.no_grad():
            t_out = teacher(**inputs)
        ts, te = masked_logits(t_out.start_logits, b["attention_mask"]), masked_logits(t_out.end_logits, b["attention_mask"])
        from engine.losses import coefficient_per_example
        coef = coefficient_per_example(mode, ts, te, b["start_positions"], b["end_positions"])
        live = distillation_loss(s, e, ts, te, b["start_positions"], b["end_positions"], coef, mode=mode)
        cs, ce_, ccoef = cache.slice(b["feature_index"], s.size(1))
        cached = distillation_loss(s, e, cs, ce_, b["start_positions"], b["end_positions"], ccoef, mode=mode)
        assert torch.equal(ccoef, coef)
        for key in ("loss", "loss_ce", "loss_kl", "coef"):
            assert cached[key].item() == pytest.approx(live[key].item(), rel=1e-6, abs=1e-7)
        hs, he, hcoef = half.slice(b["feature_index"], s.size(1))
        compact = distillation_loss(s, e, hs, he, b["start_positions"], b["end_positions"], hcoef, mode=mode)
        assert compact["loss"].item() == pytest.approx(live["loss"].item(), rel=2e-3)


@pytest.mark.slow  # trains for a while
def test_resume_continues_exactly(tmp_path):
    """Cancel mid-epoch in generation 1 of a distill run, resume: same weights as the uninterrupted run."""
    overrides = dict(train={"epochs": 2, "checkpoint_every": 0}, eval={"dev": "", "suites": []})
    cfg, model, tok, records, feats = _tiny_setup(**overrides)
    from engine.train import train
    full = train(cfg, copy.deepcopy(model), tok, feats, tmp_path / "full")
    steps_per_epoch = full.global_step // 2
    sink = StopAtStep(steps_per_epoch + 2)
    with pytest.raises(Cancelled):
        train(cfg, copy.deepcopy(model), tok, feats, tmp_path / "cut", sink=sink)
    resumed = train(cfg, copy.deepcopy(model), tok, feats, tmp_path / "cut", resume_from=tmp_path / "cut" / "checkpoint")
    assert resumed.global_step == full.global_step
    from transformers import AutoModelForQuestionAnswering
    a = AutoModelForQuestionAnswering.from_pretrained(tmp_path / "full" / "checkpoint").state_dict()
    b = AutoModelForQuestionAnswering.from_pretrained(tmp_path / "cut" / "checkpoint").state_dict()
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)


@pytest.mark.slow  # trains for a while
def test_two_processes_train_like_one_with_the_combined_batch(tmp_path):
    """DDP on CPU (gloo): 2 processes x batch 8 == 1 process x batch 16."""
    script = REPO / "tests" / "ddp_worker.py"
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_port=29533",
                    str(script), str(tmp_path / "ddp"), "8"], check=True, env=env, timeout=300)
    subprocess.run([sys.executable, str(script), str(tmp_path / "single"), "16"], check=True, env=env, timeout=300)
    ddp_metrics = torch.load(tmp_path / "ddp" / "metrics.pt")
    single_metrics = torch.load(tmp_path / "single" / "metrics.pt")
    assert [s for s, _ in ddp_metrics] == [1, 2, 3, 4]
    for (_, m2), (_, m1) in zip(ddp_metrics, single_metrics):  # global losses and the batch-level w, per step
        for key in ("loss", "loss_ce", "loss_kl", "coef"):
            assert m2[key] == pytest.approx(m1[key], rel=1e-5, abs=1e-7)
    a = torch.load(tmp_path / "ddp" / "weights.pt")
    b = torch.load(tmp_path / "single" / "weights.pt")
    init = torch.load(tmp_path / "ddp" / "initial.pt")
    diff = torch.cat([(a[k] - b[k]).abs().flatten() for k in a])
    moved = torch.cat([(a[k] - init[k]).abs().flatten() for k in a if "_embeddings" not in k])
    # Adam's first steps move each weight by about +-lr whatever the gradient's size, so the few weights whose
    # gradient is float noise around zero may take opposite signs; everything else must agree
    assert (diff <= 1e-5).float().mean() > 0.999
    assert (moved > 1e-4).float().mean() > 0.5  # it trained (embedding tables, mostly unused rows, left out)
