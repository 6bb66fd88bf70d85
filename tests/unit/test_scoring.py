"""engine.scoring against numbers the official SQuAD v1.1 and MLQA v1 scripts produced once
(tests/data/official_scores.json.gz, see tests/data/README.md), and against properties of the metrics."""

import gzip
import json

import pytest

from engine.scoring import evaluate_squad_json, exact_match_score, f1_score, normalize_answer
from engine.scoring.metrics import question_scores
from tests.conftest import FIXTURES
from tests.oracle_predictions import first_answers, noisy_predictions

ORACLE = json.load(gzip.open(FIXTURES / "official_scores.json.gz", "rt", encoding="utf-8"))


def _read(root, rel):
    return json.load(gzip.open(root / rel, "rt", encoding="utf-8"))["data"]


def _check_against_oracle(root, row):
    data = _read(root, row["file"])
    parallel = first_answers(_read(root, row["parallel_from"])) if row["parallel_from"] else None
    predictions = noisy_predictions(data, row["answer_language"], row["seed"], parallel)
    ours = evaluate_squad_json(data, predictions, row["script"], row["answer_language"])
    assert ours["total"] == row["total"]
    # to the last digit: the same float sums in the same order
    assert (ours["exact_match"], ours["f1"]) == (row["exact_match"], row["f1"]), row["file"]
    per_question = question_scores(data, predictions, row["script"], row["answer_language"])
    for qid, (em, f1) in row["questions"].items():
        assert per_question[qid] == (em, f1), (row["file"], qid)


def _label(row):
    return f"{row['file'].split('/')[-1].replace('.json.gz', '')}-{row['script']}-s{row['seed']}"


@pytest.mark.parametrize("row", ORACLE["fixtures"], ids=_label)
def test_equals_the_official_scripts_on_the_fixtures(row):
    _check_against_oracle(FIXTURES, row)


@pytest.mark.parametrize("row", ORACLE["full"], ids=_label)
def test_equals_the_official_scripts_on_the_full_files(row, full_data):
    _check_against_oracle(full_data, row)


def test_the_oracle_covers_every_kind_of_prediction():
    """The stored cases include each kind of noisy prediction, and the official numbers are not trivial."""
    data = _read(FIXTURES, "xquad/xquad.de.json.gz")
    predictions = noisy_predictions(data, "de", 0, first_answers(_read(FIXTURES, "xquad/xquad.el.json.gz")))
    golds = first_answers(data)
    assert len(predictions) < len(golds)                                   # some missing
    assert "" in predictions.values()                                      # some empty
    assert any(p == golds[q] for q, p in predictions.items())              # some gold
    assert any(p.startswith("des ") for p in predictions.values())         # some with an article
    scores = {(r["file"], r["script"]): r["f1"] for r in ORACLE["fixtures"] if r["seed"] == 0}
    assert all(20 < f1 < 90 for f1 in scores.values())
    # the MLQA script forgives what SQuAD's does not (German articles, Unicode punctuation)
    assert scores[("xquad/xquad.de.json.gz", "mlqa")] > scores[("xquad/xquad.de.json.gz", "squad")]


@pytest.mark.parametrize("metric, lang", [("squad", "en"), ("mlqa", "en"), ("mlqa", "es"), ("mlqa", "de"),
                                          ("mlqa", "ar"), ("mlqa", "hi"), ("mlqa", "vi"), ("mlqa", "zh")])
def test_gold_scores_100_and_em_never_exceeds_f1(metric, lang, fixture_data):
    rel = "squad/dev-v1.1.json.gz" if metric == "squad" else f"mlqa/dev/dev-context-{lang}-question-{lang}.json.gz"
    data = _read(fixture_data, rel)
    assert evaluate_squad_json(data, first_answers(data), metric, lang) == \
        {"exact_match": 100.0, "f1": 100.0, "total": len(first_answers(data))}
    golds = {qa["id"]: [a["text"] for a in qa["answers"]] for a in data for p in a["paragraphs"] for qa in p["qas"]}
    for seed in range(3):
        for qid, (em, f1) in question_scores(data, noisy_predictions(data, lang, seed), metric, lang).items():
            assert em in (0, 1) and 0 <= f1 <= 1
            # the official scripts give EM 1 and F1 0 when a gold answer normalizes to nothing
            assert em <= f1 or any(normalize_answer(g, metric, lang) == "" for g in golds[qid])
            assert not em or f1 == 1.0 or any(normalize_answer(g, metric, lang) == "" for g in golds[qid])


