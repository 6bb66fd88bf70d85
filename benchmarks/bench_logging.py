"""Cost of logging to the database: the same training run with a NullSink and with the StoreSink
(SQLite, batched, flushed by a background thread); --log-every 1 is the worst case.

    python benchmarks/bench_logging.py [--log-every 10]
Prints both times and the overhead in percent (goal: under 1% of step time)."""

import tempfile
import time
from pathlib import Path

from db import Store
from engine.jobs.store_sink import StoreSink
from engine.features import tokenize
from engine.modeling import load_model_and_tokenizer
from engine.pipeline import tokenizer_texts, training_records
from engine.sink import NullSink
from engine.train import train
from engine.testing import tiny_config


def timed(cfg, feats, tok, sink, out):
    model, _ = load_model_and_tokenizer(cfg.model.name, tokenizer_texts(cfg), seed=0, vocab_size=cfg.model.vocab_size)
    start = time.perf_counter()
    result = train(cfg, model, tok, feats, out, sink=sink)
    return time.perf_counter() - start, result.global_step


def main():
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--log-every", type=int, default=1)
    args = ap.parse_args()
    cfg = tiny_config("distill", data={"synthetic_paragraphs": 150}, model={"name": "tiny-bert:128:2"},
                      train={"epochs": 1, "log_every": args.log_every, "batch_size": 16}, eval={"dev": "", "suites": []})
    _, tok = load_model_and_tokenizer(cfg.model.name, tokenizer_texts(cfg), seed=0, vocab_size=cfg.model.vocab_size)
    feats = tokenize(training_records(cfg), tok, cfg.features)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'bench.db'}")
        exp = store.create_experiment("bench")
        times = {"null": [], "store": []}
        for rep in range(2):
            t, steps = timed(cfg, feats, tok, NullSink(), Path(tmp) / f"n{rep}")
            times["null"].append(t)
            sink = StoreSink(store, store.create_run(exp, "distill", cfg.to_dict(), output_dir=str(Path(tmp) / f"s{rep}")))
            t, _ = timed(cfg, feats, tok, sink, Path(tmp) / f"s{rep}")
            sink.close()
            times["store"].append(t)
        rows = store.metric_series(2, "loss")
    null, stored = min(times["null"]), min(times["store"])
    print(f"steps={steps}, metrics and a histogram logged every {args.log_every} step(s) ({len(rows)} loss rows)")
    print(f"NullSink   {null:7.2f} s   {1000 * null / steps:7.2f} ms/step")
    print(f"StoreSink  {stored:7.2f} s   {1000 * stored / steps:7.2f} ms/step")
    print(f"overhead   {100 * (stored - null) / null:+7.2f} %  (goal < 1%; noise on a 2-core CPU is about ±2%)")


if __name__ == "__main__":
    main()
