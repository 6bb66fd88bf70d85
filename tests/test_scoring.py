import gzip
import json
import random

import pytest

from engine.scoring import evaluate_squad_json, exact_match_score, f1_score, normalize_answer
from tests.official import mlqa_evaluation_v1 as official_mlqa
from tests.official import squad_evaluate_v1_1 as official_squad


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
    assert official_mlqa.normalize_answer(text, lang) == expected


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


def noisy_predictions(dataset, seed):
    """Gold, partial spans, neighbouring text, punctuation-wrapped, empty and missing predictions."""
    rng = random.Random(seed)
    preds = {}
    for article in dataset:
        for para in article["paragraphs"]:
            ctx = para["context"]
            for qa in para["qas"]:
                gold = qa["answers"][0]
                roll = rng.random()
                if roll < 0.1:
                    continue
                if roll < 0.3:
                    preds[qa["id"]] = gold["text"]
                elif roll < 0.6:
                    s = max(0, gold["answer_start"] + rng.randint(-15, 10))
                    preds[qa["id"]] = ctx[s:s + max(1, len(gold["text"]) + rng.randint(-8, 20))]
                elif roll < 0.7:
                    preds[qa["id"]] = f"«{gold['text']}»."
                elif roll < 0.8:
                    preds[qa["id"]] = ""
                else:
                    s = rng.randrange(len(ctx))
                    preds[qa["id"]] = ctx[s:s + rng.randint(1, 40)]
    return preds


@pytest.mark.parametrize("lang", ["en", "es", "de", "ar", "hi", "vi", "zh"])
def test_mlqa_equals_official_script_on_real_mlqa(shared_data, lang):
    dataset = json.load(gzip.open(shared_data / f"mlqa/dev/dev-context-{lang}-question-{lang}.json.gz", "rt"))["data"]
    for seed in range(2):
        preds = noisy_predictions(dataset, seed)
        ours = evaluate_squad_json(dataset, preds, "mlqa", lang)
        theirs = official_mlqa.evaluate(dataset, preds, lang)
        assert (ours["exact_match"], ours["f1"]) == (theirs["exact_match"], theirs["f1"])  # to the last digit


@pytest.mark.parametrize("lang", ["en", "de", "zh", "ar", "th", "ru"])
def test_squad_equals_official_script_on_real_xquad(shared_data, lang):
    dataset = json.load(gzip.open(shared_data / f"xquad/xquad.{lang}.json.gz", "rt"))["data"]
    preds = noisy_predictions(dataset, 7)
    ours = evaluate_squad_json(dataset, preds, "squad")
    theirs = official_squad.evaluate(dataset, preds)
    assert (ours["exact_match"], ours["f1"]) == (theirs["exact_match"], theirs["f1"])
    if lang in ("en", "de", "zh", "ar"):
        ours = evaluate_squad_json(dataset, preds, "mlqa", lang)
        theirs = official_mlqa.evaluate(dataset, preds, lang)
        assert (ours["exact_match"], ours["f1"]) == (theirs["exact_match"], theirs["f1"])


def test_squad_dev_multiple_answers(shared_data):
    dataset = json.load(gzip.open(shared_data / "squad/dev-v1.1.json.gz", "rt"))["data"][:10]
    preds = noisy_predictions(dataset, 1)
    ours = evaluate_squad_json(dataset, preds, "squad")
    theirs = official_squad.evaluate(dataset, preds)
    assert (ours["exact_match"], ours["f1"]) == (theirs["exact_match"], theirs["f1"])
