"""A model's n-best answers and the teacher's position distribution: what the paper's analyses read (the rank at
which the gold answer first appears, motivating mAP@k; the start-position probabilities at a temperature).

The n-best list of an example is the classic loop's prelim list (engine.decode.best_spans_loop): every valid
(start, end) among each feature's top-n starts and ends, best start+end score first, cut to n; its first
entry is the answer `best_spans` gives."""

from __future__ import annotations

import numpy as np

from engine.decode import _to_numpy, top_n_desc
from engine.scoring.metrics import exact_match_score


def nbest_lists(start_logits, end_logits, offsets, example_ids, contexts: dict, n_best: int = 20,
                max_answer_length: int = 30) -> dict[str, list[str]]:
    """{example id: its n-best answer texts, best first} (vectorized per feature, merged per example)."""
    S, E, off = _to_numpy(start_logits), _to_numpy(end_logits), _to_numpy(offsets)
    F, L = S.shape
    n = min(n_best, L)
    out: dict[str, list] = {ex: [] for ex in contexts}
    if F == 0:
        return {ex: [] for ex in contexts}
    si, ei = top_n_desc(S, n), top_n_desc(E, n)
    rows = np.arange(F)[:, None]
    s_val = np.where(off[rows, si, 0] >= 0, S[rows, si], -np.inf)
    e_val = np.where(off[rows, ei, 0] >= 0, E[rows, ei], -np.inf)
    scores = s_val[:, :, None] + e_val[:, None, :]                          # [F, n, n]
    length = ei[:, None, :] - si[:, :, None]
    scores = np.where((length < 0) | (length >= max_answer_length), -np.inf, scores).reshape(F, n * n)
    order = np.argsort(-scores, axis=1, kind="stable")[:, :n]              # the loop's stable order per feature
    for f, ex in enumerate(example_ids):
        for j in order[f]:
            score = scores[f, j]
            if not np.isfinite(score):
                break
            s, e = si[f, j // n], ei[f, j % n]
            out[ex].append((float(score), off[f, s, 0], off[f, e, 1]))
    lists = {}
    for ex, found in out.items():
        found.sort(key=lambda t: -t[0])                                     # stable: earlier features win ties
        lists[ex] = [contexts[ex][a:b] for _, a, b in found[:n_best]]
    return lists


def first_gold_rank(nbest: list[str], answers: list[str], metric: str = "squad", lang: str = "en") -> int | None:
    """1-based rank of the first n-best answer matching a gold answer exactly (after the official script's
    normalization); None when none of the n does."""
    for rank, text in enumerate(nbest, 1):
        if any(exact_match_score(text, gold, metric, lang) for gold in answers):
            return rank
    return None


def rank_histogram(ranks: list[tuple[str, int | None]], n_best: int) -> dict[str, list[int]]:
    """[(question language, rank or None)] -> {language: counts of rank 1..n, then of 'not in the n-best'}."""
    out: dict[str, list[int]] = {}
    for lang, rank in ranks:
        counts = out.setdefault(lang, [0] * (n_best + 1))
        counts[(rank - 1) if rank is not None else n_best] += 1
    return dict(sorted(out.items()))


def start_probabilities(start_logits, mask, temperature: float) -> np.ndarray:
    """softmax(start logits / T) over the positions `mask` allows (the others get 0): the teacher's soft
    targets as the distillation loss sees them at temperature T."""
    logits = np.asarray(_to_numpy(start_logits), dtype=np.float64) / temperature
    logits = np.where(np.asarray(mask, dtype=bool), logits, -np.inf)
    logits -= logits.max()
    p = np.exp(logits)
    return p / p.sum()
