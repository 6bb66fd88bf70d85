"""Evaluation protocol: which cells a suite has, which questions it keeps, and which official script scores it."""

import json
from pathlib import Path

import pytest

from engine.config import from_dict
from engine.data import load_path, records_to_dataset
from engine.evaluate import score_cells, suite_records
from engine.modeling import load_model_and_tokenizer
from engine.pipeline import cap_by_question, run_evaluate, tokenizer_texts
from engine.scoring import score_records
from engine.testing import MemorySink
from tests.helpers import tiny_config


def test_xlt_only_suite_has_the_diagonal_of_the_requested_languages(fixture_data):
    table = suite_records("xquad", ["el", "ru", "th"], str(fixture_data), max_per_cell=30, seed=1, xlt_only=True)
    cells = {(q, c) for q, c in zip(table["lang_q"], table["lang_c"])}
    assert cells == {("el", "el"), ("ru", "ru"), ("th", "th")}
    assert len(table) == 90
    full = suite_records("xquad", ["el", "ru"], str(fixture_data), max_per_cell=5, seed=1)
    assert {(q, c) for q, c in zip(full["lang_q"], full["lang_c"])} == {(q, c) for q in ("el", "ru") for c in ("el", "ru")}
    synthetic = suite_records("synthetic", ["en", "de"], max_per_cell=5, xlt_only=True)
    assert {(q, c) for q, c in zip(synthetic["lang_q"], synthetic["lang_c"])} == {("en", "en"), ("de", "de")}


def test_trained_questions_and_their_paragraphs_are_left_out(fixture_data):
    en = load_path(fixture_data / "xquad", ["en"])
    trained = frozenset(sorted(set(en["qid"]))[::20])
    paragraphs = set(en.filter(lambda r: r["qid"] in trained)["context"])
    same_paragraph = {r["qid"] for r in en if r["context"] in paragraphs}
    assert len(same_paragraph) > len(trained)          # the rule reaches beyond the trained ids themselves
    full = suite_records("xquad", ["el", "tr"], str(fixture_data), xlt_only=True)
    kept = suite_records("xquad", ["el", "tr"], str(fixture_data), xlt_only=True, exclude_qids=trained)
    assert not set(kept["qid"]) & same_paragraph
    assert len(kept) == len(full) - 2 * len(same_paragraph)


def test_a_suite_made_only_of_training_questions_is_an_error(fixture_data):
    every = frozenset(load_path(fixture_data / "xquad", ["el"])["qid"])
    with pytest.raises(ValueError, match="every question of suite xquad .* was in the training data"):
        suite_records("xquad", ["el"], str(fixture_data), xlt_only=True, exclude_qids=every)
    with pytest.raises(ValueError, match="none of the languages"):
        suite_records("mlqa-dev", ["el"], str(fixture_data))


def _one_spanish_cell(context="el gato duerme en la casa"):
    return records_to_dataset([{"id": "q1_es-es", "qid": "q1", "lang_q": "es", "lang_c": "es", "title": "t",
                                "question": "¿Quién duerme?", "context": context,
                                "answers": {"text": ["gato"], "answer_start": [3]}}])


def test_each_suite_is_scored_by_its_official_script():
    """MLQA v1 strips Spanish articles, SQuAD v1.1 (XQuAD's and TyDiQA's script) only English ones."""
    records, prediction = _one_spanish_cell(), {"q1_es-es": "el gato"}
    assert score_cells(records, prediction, "mlqa-dev")[0]["exact_match"] == 100.0
    assert score_cells(records, prediction, "xquad")[0]["exact_match"] == 0.0
    assert score_cells(records, prediction, "tydiqa")[0]["exact_match"] == 0.0
    assert score_cells(records, prediction, "some/folder")[0]["exact_match"] == 100.0   # MLQA language


def test_cap_by_question_keeps_whole_question_ids_drawn_at_random():
    records = [{"id": f"q{i:03d}_{p}", "qid": f"q{i:03d}"} for i in range(100) for p in ("en-en", "en-de", "de-en", "de-de")]
    kept = cap_by_question(records, 40, seed=1)
    qids = [r["qid"] for r in kept]
    assert len(kept) == 40 and all(qids.count(q) == 4 for q in set(qids))
    assert sorted(set(qids)) != [f"q{i:03d}" for i in range(10)]    # not the first ten ids
    assert kept == cap_by_question(records, 40, seed=1)
    assert kept != cap_by_question(records, 40, seed=2)
    assert cap_by_question(records, 1000, seed=1) == records


def test_the_synthetic_suite_has_the_paragraphs_the_config_asks_for():
    from engine.pipeline import dev_records
    def questions(paragraphs):
        records = dev_records(tiny_config("teacher", eval={"max_per_cell": 0, "synthetic_paragraphs": paragraphs}))
        return len(set(records["qid"])), len(records)
    assert questions(10) == (30, 30 * 4)    # 3 questions a paragraph, in the 2 x 2 cells of en, de
    assert questions(25) == (75, 75 * 4)


