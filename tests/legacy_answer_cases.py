"""Builds tests/data/legacy_answer_text.json.gz: the legacy answer text of fixed fixture spans, as the functions
of transformers 4.21.1 compute it (see tests/data/README.md). Run once, outside the test suite, with the
path of an unpacked transformers 4.21.1 (no import of that package is needed: its three source files are
read, and only `get_final_text`, `BasicTokenizer` and the helpers they call are taken from them):

    python tests/legacy_answer_cases.py --transformers PATH/site-packages/transformers

Spans (deterministic): the first 3 gold answers of each fixture file in ru, es, ko, zh, ar and th; every
gold answer whose words hold NBSP, a zero-width or bidi mark, a soft hyphen or a BOM, in any language; and
around each such character (first 4 per file) the span of the word holding it, the span that stops just
before it, and a 3-word span over it. Each span is asked as the basic tokenizer writes it ("span"), as a
prediction that starts on a ## piece ("subword") and as one whose first token is [UNK] ("unk"); the es
spans also with lower casing."""

from __future__ import annotations

import argparse
import ast
import collections
import gzip
import json
import logging
import unicodedata
from pathlib import Path

from engine.answer_text import Words  # the whitespace-word split only chooses spans; the oracle does the rest

DATA = Path(__file__).parent / "data"
LANGS = ("ru", "es", "ko", "zh", "ar", "th")
SPECIAL = "\u00a0\u200b\u200c\u200d\u200e\u200f\u00ad\ufeff\u2060"
TYDI = {"russian": "ru", "korean": "ko", "arabic": "ar", "finnish": "fi", "telugu": "te", "english": "en",
        "bengali": "bn", "indonesian": "id", "swahili": "sw"}


def load_oracle(root: Path) -> dict:
    """get_final_text and BasicTokenizer of the given transformers source tree, with what they call."""
    wanted = {"tokenization_utils.py": {"_is_whitespace", "_is_control", "_is_punctuation"},
              "models/bert/tokenization_bert.py": {"whitespace_tokenize", "BasicTokenizer"},
              "data/metrics/squad_metrics.py": {"get_final_text"}}
    ns = {"unicodedata": unicodedata, "collections": collections, "logger": logging.getLogger("oracle")}
    for rel, names in wanted.items():
        tree = ast.parse((root / rel).read_text(encoding="utf-8"))
        nodes = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name in names]
        assert {n.name for n in nodes} == names, (rel, names)
        exec(compile(ast.Module(body=nodes, type_ignores=[]), str(root / rel), "exec"), ns)
    return ns


def fixture_files():
    for lang_dir, pattern in (("xquad", "xquad.*.json.gz"), ("mlqa/dev", "dev-context-*-question-*.json.gz"),
                              ("tydiqa/dev", "*_tydiqa_dev.json.gz")):
        for path in sorted((DATA / lang_dir).glob(pattern)):
            name = path.name
            if name.startswith("xquad."):
                lang = name.split(".")[1]
            elif name.startswith("dev-context-"):
                c, q = name[len("dev-context-"):-len(".json.gz")].split("-question-")
                if c != q:
                    continue
                lang = c
            else:
                lang = TYDI[name.split("_")[0]]
            yield path, lang


def spans(path: Path, lang: str):
    """(context, start, end, why) for the file."""
    obj = json.loads(gzip.decompress(path.read_bytes()))
    gold, special = [], []
    for article in obj["data"]:
        for p in article["paragraphs"]:
            ctx = p["context"]
            words = Words(ctx)
            for qa in p["qas"]:
                a = qa["answers"][0]
                s, e = a["answer_start"], a["answer_start"] + len(a["text"])
                if ctx[s:e] != a["text"] or not a["text"].strip():
                    continue
                span_words = words.text(words.index(s), words.index(e - 1))
                if lang in LANGS and len(gold) < 3:
                    gold.append((ctx, s, e, "gold"))
                elif any(ch in SPECIAL for ch in span_words):
                    gold.append((ctx, s, e, "gold-special"))
            for i, ch in enumerate(ctx):
                if ch not in SPECIAL or len(special) >= 12 or sum(1 for x in special if x[0] == ctx) >= 6:
                    continue
                w = words.index(i)
                ws, we = words.starts[w], words.ends[w]
                special.append((ctx, ws, we, "special-word"))
                if i > ws:
                    special.append((ctx, ws, i, "special-before"))
                lo, hi = max(0, w - 1), min(len(words.starts) - 1, w + 1)
                special.append((ctx, words.starts[lo], words.ends[hi], "special-3words"))
    return gold + special


def build(oracle: dict) -> dict:
    bt = oracle["BasicTokenizer"]
    get_final_text = oracle["get_final_text"]
    cases, tokenized, seen = [], {}, set()
    for path, lang in fixture_files():
        for ctx, s, e, why in spans(path, lang):
            words = Words(ctx)
            orig = words.text(words.index(s), words.index(e - 1))
            for lower in ((False, True) if lang == "es" else (False,)):
                tokens = bt(do_lower_case=lower).tokenize(ctx[s:e])
                if not tokens:
                    continue
                span = " ".join(tokens)
                preds = {"span": span, "unk": " ".join(["[UNK]"] + tokens[1:])}
                if len(tokens[0]) > 1:
                    preds["subword"] = "##" + span[1:]
                for kind, pred in preds.items():
                    key = (pred, orig, lower)
                    if key in seen:
                        continue
                    seen.add(key)
                    cases.append({"file": f"{path.parent.name}/{path.name}", "lang": lang, "why": why, "kind": kind,
                                  "lower": lower, "pred_text": pred, "orig_text": orig,
                                  "final_text": get_final_text(pred, orig, lower)})
                for text in (orig, ctx[s:e]):
                    tokenized.setdefault(f"{int(lower)}\t{text}", bt(do_lower_case=lower).tokenize(text))
    return {"produced_by": "transformers 4.21.1: data/metrics/squad_metrics.get_final_text, "
                           "models/bert/tokenization_bert.BasicTokenizer",
            "cases": cases, "basic_tokenize": tokenized}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--transformers", type=Path, required=True, help="the transformers 4.21.1 package folder")
    ap.add_argument("--out", type=Path, default=DATA / "legacy_answer_text.json.gz")
    args = ap.parse_args()
    version = (args.transformers / "__init__.py").read_text(encoding="utf-8").split('__version__ = "')[1].split('"')[0]
    assert version == "4.21.1", version
    out = build(load_oracle(args.transformers))
    data = json.dumps(out, ensure_ascii=False, sort_keys=True, indent=0).encode("utf-8")
    args.out.write_bytes(gzip.compress(data, compresslevel=9, mtime=0))
    kinds = collections.Counter((c["lang"], c["final_text"] == c["orig_text"]) for c in out["cases"])
    print(f"{len(out['cases'])} cases, {len(out['basic_tokenize'])} tokenized texts -> {args.out}")
    print(sorted(kinds.items()))


if __name__ == "__main__":
    main()
