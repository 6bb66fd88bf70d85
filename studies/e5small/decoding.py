"""How much does the legacy max-context rule change the answers? One forward pass over MLQA-dev cells, the
same logits decoded with and without the rule, both scored by the MLQA v1 script.

    python studies/e5small/decoding.py --model RUNS/.../teacher/checkpoint [--cells same|all] [--config student.toml]
Prints per cell: questions, answers that differ, F1 and EM both ways; then the totals (and a JSON line).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--config", default=str(HERE / "student.toml"), help="features and evaluation settings")
    ap.add_argument("--cells", choices=["same", "all"], default="same", help="same-language cells, or all 49")
    ap.add_argument("--max-per-cell", type=int, default=0)
    args = ap.parse_args()
    os.environ.setdefault("XLQA_SHARED_DATA", str(HERE.parents[2].parent / "shared" / "data"))

    import numpy as np
    import torch

    from engine.config import load_toml
    from engine.decode import best_spans
    from engine.evaluate import cell_rows, predict_logits, score_cells, suite_records
    from engine.features import tokenize
    from engine.modeling import load_model_and_tokenizer

    cfg = load_toml(args.config)
    model, tokenizer = load_model_and_tokenizer(args.model)
    records = suite_records("mlqa-dev", cfg.eval.languages, cfg.eval.data_dir, args.max_per_cell, cfg.eval.subset_seed,
                            xlt_only=args.cells == "same")
    feats = tokenize(records, tokenizer, cfg.features, labels=False)
    start, end = predict_logits(model, feats, cfg.train.eval_batch_size, torch.device("cpu"))
    ids = list(records["id"])
    example_ids = [ids[i] for i in feats.example_index]
    contexts = dict(zip(ids, records["context"]))
    offsets = feats.padded_offsets(width=start.size(1))
    plain = best_spans(start.numpy(), end.numpy(), offsets, example_ids, contexts, cfg.eval.n_best, cfg.eval.max_answer_length)
    legacy = best_spans(start.numpy(), end.numpy(), offsets, example_ids, contexts, cfg.eval.n_best,
                        cfg.eval.max_answer_length, feats.max_context_mask(start.size(1)))
    cells_plain = {(c["lang_q"], c["lang_c"]): c for c in score_cells(records, plain, "mlqa-dev")}
    cells_legacy = {(c["lang_q"], c["lang_c"]): c for c in score_cells(records, legacy, "mlqa-dev")}
    multi = np.bincount(feats.example_index, minlength=len(records)) > 1
    print(f"{len(records):,} questions, {len(feats):,} windows, {multi.mean() * 100:.1f}% of questions span several windows")
    print(f"{'cell':<7} {'n':>5} {'differ':>7} {'F1 run_qa':>10} {'F1 legacy':>10} {'EM run_qa':>10} {'EM legacy':>10}")
    changed_total, per_cell = 0, []
    for (q, c), rows in cell_rows(records).items():
        changed = sum(plain[ids[i]] != legacy[ids[i]] for i in rows)
        changed_total += changed
        a, b = cells_plain[(q, c)], cells_legacy[(q, c)]
        per_cell.append({"cell": f"{q}-{c}", "n": a["n"], "differ": changed, "f1_run_qa": a["f1"], "f1_legacy": b["f1"],
                         "em_run_qa": a["exact_match"], "em_legacy": b["exact_match"]})
        print(f"{q}-{c:<4} {a['n']:>5} {changed:>7} {a['f1']:>10.2f} {b['f1']:>10.2f} {a['exact_match']:>10.2f} {b['exact_match']:>10.2f}")
    f1 = lambda cells: float(np.mean([x["f1"] for x in cells.values()]))
    em = lambda cells: float(np.mean([x["exact_match"] for x in cells.values()]))
    summary = {"questions": len(records), "answers_changed": changed_total, "multi_window_share": float(multi.mean()),
               "f1_run_qa": f1(cells_plain), "f1_legacy": f1(cells_legacy),
               "em_run_qa": em(cells_plain), "em_legacy": em(cells_legacy), "max_per_cell": args.max_per_cell,
               "model": args.model, "cells": per_cell}
    print(f"mean over cells: F1 {summary['f1_run_qa']:.2f} (every window) vs {summary['f1_legacy']:.2f} (max context), "
          f"EM {summary['em_run_qa']:.2f} vs {summary['em_legacy']:.2f}; {changed_total:,} answers differ "
          f"({100 * changed_total / len(records):.2f}%)")
    print(json.dumps(summary))


if __name__ == "__main__":
    sys.exit(main())