def test_run_evaluate_scores_xlt_suites_without_the_training_questions(tmp_path, fixture_data):
    cfg = tiny_config("teacher")
    model, tokenizer = load_model_and_tokenizer(cfg.model.name, tokenizer_texts(cfg), seed=0, vocab_size=cfg.model.vocab_size)
    model.save_pretrained(tmp_path / "model")
    tokenizer.save_pretrained(tmp_path / "model")
    cfg = from_dict({**cfg.to_dict(), "eval": {"suites": [], "xlt_suites": ["xquad"], "xlt_languages": ["el", "th"],
                                               "data_dir": str(fixture_data), "max_per_cell": 0}})
    el = load_path(fixture_data / "xquad", ["el"])
    trained = frozenset(sorted(set(el["qid"]))[:3])
    contexts = set(el.filter(lambda r: r["qid"] in trained)["context"])
    expected = sum(1 for c in el["context"] if c not in contexts)
    sink = MemorySink()
    final = run_evaluate(cfg, tmp_path / "model", sink, trained=trained, output_dir=tmp_path / "eval")
    cells = {(c["lang_q"], c["lang_c"]): c for _, suite, cs in sink.evals for c in cs if suite == "xquad"}
    assert set(cells) == {("el", "el"), ("th", "th")}
    assert cells[("el", "el")]["n"] == expected < len(el)
    assert set(final["xquad"]) == {"xlt"}
    assert [k for _, values in sink.metrics for k in values if k.startswith("xquad")] == ["xquad_xlt_f1"]
    # the predictions file rescored by the official SQuAD script gives the stored cell
    (kind, path, _), = sink.artifacts
    predictions = json.loads(Path(path).read_text(encoding="utf-8"))
    el_records = suite_records("xquad", ["el"], str(fixture_data), xlt_only=True, exclude_qids=trained)
    assert kind == "predictions" and set(el_records["id"]) <= set(predictions)
    assert score_records(el_records, predictions, "squad")["f1"] == cells[("el", "el")]["f1"]


def test_models_trained_with_different_seeds_are_scored_on_the_same_questions(fixture_data):
    """The max_per_cell subset is drawn by eval.subset_seed, not train.seed: seed groups pair every question."""
    from engine.pipeline import dev_records
    ev = {"dev": "xquad", "data_dir": str(fixture_data), "languages": ["el", "ru"], "max_per_cell": 4}
    ids = lambda **s: sorted(dev_records(tiny_config("distill", eval={**ev, **s.get("eval", {})}, train=s.get("train", {})))["id"])
    assert ids(train={"seed": 42}) == ids(train={"seed": 7})
    assert ids(eval={"subset_seed": 0}) != ids(eval={"subset_seed": 1})   # the subset seed does draw the subset


def test_each_suite_carries_its_own_languages(fixture_data):
    """eval.suite_languages: XQuAD XLT in el/ru/tr/th and TyDiQA XLT in the official 7, in one config."""
    from engine.pipeline import dev_records
    ev = {"suites": ["mlqa-dev"], "xlt_suites": ["xquad", "tydiqa"], "data_dir": str(fixture_data),
          "suite_languages": {"xquad": ["el", "ru", "tr", "th"], "tydiqa": ["bn", "fi", "id", "ko", "ru", "sw", "te"]}}
    cfg = tiny_config("distill", eval=ev)
    langs = lambda suite, xlt: sorted(set(dev_records(cfg, suite, xlt_only=xlt)["lang_c"]))
    assert langs("xquad", True) == ["el", "ru", "th", "tr"]
    assert langs("tydiqa", True) == ["bn", "fi", "id", "ko", "ru", "sw", "te"]
    assert langs("mlqa-dev", False) == sorted(cfg.eval.languages)              # no entry: eval.languages
    # an old config's single list still means every XLT suite without an entry of its own
    old = tiny_config("distill", eval={**ev, "suite_languages": {"tydiqa": ["ko"]}, "xlt_languages": ["el"]})
    assert old.eval.languages_of("xquad", True) == ["el"] and old.eval.languages_of("tydiqa", True) == ["ko"]
    # the key of the form and of --set
    over = cfg.replace(**{"eval.suite_languages.tydiqa": "bn,te"})
    assert over.eval.suite_languages == {**ev["suite_languages"], "tydiqa": ["bn", "te"]}


def test_legacy_answer_text_is_whole_words_where_the_offsets_cut_inside_them(fixture_data):
    """The same logits decoded both ways: every legacy answer holds the offsets answer (whitespace aside),
    and a random model's spans that start or end inside a word come out as whole words."""
    from engine.evaluate import Decoding, predict
    from engine.features import FeatureConfig
    import torch
    cfg = tiny_config("teacher")
    records = suite_records("tydiqa", ["ru", "ko"], str(fixture_data), xlt_only=True)
    model, tok = load_model_and_tokenizer(cfg.model.name, list(records["context"]) + list(records["question"]),
                                          seed=0, vocab_size=3000)
    feat = FeatureConfig(max_length=128, doc_stride=32, max_query_length=24)
    run = lambda how: predict(model, tok, records, feat, 16, torch.device("cpu"), decode=Decoding(answer_text=how))
    offsets, legacy = run("offsets"), run("legacy")
    squash = lambda t: " ".join(t.split())
    assert all(squash(offsets[i]) in squash(legacy[i]) for i in offsets)
    differ = sum(offsets[i] != legacy[i] for i in offsets)
    assert 0 < differ < len(offsets)
