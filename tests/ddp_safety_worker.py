"""Run by test_ddp_safety under 2 gloo processes: a stop that only rank 0's sink sees (`stop`), or an epoch
whose last global batch leaves rank 1 an empty slice (`tail`). Each rank writes what it ended with."""
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np
import torch

from engine.cancel import Cancelled
from engine.features import tokenize
from engine.modeling import load_model_and_tokenizer
from engine.pipeline import tokenizer_texts, training_records
from engine.sink import NullSink
from engine.testing import StopAtStep
from engine.train import train
from engine.train.loop import make_accelerator
from tests.helpers import tiny_config


def first(feats, n):
    """The first n features (every per-feature field sliced)."""
    return dataclasses.replace(feats, **{f.name: getattr(feats, f.name)[:n] for f in dataclasses.fields(feats)
                                         if isinstance(getattr(feats, f.name), (list, np.ndarray))})


out, mode = Path(sys.argv[1]), sys.argv[2]
train_cfg = {"epochs": 1, "batch_size": 4, "max_steps": 6, "log_every": 1} if mode == "stop" else \
    {"epochs": 1, "batch_size": 8, "grad_accum": 1, "log_every": 1}
cfg = tiny_config("distill", train=train_cfg, eval={"dev": "", "suites": []})
model, tok = load_model_and_tokenizer(cfg.model.name, tokenizer_texts(cfg), seed=0, vocab_size=cfg.model.vocab_size)
feats = tokenize(training_records(cfg), tok, cfg.features)
if mode == "tail":
    feats = first(feats, 17)  # 2 x 8 + 1: the last global batch has one feature for two processes
acc = make_accelerator(cfg, cpu=True)
rank = acc.process_index
sink = StopAtStep(2) if (mode == "stop" and rank == 0) else NullSink()
try:
    result = {"ended": "finished", "step": train(cfg, model, tok, feats, out / "run", accelerator=acc,
                                                   sink=sink).global_step}
except Cancelled as e:
    result = {"ended": "cancelled", "message": str(e)}
out.mkdir(parents=True, exist_ok=True)
(out / f"rank-{rank}.json").write_text(json.dumps(result))
acc.wait_for_everyone()
if torch.distributed.is_initialized():
    torch.distributed.destroy_process_group()
