"""Almost stochastic order of two score distributions over seeds (del Barrio, Cuesta-Albertos and Matrán 2018;
Dror, Shlomov and Reichart 2019), written from the papers.

B stochastically dominates A when every quantile of B is at least A's: F_B^-1(t) >= F_A^-1(t) for all t. The
violation ratio measures how far that fails, in the L2-Wasserstein sense:

    eps(B, A) = integral over {t : F_B^-1(t) < F_A^-1(t)} of (F_B^-1 - F_A^-1)^2 dt  /  W2(F_B, F_A)^2

0: B dominates A; 1: A dominates B; 0.5: neither. eps_min is the smallest eps0 for which H0: eps >= eps0 is
rejected at level alpha (Dror et al., eq. for eps_min): eps_hat - sqrt((n+m)/(nm)) sigma Phi^-1(alpha), with
sigma the bootstrap standard deviation of sqrt(nm/(n+m)) eps*, i.e. eps_hat + z_(1-alpha) sd(eps*). Dror et al.
read eps_min < 0.5 as "B is almost stochastically better"; the smaller, the more confident.
With 2 seeds per side the empirical distributions have two steps: eps_min then says little, which is the finding.
"""

from __future__ import annotations

import numpy as np


def violation_ratio(b: np.ndarray, a: np.ndarray) -> float:
    """eps(B, A) of two samples, exactly: both quantile functions are steps at multiples of 1/n and 1/m."""
    b, a = np.sort(np.asarray(b, dtype=np.float64)), np.sort(np.asarray(a, dtype=np.float64))
    edges = np.union1d(np.arange(len(b) + 1) / len(b), np.arange(len(a) + 1) / len(a))
    mid, width = (edges[1:] + edges[:-1]) / 2, np.diff(edges)
    gap = b[np.minimum((mid * len(b)).astype(int), len(b) - 1)] - a[np.minimum((mid * len(a)).astype(int), len(a) - 1)]
    total = float(np.sum(width * gap ** 2))
    if total == 0:
        return 0.5                                            # the same distribution: neither dominates
    return float(np.sum(width * np.where(gap < 0, gap ** 2, 0.0)) / total)


def aso(scores_a, scores_b, alpha: float = 0.05, resamples: int = 1000, seed: int = 0) -> dict:
    """eps_min and the violation ratio of B over A, from each side's scores (one per seed), with a bootstrap of
    each side's seeds."""
    from scipy.stats import norm
    a, b = np.asarray(scores_a, dtype=np.float64), np.asarray(scores_b, dtype=np.float64)
    rng = np.random.default_rng(seed)
    eps = violation_ratio(b, a)
    star = np.array([violation_ratio(rng.choice(b, len(b)), rng.choice(a, len(a))) for _ in range(resamples)])
    eps_min = eps + float(norm.isf(alpha)) * float(np.std(star, ddof=1))
    return {"eps_min": float(min(1.0, max(0.0, eps_min))), "violation_ratio": eps, "alpha": alpha,
            "n_a": len(a), "n_b": len(b), "resamples": resamples}
