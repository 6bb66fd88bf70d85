"""The two AdamW forms over a real run's first optimizer steps: the same data, model, seed and batches,
only train.optimizer changes. Each form runs in its own process (they can run side by side); `compare`
prints the loss of every logging window and the weights' relative distance.

    export XLQA_SHARED_DATA=../shared/data
    python studies/fidelity/adamw_first_steps.py run adamw OUT &
    python studies/fidelity/adamw_first_steps.py run adamw-legacy OUT
    python studies/fidelity/adamw_first_steps.py compare OUT
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import torch

from engine.features import tokenize
from engine.modeling import load_model_and_tokenizer
from engine.pipeline import tokenizer_texts, training_records
from engine.testing import tiny_config
from engine.testing import MemorySink
from engine.train import train


def config(args, optimizer):
    data = Path(os.environ.get("XLQA_SHARED_DATA", "../shared/data"))
    # the paper's recipe (lr 5e-5, 6 x 4, seed 3, no warmup or decay) on real English QA: SQuAD v1.1 dev
    # stands in for train, which is not in the shared data
    return tiny_config("teacher", data={"train": str(data / "squad" / "dev-v1.1.json.gz"), "languages": ["en"],
                                        "max_train_examples": args.examples},
                       model={"name": args.model, "vocab_size": 8000},
                       features={"max_length": args.max_length, "doc_stride": 128, "max_query_length": 64},
                       train={"epochs": 1, "learning_rate": 5e-5, "batch_size": 6, "grad_accum": 4, "seed": 3,
                              "max_steps": args.steps, "log_every": 10, "weight_decay": 0.0, "warmup_ratio": 0.0,
                              "optimizer": optimizer},
                       eval={"dev": "", "suites": []})


def run(args):
    cfg = config(args, args.optimizer)
    records = training_records(cfg)
    model, tok = load_model_and_tokenizer(cfg.model.name, tokenizer_texts(cfg, records), seed=3, vocab_size=8000)
    start = {k: v.clone() for k, v in model.state_dict().items()}
    feats = tokenize(records, tok, cfg.features)
    print(f"{len(records)} questions, {len(feats)} features", file=sys.stderr, flush=True)
    sink = MemorySink()
    with tempfile.TemporaryDirectory() as tmp:
        train(cfg, model, tok, feats, Path(tmp), sink=sink)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.save({"loss": [v for _, v in sink.series("loss")], "start": start, "end": model.state_dict(),
                "features": len(feats)}, out / f"{args.optimizer}.pt")


def compare(args):
    a, b = (torch.load(Path(args.out) / f"{name}.pt") for name in ("adamw", "adamw-legacy"))
    dist = lambda x, y: float(torch.sqrt(sum(((x[k] - y[k]).double() ** 2).sum() for k in x)))  # noqa: E731
    zero = {k: torch.zeros_like(v) for k, v in a["end"].items()}
    print(json.dumps({
        "features": a["features"], "loss_adamw": a["loss"], "loss_legacy": b["loss"],
        "max_abs_loss_diff": max(abs(x - y) for x, y in zip(a["loss"], b["loss"])),
        "max_rel_loss_diff": max(abs(x - y) / abs(x) for x, y in zip(a["loss"], b["loss"])),
        "weights_rel_diff": dist(a["end"], b["end"]) / dist(a["end"], zero),
        "update_rel_diff": dist(a["end"], b["end"]) / dist(a["end"], a["start"])}, indent=1))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="what", required=True)
    r = sub.add_parser("run")
    r.add_argument("optimizer", choices=["adamw", "adamw-legacy"])
    r.add_argument("out")
    r.add_argument("--steps", type=int, default=100)
    r.add_argument("--model", default="tiny-bert:64:2")
    r.add_argument("--max-length", type=int, default=256)
    r.add_argument("--examples", type=int, default=3000, help="questions drawn from SQuAD dev (whole ids)")
    sub.add_parser("compare").add_argument("out")
    args = ap.parse_args()
    run(args) if args.what == "run" else compare(args)


if __name__ == "__main__":
    main()
