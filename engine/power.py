"""How small a difference a design can detect: the minimum detectable difference at 80% power and alpha 0.05.

The variance of the mean over S seeds of B - A, with N question-cells per seed, has three parts
(engine.significance.seed_aware estimates them from a comparison of seed groups, at its own N0):

    var = seed / S  +  question x N0/N  +  remainder x N0/N / S

seed: the spread of the per-seed differences beyond the question error; question: the error of the test
questions, shared by the seeds; remainder: the seed x question part. N = questions per cell x cells, on
the assumption that a larger test set has the same structure (the same recurrence of question ids across
cells). The detectable difference is crit(alpha/2) + crit(1 - power), crit(p) = sqrt(t_p^2 between + z_p^2
question) as in the seed-aware interval (t with S - 1 degrees of freedom); with one seed the seed part
cannot be seen, and the answer is conditional on the seed (normal quantiles of the question error).
The (t + t) rule is the usual approximation: simulated, a difference of that size is detected 73% of the time
with 2 seeds, 77% with 3 and 79% with 5 (tests/unit/test_aso_power.py), so read it as a lower bound.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ALPHA, POWER = 0.05, 0.80


@dataclass(frozen=True)
class Components:
    """Variance components of a difference, in points^2, at `items` question-cells per seed."""
    seed: float            # between seeds (None-like 0.0 when unknown: then the answer is conditional on seeds)
    question: float        # shared by the seeds
    remainder: float       # seed x question
    items: int
    seed_known: bool = True


def from_result(view: dict) -> Components:
    """The components of one view of engine.significance.compare: from the seed-aware part for seed groups,
    else the question bootstrap alone (seed part unknown)."""
    seeds = view.get("seeds")
    if seeds:
        c = seeds["components"]
        return Components(c["seed"], c["question"], c["remainder"], int(round(view["n"] / c["seeds"])))
    return Components(0.0, view["se"] ** 2, 0.0, view["n"], seed_known=False)


def given(seed_sd: float, question_se: float, items: int) -> Components:
    """Components from given numbers: the sd of the per-seed difference between seeds, and the question
    standard error of one seed's difference at `items` question-cells (taken as shared by the seeds, which
    is the cautious reading)."""
    return Components(seed_sd ** 2, question_se ** 2, 0.0, items)


def detectable(c: Components, seeds: int, items: int | None = None, alpha: float = ALPHA, power: float = POWER) -> float:
    """The smallest |B - A| (points) detected with probability `power` at level `alpha`, two-sided."""
    from scipy.stats import norm, t as student
    scale = c.items / (items or c.items)
    question = c.question * scale
    if seeds < 2 or not c.seed_known:
        se = np.sqrt(question + c.remainder * scale / max(1, seeds))
        return float((norm.isf(alpha / 2) + norm.isf(1 - power)) * se)
    between = (c.seed + c.remainder * scale) / seeds
    crit = lambda p: np.sqrt(student.isf(p, seeds - 1) ** 2 * between + norm.isf(p) ** 2 * question)
    return float(crit(alpha / 2) + crit(1 - power))


def design_needed(c: Components, difference: float, items: int | None = None, most: int = 1000) -> int | None:
    """The fewest seeds that detect `difference` at `items` question-cells per seed (None: not within `most`)."""
    for seeds in range(2, most + 1):
        if detectable(c, seeds, items) <= abs(difference):
            return seeds
    return None
