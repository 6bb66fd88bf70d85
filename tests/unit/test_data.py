import gzip
import json

import pytest
from click.testing import CliRunner

from engine.cli import main
from engine.data import DataError, cross_lingual_cell, load_monolingual_folder, load_path, load_squad_file
from engine.data import loaders


def test_real_mlqa_dev_counts(full_data):
    mono = load_monolingual_folder(full_data / "mlqa/dev")
    assert {k: len(v) for k, v in mono.items()} == {"ar": 517, "de": 512, "en": 1148, "es": 500, "hi": 507, "vi": 511, "zh": 504}


def test_cross_cell_follows_the_official_rule(fixture_data):
    mono = load_monolingual_folder(fixture_data / "mlqa/dev", ["de", "ar"])
    cell = cross_lingual_cell(mono, "de", "ar")
    de = {r["qid"]: r for r in mono["de"]}
    ar = {r["qid"]: r for r in mono["ar"]}
    assert set(cell["qid"]) == set(de) & set(ar)
    assert len(cell) >= 4
    for r in cell:
        assert r["question"] == de[r["qid"]]["question"]
        assert r["context"] == ar[r["qid"]]["context"] and r["answers"] == ar[r["qid"]]["answers"]
        assert (r["lang_q"], r["lang_c"]) == ("de", "ar")


@pytest.mark.parametrize("root, questions", [("fixture_data", 62), ("full_data", 1190)])
def test_xquad_is_parallel(root, questions, request):
    table = load_path(request.getfixturevalue(root) / "xquad", ["en", "el", "th"])
    assert len(table) == 3 * questions
    assert len(set(table["qid"])) == questions


@pytest.mark.parametrize("root, expected, total", [("fixture_data", {"ar": 8, "bn": 8, "te": 8}, 72),
                                                   ("full_data", {"ar": 921, "bn": 113, "te": 669}, 5077)])
def test_tydiqa_languages_from_file_names(root, expected, total, request):
    table = load_path(request.getfixturevalue(root) / "tydiqa/dev")
    langs = list(table["lang_c"])
    assert {lang: langs.count(lang) for lang in expected} == expected
    assert len(table) == total


def test_tydiqa_combined_file_language_from_id(tmp_path, fixture_data):
    obj = json.load(gzip.open(fixture_data / "tydiqa/dev/bengali_tydiqa_dev.json.gz", "rt"))
    path = tmp_path / "tydiqa-goldp-v1.1-dev.json"
    path.write_text(json.dumps(obj))
    table = load_squad_file(path)
    assert set(table["lang_c"]) == {"bn"} and len(table) == 8


def write(tmp_path, name, obj_or_text):
    p = tmp_path / name
    p.write_text(obj_or_text if isinstance(obj_or_text, str) else json.dumps(obj_or_text))
    return p


GOOD = {"data": [{"title": "t", "paragraphs": [{"context": "Ana was born in Paris.", "qas": [
    {"id": "q1", "question": "Where?", "answers": [{"text": "Paris", "answer_start": 16}]}]}]}]}


def test_malformed_json_names_the_file(tmp_path):
    p = write(tmp_path, "xquad.en.json", '{"data": [')
    with pytest.raises(DataError, match="xquad.en.json: not valid JSON"):
        load_squad_file(p)


def test_wrong_structure(tmp_path):
    p = write(tmp_path, "xquad.en.json", {"version": "1.1", "articles": []})
    with pytest.raises(DataError, match="no top-level 'data' list"):
        load_squad_file(p)


def test_offset_mismatch_names_id_and_fix(tmp_path):
    bad = json.loads(json.dumps(GOOD))
    bad["data"][0]["paragraphs"][0]["qas"][0]["answers"][0]["answer_start"] = 15
    p = write(tmp_path, "xquad.en.json", bad)
    with pytest.raises(DataError, match=r"question 'q1'.*answer_start should be 16"):
        load_squad_file(p)


def test_unknown_language_code(tmp_path):
    p = write(tmp_path, "xquad.xx.json", GOOD)
    with pytest.raises(ValueError, match="unknown language code 'xx'"):
        load_squad_file(p)


