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
