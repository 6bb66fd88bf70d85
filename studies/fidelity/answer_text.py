"""How much does the legacy answer text (`eval.answer_text = "legacy"`) read below the offsets cut on the
same spans? Every gold answer of a file, as the token span that covers it, decoded both ways and scored by
the dataset's official script (issue 18, point 2). No model: the spans are the gold ones, so the gap is
the answer text alone.

    XLQA_SHARED_DATA=../shared/data python studies/fidelity/answer_text.py [--vocab-size 30000]
Prints a Markdown table (F1 both ways, answers that differ, share of answer words holding NBSP) and writes
studies/fidelity/answer_text.json. The tokenizer is a WordPiece vocabulary built on the texts of these
files (engine.modeling.train_wordpiece), not mBERT's: the study runs offline.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

HERE = Path(__file__).resolve().parent
FILES = [  # (name, path under the data folder, official scorer)
    ("TyDiQA-ru", "tydiqa/dev/russian_tydiqa_dev.json.gz", "squad"),
    ("TyDiQA-ko", "tydiqa/dev/korean_tydiqa_dev.json.gz", "squad"),
    ("TyDiQA-sw", "tydiqa/dev/swahili_tydiqa_dev.json.gz", "squad"),
    ("TyDiQA-fi", "tydiqa/dev/finnish_tydiqa_dev.json.gz", "squad"),
    ("MLQA-dev-es", "mlqa/dev/dev-context-es-question-es.json.gz", "mlqa"),
    ("XQuAD-el", "xquad/xquad.el.json.gz", "squad"),
    ("XQuAD-ru", "xquad/xquad.ru.json.gz", "squad"),
    ("XQuAD-tr", "xquad/xquad.tr.json.gz", "squad"),
]


def gold_spans(records, feats) -> dict:
    """{id: (feature, start token, end token)}: the first window whose labels hold the gold answer."""
    spans = {}
    for f, i in enumerate(feats.example_index):
        ex = records[int(i)]["id"]
        if ex not in spans and feats.start_positions[f] > 0:
            spans[ex] = (f, int(feats.start_positions[f]), int(feats.end_positions[f]))
    return spans


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=os.environ.get("XLQA_SHARED_DATA", str(HERE.parents[2].parent / "shared" / "data")))
    ap.add_argument("--vocab-size", type=int, default=30000)
    ap.add_argument("--out", default=str(HERE / "answer_text.json"))
    args = ap.parse_args()

    from engine.answer_text import Words
    from engine.data import load_squad_file
    from engine.evaluate import legacy_texts
    from engine.features import FeatureConfig, tokenize
    from engine.modeling import train_wordpiece
    from engine.scoring import score_records

    tables = {name: load_squad_file(Path(args.data) / rel) for name, rel, _ in FILES}
    texts = [t for table in tables.values() for t in list(table["context"]) + list(table["question"])]
    tok = train_wordpiece(texts, args.vocab_size)
    cfg = FeatureConfig(max_length=384, doc_stride=128, max_query_length=64, stride_mode="step")
    rows = []
    for name, _, scorer in FILES:
        records = tables[name]
        feats = tokenize(records, tok, cfg, labels=True)
        spans = gold_spans(records, feats)
        contexts = dict(zip(records["id"], records["context"]))
        offsets = {ex: contexts[ex][feats.offsets[f][s, 0]:feats.offsets[f][e, 1]] for ex, (f, s, e) in spans.items()}
        legacy = legacy_texts(spans, feats, tok, contexts)
        kept = records.filter(lambda r, spans=spans: r["id"] in spans)
        words = []  # the whitespace words (the SQuAD processor's) that the gold spans touch
        for ex, (f, s, e) in spans.items():
            w = Words(contexts[ex])
            first, last = w.index(int(feats.offsets[f][s, 0])), w.index(int(feats.offsets[f][e, 1]) - 1)
            words += [contexts[ex][w.starts[i]:w.ends[i]] for i in range(first, last + 1)]
        rows.append({"suite": name, "questions": len(records), "spans": len(spans),
                     "f1_offsets": score_records(kept, offsets, scorer)["f1"],
                     "f1_legacy": score_records(kept, legacy, scorer)["f1"],
                     "differ": sum(offsets[ex] != legacy[ex] for ex in spans),
                     "nbsp_words": sum("\u00a0" in w for w in words) / max(1, len(words))})
    print("| suite | gold spans | F1 offsets | F1 legacy | difference | answers that differ | span words with NBSP |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['suite']} | {r['spans']:,} of {r['questions']:,} | {r['f1_offsets']:.2f} | {r['f1_legacy']:.2f} | "
              f"{r['f1_legacy'] - r['f1_offsets']:+.2f} | {r['differ']:,} | {100 * r['nbsp_words']:.1f}% |")
    Path(args.out).write_text(json.dumps({"vocab_size": args.vocab_size, "rows": rows}, indent=1) + "\n",
                              encoding="utf-8")


if __name__ == "__main__":
    main()
