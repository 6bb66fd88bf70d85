"""One epoch of distillation with mAP@k vs one epoch of plain CE, same tiny model and data, one run.

    python benchmarks/bench_distill_vs_ce.py [--paragraphs 150] [--hidden 128 --layers 2]
Prints wall time (teacher pass of the generation included), the ratio, and peak memory of both
(CPU: peak RSS growth measured in a fresh subprocess per mode; CUDA: torch.cuda.max_memory_allocated)."""

import argparse
import json
import subprocess
import sys
import time


def one(mode: str, args) -> dict:
    import resource

    import torch

    from engine.config import from_dict
    from engine.features import tokenize
    from engine.modeling import load_model_and_tokenizer
    from engine.pipeline import tokenizer_texts, training_records
    from engine.train import train
    cfg = from_dict({
        "data": {"train": "synthetic", "languages": ["en", "es", "de", "ar", "hi", "vi", "zh"], "ntl": 2,
                 "synthetic_paragraphs": args.paragraphs},
        "model": {"name": f"tiny-bert:{args.hidden}:{args.layers}"},
        "features": {"max_length": 128, "doc_stride": 48, "max_query_length": 32},
        "train": {"stage": "distill" if mode == "distill" else "teacher", "epochs": 1, "batch_size": 32,
                  "grad_accum": 1, "log_every": 50, "eval_batch_size": 128},
        "eval": {"dev": "", "suites": []},
    })
    model, tok = load_model_and_tokenizer(cfg.model.name, tokenizer_texts(cfg), seed=0)
    # both modes train on the same sampled cross-lingual records
    records = training_records(cfg.replace(**{"train.stage": "distill"}))
    feats = tokenize(records, tok, cfg.features)
    cuda = torch.cuda.is_available()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    train(cfg, model, tok, feats, f"/tmp/xlqa-bench-{mode}")
    seconds = time.perf_counter() - start
    peak = (torch.cuda.max_memory_allocated() if cuda else
            (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) * 1024)
    return {"mode": mode, "seconds": seconds, "peak_bytes": peak, "features": len(feats), "device": "cuda" if cuda else "cpu"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--paragraphs", type=int, default=150)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--one", choices=["ce", "distill"])
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args)))
        return
    results = {}
    for mode in ("ce", "distill", "ce", "distill"):  # interleaved, best of two each
        out = subprocess.run([sys.executable, __file__, "--one", mode, "--paragraphs", str(args.paragraphs),
                              "--hidden", str(args.hidden), "--layers", str(args.layers)],
                             capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
        r = json.loads(out)
        if mode not in results or r["seconds"] < results[mode]["seconds"]:
            results[mode] = r
    ce, kd = results["ce"], results["distill"]
    print(f"device={ce['device']}  features={ce['features']}  model=tiny-bert:{args.hidden}:{args.layers}")
    print(f"CE epoch                    {ce['seconds']:8.2f} s   peak {ce['peak_bytes'] / 2**20:8.1f} MiB")
    print(f"distill + mAP@k epoch       {kd['seconds']:8.2f} s   peak {kd['peak_bytes'] / 2**20:8.1f} MiB")
    print(f"time ratio distill / CE     {kd['seconds'] / ce['seconds']:8.3f}   (goal <= 1.3)")


if __name__ == "__main__":
    main()
