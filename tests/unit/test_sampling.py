import json
import random
import subprocess
import sys

import pytest
from click.testing import CliRunner

from engine.cli import main
from engine.data import load_path
from engine.sampling import sample_cross_lingual

LANGS = ["en", "es", "de", "ar", "hi", "vi", "zh"]


@pytest.mark.parametrize("root, questions", [("fixture_data", 62), pytest.param("full_data", 1190, marks=pytest.mark.slow)])
def test_counts_follow_the_official_sampler(root, questions, request):
    """English-centric: (1 + ntl)^2 pairs per qid; ntl = 0: every language of the qid, same-language pairs
    only (the official sampler's 8,330 examples on XQuAD); non-English-centric: ntl^2."""
    table = load_path(request.getfixturevalue(root) / "xquad", LANGS)
    for ntl in (1, 3, 6):
        assert len(sample_cross_lingual(table, LANGS, ntl, seed=1)) == questions * (1 + ntl) ** 2
    mono = sample_cross_lingual(table, LANGS, 0, seed=1)
    assert len(mono) == questions * 7 and all(r["lang_q"] == r["lang_c"] for r in mono)
    assert {r["lang_c"] for r in mono} == set(LANGS)
    for ntl in (2, 5):
        other = sample_cross_lingual(table, LANGS, ntl, seed=1, en_centric=False)
        assert len(other) == questions * ntl ** 2
        assert any(("en", "en") not in {(r["lang_q"], r["lang_c"]) for r in other if r["qid"] == q}
                   for q in {r["qid"] for r in other})


def test_question_ids_with_fewer_languages_keep_all_they_have(fixture_data):
    """MLQA-dev as training data: an id is in English and up to 3 others; ntl = 5 takes all of them."""
    table = load_path(fixture_data / "mlqa/dev", LANGS)
    langs_of = {}
    for r in table:
        langs_of.setdefault(r["qid"], set()).add(r["lang_c"])
    records = sample_cross_lingual(table, LANGS, 5, seed=0)
    assert len(records) == sum(len(v) ** 2 for v in langs_of.values())


def test_answers_from_context_language_question_from_question_language(fixture_data):
    table = load_path(fixture_data / "xquad", ["en", "de", "zh"])
    rows = {(r["qid"], r["lang_c"]): r for r in table}
    for r in sample_cross_lingual(table, ["en", "de", "zh"], 2, seed=0):
        assert r["id"] == f"{r['qid']}_{r['lang_q']}-{r['lang_c']}"
        assert r["question"] == rows[(r["qid"], r["lang_q"])]["question"]
        assert r["context"] == rows[(r["qid"], r["lang_c"])]["context"]
        assert r["answers"] == rows[(r["qid"], r["lang_c"])]["answers"]


def test_en_centric_and_non_en_centric(synthetic_small):
    langs = ["en", "es", "de", "ar"]
    en = sample_cross_lingual(synthetic_small, langs, 1, seed=3)
    assert all(("en", "en") in {(r["lang_q"], r["lang_c"]) for r in en if r["qid"] == q} for q in {r["qid"] for r in en})
    other = sample_cross_lingual(synthetic_small, langs, 2, seed=3, en_centric=False)
    assert len(other) == len(en)                       # 2^2 = (1 + 1)^2
    assert any("en" not in (r["lang_q"], r["lang_c"]) for r in other)


def test_seeded_and_independent_of_input_order(synthetic_small):
    a = sample_cross_lingual(synthetic_small, LANGS, 2, seed=5)
    shuffled = list(synthetic_small)
    random.Random(0).shuffle(shuffled)
    b = sample_cross_lingual(shuffled, LANGS, 2, seed=5)
    assert [r["id"] for r in a] == [r["id"] for r in b]
    c = sample_cross_lingual(synthetic_small, LANGS, 2, seed=6)
    assert [r["id"] for r in a] != [r["id"] for r in c]


def test_same_draw_in_another_process():
    code = ("from engine.sampling import draw_languages;"
            "print([draw_languages(f'q{i}', ['en','es','de','ar','hi','vi','zh'], 3, 11) for i in range(5)])")
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env={"PYTHONHASHSEED": str(h), "PATH": ""}).stdout for h in (1, 2)}
    assert len(outs) == 1 and "en" in outs.pop()