@pytest.mark.parametrize("lang, text, expected", [
    ("en", "The Eiffel Tower!", "eiffel tower"),
    ("en", "an apple a day", "apple day"),
    ("es", "Los Ángeles, la ciudad", "ángeles ciudad"),
    ("de", "Der Vater des Kindes", "vater kindes"),
    ("vi", "Thủ đô của Việt Nam là Hà Nội", "thủ đô việt nam hà nội"),
    ("ar", "الكتاب الجديد", "كتاب جديد"),          # every ال goes, not only the leading one
    ("ar", "مدرسة الأمل، في القاهرة.", "مدرسة أمل في قاهرة"),
    ("hi", "भारत की राजधानी।", "भारत की राजधानी"),      # danda is Unicode punctuation
    ("zh", "北京大学，在中国。", "北 京 大 学 在 中 国"),  # mixed segmentation: one token per ideograph
    ("zh", "iPhone 12手机", "iphone 12 手 机"),
    ("en", "", ""),
    ("en", "“quoted” — text", "quoted text"),        # MLQA drops Unicode quotes and dashes
])
def test_mlqa_normalization_by_hand(lang, text, expected):
    assert normalize_answer(text, "mlqa", lang) == expected


def test_squad_keeps_unicode_punctuation():
    assert normalize_answer("“quoted” — text", "squad") == "“quoted” — text"
    assert normalize_answer("The cat.", "squad") == "cat"


def test_hand_worked_scores():
    assert f1_score("the big cat", "a big dog", "mlqa", "en") == pytest.approx(0.5)  # 'big' of 2 and 2
    assert f1_score("北京", "北京大学", "mlqa", "zh") == pytest.approx(2 * 1.0 * 0.5 / 1.5)
    assert f1_score("北京", "北京大学", "squad") == 0  # one whitespace token each, different
    assert exact_match_score("El perro", "perro", "mlqa", "es")
    assert not exact_match_score("El perro", "perro", "mlqa", "en")
    assert f1_score("", "anything", "mlqa", "en") == 0
    assert f1_score("الولايات", "ولايات", "mlqa", "ar") == 1.0


def test_missing_prediction_scores_zero():
    data = [{"paragraphs": [{"context": "x y", "qas": [
        {"id": "a", "answers": [{"text": "x", "answer_start": 0}]},
        {"id": "b", "answers": [{"text": "y", "answer_start": 2}]}]}]}]
    assert evaluate_squad_json(data, {"a": "x"}, "mlqa", "en") == {"exact_match": 50.0, "f1": 50.0, "total": 2}


def test_unknown_language_is_an_error():
    with pytest.raises(ValueError, match="--metric squad"):
        normalize_answer("x", "mlqa", "el")


def test_a_summary_line_names_only_the_views_its_cells_have():
    from engine.scoring.summary import format_summary, summarize
    cross = summarize([{"lang_q": "en", "lang_c": "de", "f1": 30.0}])
    same = summarize([{"lang_q": "en", "lang_c": "en", "f1": 50.0}])
    assert format_summary(cross) == "G-XLT (all cells) 30.00   G-XLT (cross cells) 30.00"
    assert format_summary(same) == "XLT 50.00"


def test_the_macro_mean_is_numpys_bit_for_bit_without_numpy():
    """Stored and shown G-XLT numbers were np.mean's, whose pairwise summation can differ from sum()/len() in the
    last bit: engine.scoring.summary.mean must give the same float on every length a view can have (7x7 MLQA:
    7, 42, 49 cells; 12x12 XQuAD: 12, 132, 144; past 128 numpy splits the sum in halves) and more."""
    import random

    import numpy as np

    from engine.scoring.summary import mean
    rng = random.Random(0)
    lengths = [*range(1, 300), 7, 42, 49, 12, 132, 144, 1000, 4099]
    for n in lengths:
        for _ in range(20):
            kind = rng.random()
            if kind < 0.4:   # cell F1s: 100 x a mean of per-question F1s in [0, 1]
                vals = [100 * sum(rng.random() for _ in range(q)) / q for q in (rng.randint(1, 60) for _ in range(n))]
            elif kind < 0.7:   # EM-like: whole questions out of a cell's count
                vals = [100 * rng.randint(0, q) / q for q in (rng.randint(1, 1200) for _ in range(n))]
            else:   # magnitudes far apart, where the order of additions shows most
                vals = [rng.uniform(-1, 1) * 10 ** rng.randint(-8, 12) for _ in range(n)]
            assert mean(vals).hex() == float(np.mean(vals)).hex(), (n, vals)
    assert mean([3, 4]) == 3.5 and mean([]) != mean([])   # ints as floats; NaN without values, as np.mean
    assert mean([1.0, float("nan")]) != mean([1.0, float("nan")])
