"""Run by test_train: a few distill steps with dropout off, so 2 DDP processes and 1 process can match."""
import sys
from pathlib import Path

import torch

from engine.features import tokenize
from engine.modeling import load_model_and_tokenizer
from engine.pipeline import tokenizer_texts, training_records
from engine.train import train
from engine.testing import MemorySink
from engine.train.loop import make_accelerator
from tests.helpers import tiny_config

out, batch = Path(sys.argv[1]), int(sys.argv[2])
cfg = tiny_config("distill", train={"epochs": 1, "batch_size": batch, "max_steps": 4, "log_every": 1},
                  eval={"dev": "", "suites": []})
model, tok = load_model_and_tokenizer(cfg.model.name, tokenizer_texts(cfg), seed=0, vocab_size=cfg.model.vocab_size)
for m in model.modules():
    if isinstance(m, torch.nn.Dropout):
        m.p = 0.0
feats = tokenize(training_records(cfg), tok, cfg.features)
acc = make_accelerator(cfg, cpu=True)
if acc.is_main_process:
    out.mkdir(parents=True, exist_ok=True)
    torch.save({k: v.clone() for k, v in model.state_dict().items()}, out / "initial.pt")
sink = MemorySink()
train(cfg, model, tok, feats, out, accelerator=acc, sink=sink)
if acc.is_main_process:
    torch.save(acc.unwrap_model(model).state_dict(), out / "weights.pt")
    torch.save(sink.metrics, out / "metrics.pt")
acc.wait_for_everyone()
if torch.distributed.is_initialized():  # a clean shutdown: gloo threads left running abort the process at exit
    torch.distributed.destroy_process_group()
