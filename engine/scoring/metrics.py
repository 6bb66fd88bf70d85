"""EM / F1 per answer, and dataset-level scores accumulated exactly as the official scripts do
(float sums in file order, then 100 * sum / total), so results agree to the last digit."""

from __future__ import annotations

import sys
from collections import Counter
from typing import Iterable, Iterator, Mapping

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


def _per_question(questions: Iterable[tuple[str, list[str], str]], predictions: Mapping[str, str],
                  metric: str, warn: bool) -> Iterator[tuple[str, int, float]]:
    """(id, em, f1) per question in file order, as the official scripts score it (a missing prediction: 0, 0)."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; use one of {METRICS}")
    for qid, golds, lang in questions:
        if qid not in predictions:
            if warn:
                print(f"Unanswered question {qid} will receive score 0.", file=sys.stderr)
            yield qid, 0, 0
            continue
        pred = predictions[qid]
        yield (qid, int(max(exact_match_score(pred, g, metric, lang) for g in golds)),
               max(f1_score(pred, g, metric, lang) for g in golds))


def _score_questions(questions, predictions: Mapping[str, str], metric: str, warn: bool) -> dict:
    """Dataset-level scores: float sums in file order, then 100 * sum / total, as the official scripts."""
    f1 = exact_match = total = 0
    for _, em, f in _per_question(questions, predictions, metric, warn):
        total += 1
        exact_match += em
        f1 += f
    if total == 0:
        return {"exact_match": 0.0, "f1": 0.0, "total": 0}
    return {"exact_match": 100.0 * exact_match / total, "f1": 100.0 * f1 / total, "total": total}


def _squad_questions(dataset: list, lang: str):
    return ((qa["id"], [a["text"] for a in qa["answers"]], lang)
            for article in dataset for para in article["paragraphs"] for qa in para["qas"])


def question_scores(dataset: list, predictions: Mapping[str, str], metric: str = "squad",
                    lang: str = "en") -> dict[str, tuple[int, float]]:
    """{question id: (em 0/1, f1 in [0, 1])} of a SQuAD-format 'data' list."""
    return {qid: (em, f1) for qid, em, f1 in _per_question(_squad_questions(dataset, lang), predictions, metric, False)}


def record_question_scores(records, predictions: Mapping[str, str], metric: str = "mlqa") -> list[tuple[str, int, float]]:
    """(record id, em, f1) per record of a record table, in table order."""
    questions = ((r["id"], list(r["answers"]["text"]), r["lang_c"]) for r in records)
    return list(_per_question(questions, predictions, metric, warn=False))


def matching_ids(dataset: list, predictions: Mapping[str, str]) -> tuple[int, int]:
    """(questions of the file that have a prediction, questions of the file)."""
    ids = [qid for qid, _, _ in _squad_questions(dataset, "en")]
    return sum(1 for qid in ids if qid in predictions), len(ids)


def evaluate_squad_json(dataset: list, predictions: Mapping[str, str], metric: str = "squad",
                        lang: str = "en", warn: bool = False) -> dict:
    """Score the 'data' list of a SQuAD-format file; `lang` is the answer (context) language for MLQA."""
    return _score_questions(_squad_questions(dataset, lang), predictions, metric, warn)


def score_records(records, predictions: Mapping[str, str], metric: str = "mlqa") -> dict:
    """Score a record table; each record's context language is its answer language."""
    questions = ((r["id"], list(r["answers"]["text"]), r["lang_c"]) for r in records)
    return _score_questions(questions, predictions, metric, warn=False)
