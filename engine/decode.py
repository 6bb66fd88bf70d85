"""Logits -> best answer span per example. Pure array code (no torch import), testable alone.

`best_spans` gives exactly the answers of the classic n-best loop (`best_spans_loop`, Hugging Face's
utils_qa postprocessing for SQuAD v1): per feature the top-n start and top-n end indexes by logit
(in `np.argsort` order, so ties break the same way), skip tokens outside the context, end < start and
spans longer than max_answer_length; an example's answer is its highest start+end score over all its
features (first one wins ties, like the loop's stable sort); no valid span gives "".
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Mapping, Sequence

import numpy as np


def _to_numpy(x) -> np.ndarray:
    if hasattr(x, "detach"):  # a torch tensor, without importing torch here
        x = x.detach()
        if str(x.dtype) == "torch.bfloat16":  # numpy has no bfloat16
            x = x.float()
        x = x.cpu().numpy()
    return np.asarray(x)


def best_spans(start_logits, end_logits, offsets, example_ids: Sequence, contexts: Mapping,
               n_best: int = 20, max_answer_length: int = 30, start_allowed=None) -> dict:
    """start/end_logits [F, L]; offsets [F, L, 2] int with -1 outside the context; -> {example_id: text}.
    start_allowed [F, L] bool: the positions a span may start at among the top-n (the legacy max-context
    rule filters starts after the top-n are chosen, as here). The text is the context cut at the offsets."""
    off = _to_numpy(offsets)
    spans = best_positions(start_logits, end_logits, offsets, example_ids, contexts, n_best, max_answer_length,
                           start_allowed)
    return {ex: "" if sp is None else contexts[ex][off[sp[0], sp[1], 0]:off[sp[0], sp[2], 1]]
            for ex, sp in spans.items()}


def best_positions(start_logits, end_logits, offsets, example_ids: Sequence, contexts: Mapping,
                   n_best: int = 20, max_answer_length: int = 30, start_allowed=None) -> dict:
    """As best_spans, but {example_id: (feature, start token, end token)} or None: what another answer
    text (engine.answer_text's legacy one) is written from."""
    S, E, off = _to_numpy(start_logits), _to_numpy(end_logits), _to_numpy(offsets)
    F, L = S.shape
    answers = {ex: None for ex in contexts}
    if F == 0:
        return answers
    n = min(n_best, L)
    if F >= 1024:  # numpy releases the GIL in argpartition: starts and ends on two cores
        with ThreadPoolExecutor(2) as pool:
            start_idx, end_idx = pool.map(top_n_desc, (S, E), (n, n))   # [F, n], the loop's order
    else:
        start_idx, end_idx = top_n_desc(S, n), top_n_desc(E, n)
    rows = np.arange(F)[:, None]
    # -inf marks a non-context token (logits must be finite); -inf + x stays -inf through the sum
    start_ok = off[rows, start_idx, 0] >= 0
    if start_allowed is not None:
        start_ok &= _to_numpy(start_allowed)[rows, start_idx]
    start_top = np.where(start_ok, S[rows, start_idx], -np.inf).astype(S.dtype)
    end_top = np.where(off[rows, end_idx, 0] >= 0, E[rows, end_idx], -np.inf).astype(E.dtype)
    scores = start_top[:, :, None] + end_top[:, None, :]                # [F, n, n], the input dtype
    # end - start as unsigned: one compare rejects both end < start and length > max_answer_length
    span = (end_idx.astype(np.int32)[:, None, :] - start_idx.astype(np.int32)[:, :, None]).view(np.uint32)
    np.putmask(scores, span >= max_answer_length, -np.inf)
    flat = scores.reshape(F, n * n)
    best_flat = flat.argmax(axis=1)                                # first max: the loop's (start, end) order
    best_score = flat[np.arange(F), best_flat]
    best_s = start_idx[np.arange(F), best_flat // n]
    best_e = end_idx[np.arange(F), best_flat % n]

    # per example: highest score, earliest feature on ties
    ex_codes, ex_keys = _codes(example_ids)
    order = np.lexsort((np.arange(F), -best_score.astype(np.float64), ex_codes))
    first = np.ones(F, dtype=bool)
    first[1:] = ex_codes[order[1:]] != ex_codes[order[:-1]]
    for f in order[first]:
        if np.isfinite(best_score[f]):
            ex = ex_keys[ex_codes[f]]
            answers[ex] = (int(f), int(best_s[f]), int(best_e[f]))
    return answers


def top_n_desc(x: np.ndarray, n: int) -> np.ndarray:
    """Indexes of the n largest values per row, largest first, exactly as `np.argsort(row)[::-1][:n]`.

    argpartition + a sort of n values is ~3x cheaper than a full argsort; rows where ties could make the
    order differ from argsort's (equal values among the top n+1) take the full argsort.
    """
    L = x.shape[1]
    if n >= L:
        return np.argsort(x, axis=-1)[:, ::-1][:, :n]
    part = np.argpartition(x, L - n - 1, axis=-1)[:, L - n - 1:]     # [(n+1)-th largest, top n unordered]
    vals = np.take_along_axis(x, part, axis=-1)
    order = np.argsort(-vals[:, 1:], axis=-1, kind="stable")
    top = np.take_along_axis(part[:, 1:], order, axis=-1)
    top_vals = np.take_along_axis(vals[:, 1:], order, axis=-1)
    chain = np.concatenate([top_vals, vals[:, :1]], axis=1)          # descending, then the (n+1)-th
    tied = (chain[:, 1:] == chain[:, :-1]).any(axis=1)
    if tied.any():
        top[tied] = np.argsort(x[tied], axis=-1)[:, ::-1][:, :n]
    return top


def _codes(example_ids: Sequence) -> tuple[np.ndarray, list]:
    keys: dict = {}
    codes = np.fromiter((keys.setdefault(e, len(keys)) for e in example_ids), dtype=np.int64, count=len(example_ids))
    return codes, list(keys)


def best_spans_loop(start_logits, end_logits, offsets, example_ids: Sequence, contexts: Mapping,
                    n_best: int = 20, max_answer_length: int = 30, start_allowed=None) -> dict:
    """The classic per-feature double loop; the reference `best_spans` must equal (tests, benchmark)."""
    S, E = _to_numpy(start_logits), _to_numpy(end_logits)
    off = [[None if s < 0 else (s, e) for s, e in row] for row in _to_numpy(offsets).tolist()]
    by_example: dict = {}
    for f, ex in enumerate(example_ids):
        by_example.setdefault(ex, []).append(f)
    answers = {}
    for ex, context in contexts.items():
        prelim = []
        for f in by_example.get(ex, []):
            start_indexes = np.argsort(S[f])[-1:-n_best - 1:-1].tolist()
            end_indexes = np.argsort(E[f])[-1:-n_best - 1:-1].tolist()
            offset_mapping = off[f]
            for s in start_indexes:
                for e in end_indexes:
                    if offset_mapping[s] is None or offset_mapping[e] is None:
                        continue
                    if start_allowed is not None and not start_allowed[f][s]:
                        continue
                    if e < s or e - s + 1 > max_answer_length:
                        continue
                    prelim.append({"offsets": (offset_mapping[s][0], offset_mapping[e][1]),
                                   "score": S[f][s] + E[f][e], "start_logit": S[f][s], "end_logit": E[f][e]})
        prelim = sorted(prelim, key=lambda p: p["score"], reverse=True)[:n_best]
        answers[ex] = context[prelim[0]["offsets"][0]:prelim[0]["offsets"][1]] if prelim else ""
    return answers
