"""Is a difference between two runs, or two groups of seeds, real?

The statistic is the number xlqa reports: the macro mean over evaluation cells of the cell scores
(G-XLT over all cells, G-XLT over the cross-language cells, XLT over the same-language cells). Two runs are
compared on the questions both scored, paired per (cell, question). A question id recurs across the cells of
a matrix (MLQA asks the same question in every language pair), so items are not independent: the unit of
resampling is the question id, and each resample recomputes the macro mean (a cluster bootstrap).

  delta   B - A of the reported values (the cell rows both runs stored)
  ci95    percentile interval of delta over bootstrap resamples of question ids: conditional on these seeds
          (how the result would move on other test questions, with the very seeds that were trained)
  p       paired permutation test: under "no difference" A and B are exchangeable per question id, so the
          sign of every (B - A) of one id flips together; two-sided, (1 + #|T*| >= |T|) / (1 + R)
  p_wilcoxon  Wilcoxon signed-rank over the per-question differences pooled across cells, as the paper's own
          test script: a question's cells are not independent, so it is overconfident (kept for the paper)
  n       paired items (question x cell)
  seeds   seed groups only: the seed-aware interval and p (seed_aware): how the result would move with other
          seeds and other questions; with 2 seeds it is wide, and that is the finding
  cells   per_cell only: each cell's delta, interval and p, corrected for the number of cells (Holm, max-T)

Seed groups: runs that differ only in train.seed form a group; two groups are paired seed by seed, the
statistic is the mean over seeds of each seed's macro mean, and resampling draws question ids shared by
every seed and cell. Vectorised: a block of resamples' counts of question ids times a sparse [question id,
stratum] matrix of summed differences gives every stratum's mean in one matmul.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from engine.scoring.summary import BY_NAME, macro_mean

NAMES = tuple(BY_NAME)  # the views (engine/scoring/summary.py), as the results are keyed
CHUNK = 200  # resamples per vectorised block (memory ~ CHUNK x question ids x 8 bytes)

# what each number answers, as the CLI, the dashboard, the tables and the docs print it
CONDITIONAL = "conditional on these seeds: how the result would move on other test questions, with these very seeds"
SEED_AWARE = ("seed-aware: how it would move with other seeds and other test questions (random-effects t over "
              "the per-seed differences, carrying the question error)")
WILCOXON = ("Wilcoxon signed-rank over per-question differences pooled across cells, as the paper's script: it "
            "treats a question's cells as independent, so it is overconfident; kept for comparison with the paper")
CELL_CORRECTION = "max-T over the same sign flips"


@dataclass
class Paired:
    """Items both sides scored, one per (stratum, question): a stratum is a cell, or (seed pair, cell)."""
    a: np.ndarray                 # per-question score of A (0..1)
    b: np.ndarray
    stratum: np.ndarray           # item -> stratum index (items sorted by stratum)
    cluster: np.ndarray           # item -> question id index (the resampling unit)
    strata: list[tuple]           # stratum index -> (seed pair, lang_q, lang_c)
    only_a: int = 0               # items only one side scored (not compared)
    only_b: int = 0
    reported_a: dict = field(default_factory=dict)   # view -> the reported value of A (mean over seeds)
    reported_b: dict = field(default_factory=dict)
    sd_a: dict = field(default_factory=dict)          # view -> sd over seeds (groups of 2 or more)
    sd_b: dict = field(default_factory=dict)
    seeds_a: dict = field(default_factory=dict)       # view -> each seed's reported value (seed-pair order)
    seeds_b: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.a)


def _metric_index(metric: str) -> int:
    if metric not in ("f1", "em", "exact_match"):
        raise ValueError(f"metric {metric!r}: use f1 or em")
    return 4 if metric == "f1" else 3


def _view_mask(strata: list[tuple], view: str) -> np.ndarray:
    return np.array([BY_NAME[view].selects(q, c) for _, q, c in strata], dtype=bool)


def pair(groups_a: list[list[tuple]], groups_b: list[list[tuple]], metric: str = "f1",
         cells_a: list[list[dict]] | None = None, cells_b: list[list[dict]] | None = None) -> Paired:
    """groups_x: one list of (lang_q, lang_c, qid, em, f1) rows per seed (a single run: a list of one), paired
    position by position; cells_x: the matching stored cell rows (the reported values)."""
    if len(groups_a) != len(groups_b) or not groups_a:
        raise ValueError("pair the same number of runs on each side (one per seed)")
    col = _metric_index(metric)
    keys, a, b, only_a, only_b = [], [], [], 0, 0
    for s, (rows_a, rows_b) in enumerate(zip(groups_a, groups_b)):
        scores_b = {(r[0], r[1], r[2]): r[col] for r in rows_b}
        seen = set()
        for r in rows_a:
            key = (r[0], r[1], r[2])
            if key in scores_b:
                keys.append((s, *key))
                a.append(r[col])
                b.append(scores_b[key])
                seen.add(key)
            else:
                only_a += 1
        only_b += len(scores_b) - len(seen)
    if not keys:
        raise ValueError("the two sides share no scored question: compare evaluations of the same suite")
    order = sorted(range(len(keys)), key=lambda i: keys[i])
    keys = [keys[i] for i in order]
    strata_index: dict[tuple, int] = {}
    clusters: dict[str, int] = {}
    stratum = np.array([strata_index.setdefault(k[:3], len(strata_index)) for k in keys], dtype=np.int64)
    cluster = np.array([clusters.setdefault(k[3], len(clusters)) for k in keys], dtype=np.int64)
    paired = Paired(np.asarray(a, dtype=np.float64)[order], np.asarray(b, dtype=np.float64)[order], stratum, cluster,
                    list(strata_index), only_a, only_b)
    for view in NAMES:
        for cells, reported, sd, seeds, side in ((cells_a, paired.reported_a, paired.sd_a, paired.seeds_a, paired.a),
                                                 (cells_b, paired.reported_b, paired.sd_b, paired.seeds_b, paired.b)):
            if cells:
                per_seed = [macro_mean(c, BY_NAME[view], metric) for c in cells]
            else:  # no stored cells: each seed's macro mean of the paired items
                mask = _view_mask(paired.strata, view)
                of_seed = np.array([st[0] for st in paired.strata])
                means = np.bincount(paired.stratum, side, len(paired.strata)) / np.bincount(paired.stratum)
                per_seed = [100 * _macro_over(means[None, :], mask & (of_seed == s))[0]
                            for s in sorted(set(of_seed.tolist()))]
            seeds[view] = [float(x) for x in per_seed]
            reported[view] = float(np.mean(per_seed))
            sd[view] = float(np.std(per_seed, ddof=1)) if len(per_seed) > 1 else 0.0
    return paired


def _macro_over(means: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """[R] the macro mean over the selected strata of [R, K] stratum means (NaN-skipping: a resample may draw
    none of a stratum's questions)."""
    if not mask.any():
        return np.full(len(means), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(means[:, mask], axis=1)


def _question_matrices(paired: Paired, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """[Q, K] per question id and stratum: the sum of differences and the number of items. A resample's counts
    of question ids [R, Q] times these gives every stratum's sums in one (sparse) matmul."""
    q, k = int(paired.cluster.max()) + 1, len(paired.strata)
    sums, items = np.zeros((q, k)), np.zeros((q, k))
    np.add.at(sums, (paired.cluster, paired.stratum), d)
    np.add.at(items, (paired.cluster, paired.stratum), 1.0)
    return sums, items


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def compare(paired: Paired, resamples: int = 10_000, seed: int = 0, per_cell: bool = False,
            hierarchical: bool = True) -> dict:
    """The three views of B - A with 95% interval, permutation and Wilcoxon p-values, and n; seed groups (2 or
    more seed pairs) also get the seed-aware interval and p (`seeds`, see seed_aware) and, with hierarchical,
    the two-level bootstrap interval; with per_cell, each stratum's delta, 95% interval and p-values, raw and
    corrected for the number of strata (Holm, max-T), from the same resamples of question ids."""
    from scipy.stats import wilcoxon
    rng = np.random.default_rng(seed)
    d = paired.b - paired.a
    sums, items = _question_matrices(paired, d)
    n_clusters, k = sums.shape
    per_stratum = items.sum(0)
    # strata with the same questions (a cell across seeds) share a column of counts: one matmul gives both
    # (sparse: a question sits in a few strata, so the product costs resamples x items, not x questions x strata)
    from scipy.sparse import csr_matrix
    shared, column = np.unique(items, axis=1, return_inverse=True)
    both, flip_sums = csr_matrix(np.concatenate([sums, shared], axis=1).T), csr_matrix(sums.T)
    masks = {view: _view_mask(paired.strata, view) for view in NAMES}
    seed_of = np.array([st[0] for st in paired.strata])
    seed_ids = sorted(set(seed_of.tolist()))
    observed_cells = sums.sum(0) / per_stratum
    observed = {view: _macro_over(observed_cells[None, :], masks[view])[0] for view in NAMES}
    seed_masks = {view: [masks[view] & (seed_of == s) for s in seed_ids] for view in NAMES}
    boot, flips, per_seed, cell_boot, cell_flips = ({v: [] for v in NAMES}, {v: [] for v in NAMES},
                                                    {v: [] for v in NAMES}, [], [])
    for lo in range(0, resamples, CHUNK):
        r = min(CHUNK, resamples - lo)
        draws = rng.integers(0, n_clusters, size=(r, n_clusters))
        counts = np.bincount((draws + (np.arange(r) * n_clusters)[:, None]).ravel(),
                             minlength=r * n_clusters).reshape(r, n_clusters).astype(np.float64)
        drawn = (both @ counts.T).T
        boot_means = _ratio(drawn[:, :k], drawn[:, k:][:, column.ravel()])      # [r, K]
        signs = rng.integers(0, 2, size=(r, n_clusters)) * 2.0 - 1.0
        flip_means = (flip_sums @ signs.T).T / per_stratum
        for view in NAMES:
            boot[view].append(_macro_over(boot_means, masks[view]))
            flips[view].append(_macro_over(flip_means, masks[view]))
            if len(seed_ids) > 1:
                per_seed[view].append(np.stack([_macro_over(boot_means, m) for m in seed_masks[view]], axis=1))
        if per_cell:
            cell_boot.append(boot_means)
            cell_flips.append(flip_means)
    out = {}
    for view in NAMES:
        mask = masks[view]
        if not mask.any():
            continue
        sample = np.concatenate(boot[view]) * 100
        null = np.concatenate(flips[view])
        in_view = np.isin(paired.stratum, np.flatnonzero(mask))
        diffs = d[in_view]
        p_wilcoxon = 1.0 if np.allclose(diffs, 0) else float(wilcoxon(diffs).pvalue)
        out[view] = {
            "a": paired.reported_a[view], "b": paired.reported_b[view],
            "delta": paired.reported_b[view] - paired.reported_a[view],
            "ci95": [float(np.nanpercentile(sample, 2.5)), float(np.nanpercentile(sample, 97.5))],
            "se": float(np.nanstd(sample, ddof=1)),
            "p": float((1 + np.sum(np.abs(null) >= abs(observed[view]) - 1e-12)) / (1 + resamples)),
            "p_wilcoxon": p_wilcoxon,
            "n": int(in_view.sum()), "n_questions": int(len(np.unique(paired.cluster[in_view]))),
        }
        if paired.sd_a.get(view) or paired.sd_b.get(view):
            out[view]["a_sd"], out[view]["b_sd"] = paired.sd_a[view], paired.sd_b[view]
        if len(seed_ids) > 1:
            deltas = np.array(paired.seeds_b[view]) - np.array(paired.seeds_a[view])
            boot_seeds = np.concatenate(per_seed[view]) * 100                      # [R, S]
            out[view]["seeds"] = seed_aware(deltas, boot_seeds)
            out[view]["seeds"].update(a=paired.seeds_a[view], b=paired.seeds_b[view])
            if hierarchical:
                out[view]["seeds"]["ci95_hierarchical"] = hierarchical_interval(boot_seeds, rng)
    if per_cell:
        out["cells"] = _cells(paired, observed_cells, np.concatenate(cell_boot) * 100, np.concatenate(cell_flips))
    out["settings"] = {"resamples": resamples, "seed": seed, "unit": "question id",
                       "interval": CONDITIONAL,
                       "p": "paired sign-flip permutation over question ids (two-sided)",
                       "p_wilcoxon": WILCOXON,
                       "cells": CELL_CORRECTION if per_cell else None}
    if len(seed_ids) > 1:
        out["settings"]["seeds"] = SEED_AWARE
    out["pairing"] = {"paired": paired.n, "only_a": paired.only_a, "only_b": paired.only_b}
    return out


def seed_aware(deltas: np.ndarray, boot_seeds: np.ndarray) -> dict:
    """A random-effects interval for the mean over seeds of B - A, carrying both the seed and the question error.

    deltas [S]: each seed pair's reported B - A; boot_seeds [R, S]: their bootstrap resamples over question ids
    (drawn once for all seeds: every seed answers the same test questions). With a seed effect u, a question
    effect v shared by the seeds and a seed x question remainder w, the mean over seeds has variance
    var(u)/S + var(v) + var(w)/S. The spread of the S deltas estimates var(u) + var(w) (so it carries w);
    the bootstrap of the seed mean, A = var(v) + var(w)/S, and each seed's own bootstrap, B = var(v) + var(w),
    give var(v) = A - (B - A)/(S - 1) (method of moments). se^2 = s^2/S + var(v).

    The half-width is sqrt(t^2 s^2/S + z^2 var(v)), t with S - 1 degrees of freedom: the seed part is known
    from S - 1 degrees of freedom, the question part almost exactly from the resamples. (A t with
    Welch-Satterthwaite degrees of freedom gave 88% coverage for 2 seeds in the simulation of
    tests/unit/test_significance.py: a spread small by chance also raises the degrees of freedom; t with S - 1
    for the whole se covers 100%, far too wide when the question error dominates.)"""
    s = len(deltas)
    spread = float(np.var(deltas, ddof=1))
    boot_mean = float(np.nanvar(np.nanmean(boot_seeds, axis=1), ddof=1))
    own = float(np.mean(np.nanvar(boot_seeds, axis=0, ddof=1)))
    remainder = max(0.0, (own - boot_mean) * s / (s - 1))                         # var(w), at this many questions
    question = max(0.0, boot_mean - remainder / s)
    between = spread / s
    se = float(np.sqrt(between + question))
    mean = float(np.mean(deltas))
    half = _half_width(between, question, s - 1, 0.05)
    p = 1.0 if se == 0 else _p_value(abs(mean), between, question, s - 1)
    return {"deltas": [float(x) for x in deltas], "delta": mean, "se": se, "df": s - 1,
            "ci95": [mean - half, mean + half], "p": p,
            "components": {"seed": max(0.0, spread - remainder), "question": question, "remainder": remainder,
                           "seeds": s}}


def _half_width(between: float, question: float, df: int, alpha: float) -> float:
    from scipy.stats import norm, t as student
    return float(np.sqrt(student.ppf(1 - alpha / 2, df) ** 2 * between + norm.ppf(1 - alpha / 2) ** 2 * question))


def _p_value(delta: float, between: float, question: float, df: int) -> float:
    """The alpha at which the seed-aware interval just reaches zero (the interval inverted, on a log grid)."""
    from scipy.stats import norm, t as student
    alphas = np.logspace(-12, 0, 1201)
    half = np.sqrt(student.isf(alphas / 2, df) ** 2 * between + norm.isf(alphas / 2) ** 2 * question)
    if half[-1] >= delta:
        return 1.0
    return float(np.interp(delta, half[::-1], alphas[::-1]))   # half falls as alpha grows


def hierarchical_interval(boot_seeds: np.ndarray, rng: np.random.Generator) -> list[float]:
    """Two-level bootstrap: each resample of question ids (a row of boot_seeds) also draws S seed pairs with
    replacement; percentile interval of their mean. With few seeds it is too narrow (a draw of 2 seeds knows
    only 3 outcomes): the t interval of seed_aware is the one to report."""
    r, s = boot_seeds.shape
    draws = rng.integers(0, s, size=(r, s))
    weights = np.zeros((r, s))
    np.add.at(weights, (np.repeat(np.arange(r), s), draws.ravel()), 1.0 / s)
    sample = np.einsum("rs,rs->r", weights, boot_seeds)
    return [float(np.nanpercentile(sample, 2.5)), float(np.nanpercentile(sample, 97.5))]


def holm(p: np.ndarray) -> np.ndarray:
    """Holm's step-down adjustment of m p-values (controls the familywise error at any dependence)."""
    order = np.argsort(p)
    m = len(p)
    stepped = np.maximum.accumulate(np.minimum(1.0, (m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = stepped
    return out


def _cells(paired: Paired, observed: np.ndarray, boot: np.ndarray, flips: np.ndarray) -> list[dict]:
    """Per stratum: delta, percentile interval, the sign-flip p, and two corrections for the number of strata:
    Holm on those p, and max-T (Westfall-Young) on the same flips: a cell's |delta| over the null sd is compared
    with the largest such value over all cells of each flip, which keeps the correlation between cells (a flip
    flips every cell of a question together)."""
    resamples = len(flips)
    scale = np.sqrt(np.mean(flips ** 2, axis=0))
    scale = np.where(scale > 0, scale, np.inf)
    raw = (1 + np.sum(np.abs(flips) >= np.abs(observed) - 1e-12, axis=0)) / (1 + resamples)
    largest = np.max(np.abs(flips) / scale, axis=1)                                  # [R]
    observed_t = np.abs(observed) / scale
    max_t = (1 + np.sum(largest[:, None] >= observed_t[None, :] - 1e-12, axis=0)) / (1 + resamples)
    adjusted = holm(raw)
    return [{"seed_pair": s, "lang_q": q, "lang_c": c, "delta": float(observed[k] * 100),
             "ci95": [float(np.nanpercentile(boot[:, k], 2.5)), float(np.nanpercentile(boot[:, k], 97.5))],
             "p": float(raw[k]), "p_holm": float(adjusted[k]), "p_max_t": float(max_t[k])}
            for k, (s, q, c) in enumerate(paired.strata)]


def significant_cells(result: dict, correction: str = "max_t", alpha: float = 0.05) -> set[tuple[str, str]]:
    """(lang_q, lang_c) of the cells that differ (compare(per_cell=True)): corrected for the number of cells by
    max-T (default) or Holm; "none" marks each cell whose own 95% interval excludes zero (about 1 in 20 null
    cells)."""
    if correction == "none":
        return {(c["lang_q"], c["lang_c"]) for c in result.get("cells", ())
                if c["ci95"][0] > 0 or c["ci95"][1] < 0}
    key = {"max_t": "p_max_t", "holm": "p_holm"}[correction]
    return {(c["lang_q"], c["lang_c"]) for c in result.get("cells", ()) if c[key] < alpha}


def cell_mark_note(cells: int) -> str:
    """What a `*` on a cell of a matrix delta means (the CLI and the dashboard print it)."""
    return f"* p < 0.05 corrected for the {cells} cells ({CELL_CORRECTION})"
