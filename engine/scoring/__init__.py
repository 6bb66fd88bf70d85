"""SQuAD v1.1 and MLQA v1 EM/F1, bit-identical to the official evaluation scripts."""

from engine.scoring.metrics import (
    METRICS, evaluate_squad_json, exact_match_score, f1_score, normalize_answer, score_records,
)

__all__ = ["METRICS", "evaluate_squad_json", "exact_match_score", "f1_score", "normalize_answer", "score_records"]
