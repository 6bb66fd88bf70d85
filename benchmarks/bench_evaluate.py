"""Cost of evaluation over a bare forward pass: the evaluate job's path (cell by cell: features, forward,
span decoding, official scoring, the cell and its per-question scores written to SQLite and flushed) against
the model's forward pass alone over the same features, in one run.

    python benchmarks/bench_evaluate.py [--model /tmp/e5small-qa] [--cells 3] [--max-per-cell N] [--data ../shared/data]
Without a converted e5-small (studies/e5small/run.py makes one) a tiny BERT stands in. Prints both times
and the ratio (goal: about 1.0x; the forward pass is what evaluation costs)."""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import torch

from db import Store
from engine.jobs.store_sink import StoreSink
from engine.evaluate import Decoding, cell_rows, evaluate_suite, length_grouped_batches, suite_records
from engine.features import FeatureConfig, tokenize
from engine.modeling import load_model_and_tokenizer

REPO = Path(__file__).resolve().parents[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="/tmp/e5small-qa")
    ap.add_argument("--cells", type=int, default=3, help="MLQA-dev cells (same-language first)")
    ap.add_argument("--max-per-cell", type=int, default=0, help="questions per cell (0: all)")
    ap.add_argument("--data", default=os.environ.get("XLQA_SHARED_DATA", str(REPO.parent / "shared" / "data")))
    args = ap.parse_args()
    data = args.data if Path(args.data, "mlqa/dev").exists() else str(REPO / "tests" / "data")
    torch.set_grad_enabled(False)
    if Path(args.model, "config.json").exists():
        model, tokenizer = load_model_and_tokenizer(args.model)
    else:
        from engine.pipeline import tokenizer_texts
        from engine.testing import tiny_config
        print(f"no model at {args.model}: a tiny BERT (256 hidden, 4 layers) stands in")
        model, tokenizer = load_model_and_tokenizer("tiny-bert:256:4", tokenizer_texts(tiny_config()))
    model.eval()
    feat_cfg = FeatureConfig(max_length=192, doc_stride=64, max_query_length=48)
    records = suite_records("mlqa-dev", ["en", "es", "de"], data, max_per_cell=args.max_per_cell, seed=0)
    cells = list(cell_rows(records).items())[:args.cells]
    subsets = [records.select(rows) for _, rows in cells]
    print(f"{len(cells)} cells, {sum(len(s) for s in subsets):,} questions, {data}")

    feats = [tokenize(s, tokenizer, feat_cfg, labels=False) for s in subsets]
    start = time.perf_counter()
    for f in feats:  # the forward pass alone: the same batches the evaluation makes
        for idx in length_grouped_batches(f.lengths, 32):
            b = f.batch(idx)
            model(**{k: b[k] for k in ("input_ids", "attention_mask", "token_type_ids") if k in b})
    forward = time.perf_counter() - start

    with tempfile.TemporaryDirectory() as tmp:
        store = Store(str(Path(tmp) / "bench.db"))
        run = store.create_run(store.create_experiment("bench"), "evaluate", {}, output_dir=str(Path(tmp) / "run"))
        sink = StoreSink(store, run, interval=3600)
        start = time.perf_counter()
        for subset in subsets:  # what run_evaluate does per cell
            (cell,), _ = evaluate_suite(model, tokenizer, subset, "mlqa-dev", feat_cfg, 32, torch.device("cpu"),
                                        decode=Decoding(max_context=True))
            sink.log_eval(0, "mlqa-dev", [cell])
            sink.flush()
        evaluation = time.perf_counter() - start
        sink.close()
        rows = len(store.question_scores(run, "mlqa-dev", "step", 0))
    print(f"forward pass only   {forward:8.2f} s")
    print(f"evaluation          {evaluation:8.2f} s  (tokenize + forward + decode + score + {rows:,} question rows)")
    print(f"ratio               {evaluation / forward:8.3f}x")


if __name__ == "__main__":
    main()
