"""The numbers behind the paper's figures, on hand-computed inputs: the moving band, a table drawn as lines,
n-best lists and the gold answer's rank, start-position probabilities at a temperature; and each PNG."""

import math

import numpy as np
import pytest

from engine.analysis.curves import interval95, moving_band, table_lines
from engine.analysis.plots import coefficient_png, lines_png, ranks_png, start_probs_png
from engine.decode import best_spans
from engine.nbest import first_gold_rank, nbest_lists, rank_histogram, start_probabilities


def test_the_moving_band_is_centred_cut_at_the_ends_and_clipped():
    band = moving_band([0.0, 1.0, 0.0, 1.0, 1.0], window=3)
    assert band["mean"] == pytest.approx([0.5, 1 / 3, 2 / 3, 2 / 3, 1.0])
    assert band["std"] == pytest.approx([0.5, math.sqrt(2) / 3, math.sqrt(2) / 3, math.sqrt(2) / 3, 0.0])
    assert band["lower"] == pytest.approx([0.0, 0.0, 2 / 3 - math.sqrt(2) / 3, 2 / 3 - math.sqrt(2) / 3, 1.0])  # 0: clipped
    assert band["upper"] == pytest.approx([1.0, 1 / 3 + math.sqrt(2) / 3, 1.0, 1.0, 1.0])   # clipped at 1
    assert moving_band(np.linspace(0, 1, 200), 51)["mean"][100] == pytest.approx(np.linspace(0, 1, 200)[75:126].mean())


def summary_row(value, seeds, g, x, sd=2.0):
    return {"value": value, "seeds": seeds, "runs": list(range(seeds)), "g_xlt": {"mean": g, "sd": sd},
            "xlt": {"mean": x, "sd": sd}}


def test_a_table_becomes_one_line_per_method_with_95_percent_intervals(tmp_path):
    result = {"keys": ["data.ntl", "distill.coefficient"], "metric": "f1",
              "rows": [summary_row([2, "map@k"], 2, 30.0, 40.0), summary_row([0, "map@k"], 2, 20.0, 35.0),
                       summary_row([0, "none"], 1, 18.0, 33.0, sd=0.0)]}
    lines = table_lines(result)["lines"]
    half = 12.7062047 * 2.0 / math.sqrt(2)                      # t(0.975, 1) * sd / sqrt(2)
    assert lines["g_xlt"]["map@k"]["x"] == [0, 2] and lines["g_xlt"]["map@k"]["mean"] == [20.0, 30.0]
    assert lines["g_xlt"]["map@k"]["lo"] == pytest.approx([20 - half, 30 - half])
    assert lines["xlt"]["none"] == {"x": [0], "mean": [33.0], "lo": [33.0], "hi": [33.0], "seeds": [1]}
    assert interval95(10.0, 3.0, 1) == (10.0, 10.0)
    png = lines_png(table_lines(result), tmp_path / "lines.png", teacher_g_xlt=15.0)
    assert png.stat().st_size > 10_000


def test_nbest_lists_start_with_the_decoded_answer_and_rank_the_gold():
    rng = np.random.default_rng(0)
    F, L = 6, 24
    start, end = rng.normal(size=(F, L)).astype(np.float32), rng.normal(size=(F, L)).astype(np.float32)
    offsets = np.full((F, L, 2), -1, dtype=np.int32)
    offsets[:, 4:20, 0] = np.arange(16) * 2
    offsets[:, 4:20, 1] = np.arange(16) * 2 + 1
    ids = ["a", "a", "b", "c", "c", "c"]
    contexts = {e: "abcdefghijklmnopqrstuvwxyz012345" for e in "abc"}
    lists = nbest_lists(start, end, offsets, ids, contexts, n_best=5, max_answer_length=4)
    assert {e: lst[0] for e, lst in lists.items()} == best_spans(start, end, offsets, ids, contexts, 5, 4)
    for ex in "abc":   # the classic loop's prelim list (engine.decode.best_spans_loop), written out
        prelim = []
        for f in (i for i, e in enumerate(ids) if e == ex):
            for s_ in np.argsort(start[f])[::-1][:5]:
                for e_ in np.argsort(end[f])[::-1][:5]:
                    if offsets[f, s_, 0] >= 0 and offsets[f, e_, 0] >= 0 and 0 <= e_ - s_ < 4:
                        prelim.append((start[f, s_] + end[f, e_], contexts[ex][offsets[f, s_, 0]:offsets[f, e_, 1]]))
        assert lists[ex] == [t for _, t in sorted(prelim, key=lambda p: -p[0])[:5]]
    assert len(lists["c"]) == 5
    assert first_gold_rank(["x", "The Cat", "cat"], ["cat"]) == 2      # the official normalization: 'the' goes
    assert first_gold_rank(["x", "y"], ["cat"]) is None
    assert rank_histogram([("en", 1), ("de", 3), ("en", None), ("en", 1)], 3) == {"de": [0, 0, 1, 0],
                                                                                    "en": [2, 0, 0, 1]}


def test_start_probabilities_at_a_temperature():
    logits = np.array([4 * math.log(2), 0.0, 100.0])
    p = start_probabilities(logits, [True, True, False], 4.0)
    assert p == pytest.approx([2 / 3, 1 / 3, 0.0])
    assert start_probabilities(logits, [True, True, False], 1.0) == pytest.approx([16 / 17, 1 / 17, 0.0])


def test_each_figure_is_written(tmp_path):
    steps = list(range(1, 121))
    curve = {"run": 1, "key": "coef", "window": 51, "steps": steps, "values": [0.5] * 120,
             **moving_band([0.5] * 120), "epoch_steps": [61], "coefficient": "map@k"}
    assert coefficient_png(curve, tmp_path / "c.png").stat().st_size > 10_000
    ranks = {"suite": "synthetic", "n_best": 3, "histogram": {"en": [5, 2, 1, 2], "de": [3, 3, 0, 4]}}
    assert ranks_png(ranks, tmp_path / "r.png").stat().st_size > 10_000
    probs = {"example": "q_en-de", "answer": "Paris", "temperature": 4.0, "tokens": ["a", "Paris", "b"],
             "positions": [5, 6, 7], "p_t": [0.3, 0.4, 0.3], "p_1": [0.2, 0.7, 0.1], "gold": 6}
    assert start_probs_png(probs, tmp_path / "p.png").stat().st_size > 10_000


def test_the_curve_view_says_when_the_window_is_wider_than_the_run():
    from engine.analysis.curves import moving_band
    from engine.cli.render.analyses import curve_view
    values = [0.5 + 0.01 * i for i in range(15)]
    curve = {"run": 1, "key": "coef", "coefficient": "map@k", "window": 51, "steps": list(range(1, 16)),
             "values": values, **moving_band(values, 51), "epoch_steps": [8]}
    assert "only 15 points, fewer than the window" in curve_view(curve)[1] and "--window 3" in curve_view(curve)[1]
    assert not any("fewer than the window" in line for line in curve_view({**curve, "window": 3}))