def test_duplicate_ids_and_missing_answers(tmp_path):
    bad = json.loads(json.dumps(GOOD))
    qas = bad["data"][0]["paragraphs"][0]["qas"]
    qas.append(dict(qas[0]))
    qas.append({"id": "q2", "question": "?", "answers": []})
    p = write(tmp_path, "xquad.en.json", bad)
    problems = loaders.iter_squad_problems(json.loads(p.read_text()), p)
    assert [e.problem for e in problems] == ["duplicate question id", "no answers"]


def test_cli_check_reports_every_problem(tmp_path, fixture_data):
    bad = json.loads(json.dumps(GOOD))
    bad["data"][0]["paragraphs"][0]["qas"][0]["answers"][0]["text"] = "London"
    p = write(tmp_path, "xquad.de.json", bad)
    result = CliRunner().invoke(main, ["data", "check", str(p), str(fixture_data / "xquad/xquad.de.json.gz")])
    assert result.exit_code == 1
    assert "does not occur in the context" in result.output
    assert "62 questions, question=de context=de, ok" in result.output


def test_cli_gxlt_writes_the_cell(tmp_path, fixture_data):
    out = tmp_path / "cell.json"
    result = CliRunner().invoke(main, ["data", "gxlt", str(fixture_data / "xquad"), "-q", "zh", "-c", "de", "-o", str(out)])
    assert result.exit_code == 0, result.output
    table = load_squad_file(out, lang="de", lang_q="zh")
    assert len(table) == 62 and table[0]["question"] != table[0]["context"]
    result = CliRunner().invoke(main, ["data", "gxlt", str(fixture_data / "xquad"), "-q", "zz", "-c", "de", "-o", str(out)])
    assert result.exit_code == 2 and "unknown language code 'zz'" in result.output


def test_cli_score_last_line_is_json(tmp_path, fixture_data):
    gold = fixture_data / "mlqa/dev/dev-context-de-question-de.json.gz"
    records = load_squad_file(gold)
    preds = {r["id"]: r["answers"]["text"][0] for r in records.select(range(7))}
    p = write(tmp_path, "preds.json", preds)
    result = CliRunner().invoke(main, ["score", "--dataset", str(gold), "--predictions", str(p)])
    assert result.exit_code == 0, result.output
    scores = json.loads(result.stdout.strip().splitlines()[-1])
    assert scores == {"exact_match": 50.0, "f1": 50.0, "total": 14}


@pytest.mark.parametrize("root, per_cell", [("fixture_data", 3), pytest.param("full_data", 10, marks=pytest.mark.slow)])
def test_mlqa_dev_subsets_per_cell(root, per_cell, request):
    """MLQA ids are not shared by all seven languages: a per-cell subset keeps every cell populated."""
    from engine.evaluate import suite_records
    data = str(request.getfixturevalue(root))
    langs = ["en", "es", "de", "ar", "hi", "vi", "zh"]
    table = suite_records("mlqa-dev", langs, data, max_per_cell=per_cell, seed=1)
    pairs = list(zip(table["lang_q"], table["lang_c"]))
    assert {p: pairs.count(p) for p in set(pairs)} == {(q, c): per_cell for q in langs for c in langs}
    again = suite_records("mlqa-dev", langs, data, max_per_cell=per_cell, seed=1)
    assert list(again["id"]) == list(table["id"])


def test_cli_score_refuses_predictions_for_another_dataset(tmp_path, fixture_data):
    gold = fixture_data / "xquad/xquad.de.json.gz"
    other = load_squad_file(fixture_data / "mlqa/dev/dev-context-de-question-de.json.gz")
    p = write(tmp_path, "preds.json", {r["id"]: r["answers"]["text"][0] for r in other})
    result = CliRunner().invoke(main, ["score", "--dataset", str(gold), "--predictions", str(p), "--metric", "squad"])
    assert result.exit_code == 2 and "0 of 62 ids match" in result.output
    assert "Unanswered question" not in result.output
    some = write(tmp_path, "some.json", {r["id"]: r["answers"]["text"][0] for r in load_squad_file(gold).select(range(31))})
    partial = CliRunner().invoke(main, ["score", "--dataset", str(gold), "--predictions", str(some), "--metric", "squad"])
    assert partial.exit_code == 0 and "31 of 62 questions have no prediction" in partial.output
    assert json.loads(partial.stdout.strip().splitlines()[-1])["f1"] == 50.0
