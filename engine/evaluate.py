"""Evaluation suites: predict every (question language, context language) cell and score it.

XLT = mean F1 of same-language cells; G-XLT (all) = mean over every cell (the paper's code);
G-XLT (cross) = mean over cells whose languages differ.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

from engine import cancel
from engine.data import cross_lingual_cells, load_monolingual_folder
from engine.data.errors import DataError
from engine.answer_text import Words, legacy_answer
from engine.decode import best_positions, best_spans
from engine.features import FeatureConfig, length_grouped_batches, tokenize
from engine.languages import MLQA_LANGUAGES
from engine.scoring.metrics import record_question_scores
from engine.suites import ANSWER_TEXTS, SUITES, Suite  # noqa: F401  (re-exported)


def default_data_dir(configured: str = "") -> Path | None:
    for candidate in (configured, os.environ.get("XLQA_DATA_DIR", "")):
        if candidate:
            return Path(candidate).expanduser()
    return None


def suite_records(name: str, languages: list[str], data_dir: str = "", max_per_cell: int = 0, seed: int = 0,
                  synthetic_paragraphs: int = 60, xlt_only: bool = False, exclude_qids=frozenset()):
    """All cells of a suite in one record table (ids `{qid}_{q}-{c}`).

    xlt_only: the same-language cells only. exclude_qids: questions the model was trained on; they are dropped
    with every question sharing their paragraph (parallel data such as XQuAD repeats training questions in
    the languages it was not trained on).
    """
    if name.startswith("synthetic"):
        from engine.synthetic import generate
        mono_all = generate(synthetic_paragraphs, languages, seed=10_000 + seed)  # disjoint from training seeds
        mono = {lang: mono_all.filter(lambda r, lang=lang: r["lang_c"] == lang) for lang in languages}
        return _cells(mono, languages, not xlt_only, max_per_cell, seed)
    if name not in SUITES and not Path(name).exists():
        raise ValueError(f"unknown evaluation suite {name!r}: use one of {', '.join(SUITES)}, synthetic, or a folder")
    suite = SUITES.get(name)
    root = default_data_dir(data_dir)
    langs = [l for l in languages if suite is None or l in suite.languages]
    if not langs:
        raise ValueError(f"suite {name} has none of the languages {', '.join(languages)}; it has {', '.join(suite.languages)}")
    if suite is not None and root is None:
        from engine.data import load_source
        table = load_source(suite.hub, langs)
        mono = {lang: table.filter(lambda r, lang=lang: r["lang_c"] == lang) for lang in langs}
    else:
        path = Path(name) if suite is None else root / suite.subdir
        if not path.exists():
            raise DataError(path, f"suite {name} not found under the data dir", "set eval.data_dir / $XLQA_DATA_DIR to the folder holding mlqa/ xquad/ tydiqa/")
        mono = load_monolingual_folder(path, langs)
    if not mono:
        raise ValueError(f"suite {name} has no file for the languages {', '.join(langs)}")
    if exclude_qids:
        mono = {lang: _drop_trained(table, exclude_qids) for lang, table in mono.items()}
        if not any(len(t) for t in mono.values()):
            raise ValueError(f"every question of suite {name} ({', '.join(mono)}) was in the training data: "
                             "evaluate on another suite, or train on other questions")
    cross = (suite.cross if suite else True) and not xlt_only
    return _cells(mono, [l for l in langs if l in mono], cross, max_per_cell, seed)


def _drop_trained(table, qids):
    trained_contexts = set(table.filter(lambda r: r["qid"] in qids)["context"])
    return table.filter(lambda r: r["qid"] not in qids and r["context"] not in trained_contexts)


def _cells(mono, languages, cross, max_per_cell, seed):
    if cross:
        return cross_lingual_cells(mono, languages, max_per_cell or None, seed)
    from datasets import concatenate_datasets
    tables = [cross_lingual_cells({l: mono[l]}, [l], max_per_cell or None, seed) for l in languages]
    return concatenate_datasets(tables)


def suite_scorer(suite: str, context_language: str) -> str:
    """The dataset's official script; for folders and synthetic data, MLQA's for MLQA languages."""
    known = SUITES.get(suite)
    if known is not None:
        return known.scorer
    return "mlqa" if context_language in MLQA_LANGUAGES else "squad"


@dataclass(frozen=True)
class Decoding:
    """How logits become an answer: the n-best span search, the legacy max-context rule, and how the span
    becomes text (offsets: the context cut at the tokenizer's offsets; legacy: engine.answer_text)."""
    n_best: int = 20
    max_answer_length: int = 30
    max_context: bool = False
    answer_text: str = "offsets"


def decoding(eval_cfg) -> Decoding:
    return Decoding(eval_cfg.n_best, eval_cfg.max_answer_length, eval_cfg.max_context, eval_cfg.answer_text)


@torch.no_grad()
def predict_logits(model, feats, batch_size: int, device, autocast_dtype=None):
    """Start/end logits [F, width] (float32, CPU) in feature order, length-grouped batches. With dynamic
    padding, a feature's padding positions get -1e4, so the answers do not depend on which features
    shared its batch; padded to max_length (the paper's code) they keep the model's logits."""
    model.eval()
    width = feats.width
    start = torch.full((len(feats), width), -1e4)
    end = torch.full((len(feats), width), -1e4)
    for idx in length_grouped_batches(feats.lengths, batch_size):
        cancel.check()
        batch = feats.batch(idx)
        inputs = {k: v.to(device) for k, v in batch.items() if k in ("input_ids", "attention_mask", "token_type_ids")}
        with torch.autocast(device.type, dtype=autocast_dtype, enabled=autocast_dtype is not None):
            out = model(**inputs)
        s, e = out.start_logits.float(), out.end_logits.float()
        if feats.pad_to is None:
            pad = inputs["attention_mask"] == 0
            s, e = s.masked_fill(pad, -1e4), e.masked_fill(pad, -1e4)
        w = s.size(1)
        start[idx, :w] = s.cpu()
        end[idx, :w] = e.cpu()
    return start, end


def predict(model, tokenizer, records, feat_cfg: FeatureConfig, batch_size: int, device, autocast_dtype=None,
            decode: Decoding = Decoding()) -> dict:
    feats = tokenize(records, tokenizer, feat_cfg, labels=False)
    start, end = predict_logits(model, feats, batch_size, device, autocast_dtype)
    ids = list(records["id"])
    example_ids = [ids[i] for i in feats.example_index]
    allowed = feats.max_context_mask(start.size(1)) if decode.max_context else None
    args = (start.numpy(), end.numpy(), feats.padded_offsets(width=start.size(1)), example_ids,
            dict(zip(ids, records["context"])), decode.n_best, decode.max_answer_length, allowed)
    if decode.answer_text == "offsets":
        return best_spans(*args)
    return legacy_texts(best_positions(*args), feats, tokenizer, args[4])


def legacy_texts(spans: dict, feats, tokenizer, contexts: dict) -> dict:
    """{example_id: the legacy answer text} of best_positions' spans. The paper's eval_qa.sh passes no
    --do_lower_case, so the text is matched cased unless the tokenizer lowercases."""
    lower = bool(getattr(tokenizer, "do_lower_case", False))
    out = {}
    for ex, span in spans.items():
        if span is None:
            out[ex] = ""
            continue
        f, s, e = span
        tokens = tokenizer.convert_ids_to_tokens(feats.input_ids[f][s:e + 1].tolist())
        offsets = feats.offsets[f][s:e + 1]
        out[ex] = legacy_answer(Words(contexts[ex]), tokens, offsets, 0, len(tokens) - 1, lower)
    return out


def cell_rows(records) -> dict[tuple[str, str], list[int]]:
    """(lang_q, lang_c) -> the rows of that cell, cells in the order they first appear."""
    groups: dict[tuple[str, str], list[int]] = {}
    for i, (lq, lc) in enumerate(zip(records["lang_q"], records["lang_c"])):
        groups.setdefault((lq, lc), []).append(i)
    return groups


def score_cells(records, predictions: dict, suite: str) -> list[dict]:
    """One row per (lang_q, lang_c): n, exact_match, f1, scored by the suite's official script, with the
    cell's per-question scores under "questions": [(qid, em 0/1, f1 in [0, 1])]. The cell's numbers are
    the official accumulation of exactly these values (float sums in order, then 100 * sum / n)."""
    cells = []
    for (lq, lc), rows in cell_rows(records).items():
        subset = records.select(rows)
        scored = record_question_scores(subset, predictions, suite_scorer(suite, lc))
        n = len(scored)
        em = sum(e for _, e, _ in scored)
        f1 = sum(f for _, _, f in scored)
        cells.append({"suite": suite, "lang_q": lq, "lang_c": lc, "n": n,
                      "exact_match": 100.0 * em / n if n else 0.0, "f1": 100.0 * f1 / n if n else 0.0,
                      "questions": [(qid, e, f) for qid, (_, e, f) in zip(subset["qid"], scored)]})
    return cells


def eval_autocast(precision: str, device):
    """The autocast dtype of every evaluation of a run, dev and final alike: the training precision's on
    CUDA (None: fp32, with TF32 matmuls when precision = tf32, set by the training setup), None on CPU."""
    import torch
    if getattr(device, "type", str(device)) != "cuda":
        return None
    return {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)


def evaluate_suite(model, tokenizer, records, suite: str, feat_cfg: FeatureConfig, batch_size: int, device,
                   autocast_dtype=None, decode: Decoding = Decoding()) -> tuple[list[dict], dict]:
    """The suite's cells and the predictions ({id: answer text}) they were scored from."""
    preds = predict(model, tokenizer, records, feat_cfg, batch_size, device, autocast_dtype, decode)
    return score_cells(records, preds, suite), preds
