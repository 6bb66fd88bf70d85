"""Almost stochastic order over seeds (engine.aso) and the detectable difference of a design (engine.power)."""

import numpy as np
import pytest
from scipy.stats import norm, t as student

from engine.aso import aso, violation_ratio
from engine.power import Components, design_needed, detectable
from engine.significance import compare, holm, pair


def test_the_violation_ratio_is_0_when_b_dominates_1_when_a_does_and_half_for_crossing_quantiles():
    assert violation_ratio([3, 4, 5], [1, 2, 3]) == 0.0
    assert violation_ratio([1, 2, 3], [3, 4, 5]) == 1.0
    assert violation_ratio([1, 1], [0, 2]) == pytest.approx(0.5)      # +1 below the median, -1 above
    assert violation_ratio([1.0, 1.5, 4.0], [1.2, 2.0]) == pytest.approx(1 - violation_ratio([1.2, 2.0], [1.0, 1.5, 4.0]))
    # quantiles of B over A: +1 on [0, 1/2), -3 on [1/2, 1): eps = 9/2 / (1/2 + 9/2)
    assert violation_ratio([2, 2], [1, 5]) == pytest.approx(0.9)


def test_eps_min_is_small_only_with_many_seeds_of_a_clear_winner():
    rng = np.random.default_rng(0)
    many = aso(rng.normal(30, 1, 20), rng.normal(32, 1, 20))
    assert many["violation_ratio"] < 0.1 and many["eps_min"] < 0.3
    two = aso([30.82, 29.86], [31.73, 30.29])                         # two seeds a side
    assert two["eps_min"] > two["violation_ratio"] and two["eps_min"] > 0.3
    assert aso([1, 2, 3], [1, 2, 3])["violation_ratio"] == 0.5         # the same scores: neither dominates


def test_the_detectable_difference_of_a_seed_only_design_is_the_t_formula():
    c = Components(seed=4.0, question=0.0, remainder=0.0, items=1000)
    for seeds in (2, 5, 20):
        expected = (student.isf(0.025, seeds - 1) + student.isf(0.2, seeds - 1)) * 2 / np.sqrt(seeds)
        assert detectable(c, seeds) == pytest.approx(expected)
    single = Components(0.0, 0.25, 0.0, 1000, seed_known=False)
    assert detectable(single, 1) == pytest.approx((norm.isf(0.025) + norm.isf(0.2)) * 0.5)
    assert detectable(single, 1, 4000) == pytest.approx(detectable(single, 1) / 2)   # 4x the questions: half
    shared = Components(seed=1.0, question=0.04, remainder=0.0, items=1000)
    assert detectable(shared, 1000) > (norm.isf(0.025) + norm.isf(0.2)) * 0.2        # question error stays
    assert design_needed(c, detectable(c, 7)) == 7 and design_needed(shared, 0.1) is None


def test_at_its_detectable_difference_a_simulated_design_is_detected_about_80_times_in_100():
    """Power check by simulation: per-seed differences delta + N(0, sd_seed) (the t test of 3 seeds)."""
    rng = np.random.default_rng(3)
    c = Components(seed=1.0, question=0.0, remainder=0.0, items=1)
    mdd, sims = detectable(c, 3), 4000
    d = mdd + rng.normal(0, 1, (sims, 3))
    t_stat = d.mean(1) / (d.std(1, ddof=1) / np.sqrt(3))
    power = np.mean(np.abs(t_stat) > student.isf(0.025, 2))
    assert 0.72 <= power <= 0.85, power   # the (t + t) rule, the usual approximation: 77% here (73% at 2 seeds)


def test_holm_adjusts_step_down():
    assert list(holm(np.array([0.01, 0.04, 0.03]))) == pytest.approx([0.03, 0.06, 0.06])


def test_one_seed_pair_has_no_seed_part_and_a_self_comparison_detects_nothing_beyond_zero():
    rows = [("en", "en", f"q{i}", 0.0, v) for i, v in enumerate(np.random.default_rng(1).random(50))]
    r = compare(pair([rows], [rows]), resamples=200)["g_xlt"]
    assert r["se"] == 0.0 and "seeds" not in r
