"""EM / F1 per answer, and dataset-level scores accumulated exactly as the official scripts do
(float sums in file order, then 100 * sum / total), so results agree to the last digit."""

from __future__ import annotations

import sys
from collections import Counter
from typing import Iterable, Mapping

from engine.scoring.normalize import normalize_answer

METRICS = ("squad", "mlqa")


def f1_score(prediction: str, ground_truth: str, metric: str = "squad", lang: str = "en") -> float:
    pred = normalize_answer(prediction, metric, lang).split()
    gold = normalize_answer(ground_truth, metric, lang).split()
    num_same = sum((Counter(pred) & Counter(gold)).values())
    if num_same == 0:
        return 0
    precision = 1.0 * num_same / len(pred)
    recall = 1.0 * num_same / len(gold)
    return (2 * precision * recall) / (precision + recall)


def exact_match_score(prediction: str, ground_truth: str, metric: str = "squad", lang: str = "en") -> bool:
    return normalize_answer(prediction, metric, lang) == normalize_answer(ground_truth, metric, lang)


def _score_questions(questions: Iterable[tuple[str, list[str], str]], predictions: Mapping[str, str],
                     metric: str, warn: bool) -> dict:
    """questions: (id, gold answers, answer language) in file order."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; use one of {METRICS}")
    f1 = exact_match = total = 0
    for qid, golds, lang in questions:
        total += 1
        if qid not in predictions:
            if warn:
                print(f"Unanswered question {qid} will receive score 0.", file=sys.stderr)
            continue
        pred = predictions[qid]
        exact_match += max(exact_match_score(pred, g, metric, lang) for g in golds)
        f1 += max(f1_score(pred, g, metric, lang) for g in golds)
    if total == 0:
        return {"exact_match": 0.0, "f1": 0.0, "total": 0}
    return {"exact_match": 100.0 * exact_match / total, "f1": 100.0 * f1 / total, "total": total}


def evaluate_squad_json(dataset: list, predictions: Mapping[str, str], metric: str = "squad",
                        lang: str = "en", warn: bool = False) -> dict:
    """Score the 'data' list of a SQuAD-format file; `lang` is the answer (context) language for MLQA."""
    questions = ((qa["id"], [a["text"] for a in qa["answers"]], lang)
                 for article in dataset for para in article["paragraphs"] for qa in para["qas"])
    return _score_questions(questions, predictions, metric, warn)


def score_records(records, predictions: Mapping[str, str], metric: str = "mlqa") -> dict:
    """Score a record table; each record's context language is its answer language."""
    questions = ((r["id"], list(r["answers"]["text"]), r["lang_c"]) for r in records)
    return _score_questions(questions, predictions, metric, warn=False)