def test_cli_sample_writes_squad_json(tmp_path, fixture_data):
    out = tmp_path / "train.json"
    result = CliRunner().invoke(main, ["sample", "--data", str(fixture_data / "xquad"), "--languages", "en,de,zh",
                                       "--ntl", "1", "--seed", "2", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "248 examples from 62 seed questions" in result.output
    data = json.loads(out.read_text())
    assert sum(len(p["qas"]) for a in data["data"] for p in a["paragraphs"]) == 248
    assert all(len(a["paragraphs"]) == 1 for a in data["data"])
    bad = CliRunner().invoke(main, ["sample", "--data", str(fixture_data / "xquad"), "--languages", "de,zh",
                                    "--ntl", "1", "-o", str(out)])
    assert bad.exit_code == 2 and "needs 'en'" in bad.output
    cross = CliRunner().invoke(main, ["sample", "--data", str(fixture_data / "xquad"), "--languages", "en,de,zh",
                                      "--ntl", "1", "--seed", "2", "--pairs", "cross-only", "-o", str(out)])
    assert cross.exit_code == 0 and "124 examples from 62 seed questions" in cross.output   # 62 x 2 pairs


@pytest.mark.parametrize("root, questions", [("fixture_data", 62), pytest.param("full_data", 1190, marks=pytest.mark.slow)])
def test_pair_modes_keep_their_pairs_of_the_same_draw(root, questions, request):
    """data.pairs on XQuAD at ntl = 5, English-centric: per question id (1 + 5)^2 = 36 pairs (all), 6
    (same-language), 1 + 2 * 5 = 11 (english-question), 30 (cross-only), each a subset of the same draw."""
    from engine.sampling import PAIRS
    table = load_path(request.getfixturevalue(root) / "xquad", LANGS)
    by_mode = {mode: sample_cross_lingual(table, LANGS, 5, seed=1, pairs=mode) for mode in PAIRS}
    per_qid = {"all": 36, "same-language": 6, "english-question": 11, "cross-only": 30}
    assert {mode: len(r) for mode, r in by_mode.items()} == {m: questions * n for m, n in per_qid.items()}
    ids = {mode: {r["id"] for r in records} for mode, records in by_mode.items()}
    assert ids["same-language"] | ids["cross-only"] == ids["all"] and not ids["same-language"] & ids["cross-only"]
    assert ids["english-question"] <= ids["all"]
    pairs = lambda mode: {(r["lang_q"], r["lang_c"]) for r in by_mode[mode]}
    assert all(q == c for q, c in pairs("same-language")) and len(pairs("same-language")) == 7
    assert all("en" in (q, c) for q, c in pairs("english-question")) and len(pairs("english-question")) == 13
    assert all(q != c for q, c in pairs("cross-only")) and len(pairs("cross-only")) == 42
    # the same languages drawn: a question id's same-language examples are its drawn languages
    drawn = lambda mode, qid: {r["lang_c"] for r in by_mode[mode] if r["qid"] == qid}
    qid = by_mode["all"][0]["qid"]
    assert drawn("same-language", qid) == drawn("all", qid) == drawn("english-question", qid)


def test_pair_modes_a_config_cannot_take(tmp_path):
    from engine.config import ConfigError, ExperimentConfig
    cfg = ExperimentConfig()
    with pytest.raises(ConfigError, match="data.ntl >= 1"):
        cfg.replace(**{"data.ntl": 0, "data.pairs": "cross-only"})
    with pytest.raises(ConfigError, match="en_centric = true"):
        cfg.replace(**{"data.en_centric": False, "data.pairs": "english-question"})
    with pytest.raises(ConfigError, match="data.sample = true"):
        cfg.replace(**{"data.sample": False, "data.pairs": "same-language"})
    with pytest.raises(ConfigError, match="use one of all, same-language, english-question, cross-only"):
        cfg.replace(**{"data.pairs": "english"})
    assert cfg.replace(**{"data.ntl": 0, "data.pairs": "same-language"}).data.pairs == "same-language"


def _three_language_config(fixture_data, **data):
    from engine.testing import tiny_config
    return tiny_config("distill", data={"train": str(fixture_data / "xquad"), "languages": ["en", "de", "zh"],
                                        "ntl": 2, "pairs": "english-question", **data},
                       train={"batch_size": 2}, eval={"dev": "", "suites": ["synthetic"], "max_per_cell": 1})


def test_the_dry_runs_pair_counts_of_every_mode(fixture_data):
    """On the XQuAD fixture in en, de, zh at ntl = 2 (everything drawn): 62 question ids x 9, 3, 5 and 6 pairs;
    with the cap, each mode's own whole question ids; at ntl = 0 only the modes that config can take."""
    from engine.dryrun import DryRunReport, pair_mode_counts
    from engine.pipeline import training_table
    cfg = _three_language_config(fixture_data)
    modes = pair_mode_counts(cfg, training_table(cfg))
    assert {m: sum(p.values()) for m, p in modes.items()} == {
        "all": 558, "same-language": 186, "english-question": 310, "cross-only": 372}
    assert sorted(modes["english-question"]) == ["de-en", "en-de", "en-en", "en-zh", "zh-en"]
    capped = _three_language_config(fixture_data, max_train_examples=100)
    assert {m: sum(p.values()) for m, p in pair_mode_counts(capped, training_table(capped)).items()} == {
        "all": 100, "same-language": 100, "english-question": 100, "cross-only": 100}
    mono = _three_language_config(fixture_data, ntl=0, pairs="all")
    assert list(pair_mode_counts(mono, training_table(mono))) == ["all", "same-language"]
    report = DryRunReport(310, modes["english-question"], 0, 0.0, 1.0, 1, 1, {}, pair_modes=modes,
                          mode="english-question")
    lines = report.lines()
    assert lines[1] == "data.pairs modes    (the same languages drawn; * this config)"
    assert lines[2:6] == ["    all                     558 examples in 9 language pairs, 62-62 per pair",
                          "    same-language           186 examples in 3 language pairs, 62-62 per pair",
                          "  * english-question        310 examples in 5 language pairs, 62-62 per pair",
                          "    cross-only              372 examples in 6 language pairs, 62-62 per pair"]


@pytest.mark.slow  # builds a model and the features
def test_the_dry_run_prints_every_pair_modes_counts(fixture_data):
    from engine.dryrun import dry_run
    report = dry_run(_three_language_config(fixture_data))
    assert report.examples == 310 and report.mode == "english-question"
    assert "  * english-question        310 examples in 5 language pairs, 62-62 per pair" in report.lines()
