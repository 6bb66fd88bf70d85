"""Hub sources through the real `datasets.load_dataset`, on local folders in the hub repositories' parquet layout
(tests/hub_layout.py), and the offset check on the shift that the hub's conversion made."""

import dataclasses
import gzip
import json
import logging

import pytest

from engine.data import DataError, load_path, load_source
from engine.data import hub
from engine.data.offsets import anchor_answers, nearest_occurrence
from tests import hub_layout


@pytest.fixture(autouse=True)
def datasets_cache_in_tmp(tmp_path, monkeypatch):
    """load_dataset writes its Arrow cache: into the test's folder, not the user's ~/.cache."""
    import datasets
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf-datasets")


@pytest.fixture
def local_hub(tmp_path, fixture_data, monkeypatch):
    """HUB_SOURCES pointed at local copies; returns the folder."""
    root = tmp_path / "hub"
    sources = {
        "xquad": hub_layout.xquad_repo(root / "xquad", fixture_data, ["en", "ar", "de"]),
        "mlqa": hub_layout.xtreme_mlqa_repo(root / "xtreme", fixture_data, ["en", "de", "ar"]),
        "tydiqa": hub_layout.tydiqa_repo(root / "tydiqa", fixture_data),
        "squad": hub_layout.squad_repo(root / "squad", fixture_data),
    }
    for name, folder in sources.items():
        point_at(monkeypatch, name, folder)
    return root


def point_at(monkeypatch, name, folder):
    monkeypatch.setitem(hub.HUB_SOURCES, name, dataclasses.replace(hub.HUB_SOURCES[name], repo=str(folder)))


def official(fixture_data, path):
    return load_path(fixture_data / path)


def by_id(table):
    return {r["id"]: r for r in table}


def test_hub_xquad_is_reanchored_to_the_official_offsets(local_hub, fixture_data, caplog):
    """The hub's ar rows point 1-2 characters off (14 of 62); re-anchored, each answer sits where the official
    file puts it, in the stripped context."""
    with caplog.at_level(logging.INFO, logger="xlqa.data"):
        table = load_source("hub:xquad", ["ar", "en"])
    assert len(table) == 124
    assert "14 of 62 answers re-anchored" in caplog.text and "0 refused" in caplog.text and "62 of 62 records kept" in caplog.text
    assert "xquad.ar" in caplog.text and "@ local" in caplog.text
    ar = {k: v for k, v in by_id(official(fixture_data, "xquad/xquad.ar.json.gz")).items()}
    for r in table.filter(lambda r: r["lang_c"] == "ar"):
        text, start = r["answers"]["text"][0], r["answers"]["answer_start"][0]
        assert r["context"][start:start + len(text)] == text
        lead = len(ar[r["id"]]["context"]) - len(ar[r["id"]]["context"].lstrip())
        assert start == ar[r["id"]]["answers"]["answer_start"][0] - lead
    assert table[0]["title"] == ""                             # google/xquad has no title column


def test_hub_tydiqa_languages_from_ids_and_every_answer_checked(local_hub, caplog):
    with caplog.at_level(logging.WARNING, logger="xlqa.data"):
        table = load_source("hub:tydiqa", ["ar", "fi", "ru"])
    assert sorted(set(table["lang_c"])) == ["ar", "fi", "ru"] and len(table) == 24
    assert "12 of 117 answers re-anchored" in caplog.text
    for r in table:
        for text, start in zip(r["answers"]["text"], r["answers"]["answer_start"]):
            assert r["context"][start:start + len(text)] == text


def test_hub_mlqa_reads_xtreme_parquet_configs_with_datasets_5(local_hub, monkeypatch):
    """google/xtreme `MLQA.C.Q`, validation and test; the cross cells are rebuilt by align, as from files."""
    from engine.evaluate import suite_records
    monkeypatch.delenv("XLQA_DATA_DIR", raising=False)
    dev = load_source("hub:mlqa:validation", ["en", "de"])
    assert sorted(set(dev["lang_c"])) == ["de", "en"]
    test = load_source("hub:mlqa:test", ["ar"])
    assert set(test["lang_c"]) == {"ar"} and len(test) > 0
    cells = suite_records("mlqa-dev", ["en", "de", "ar"], "", max_per_cell=2, seed=0)   # no data dir: the hub
    assert len(cells) == 9 * 2


def test_hub_squad_is_english_with_every_reference_answer(local_hub, fixture_data):
    table = load_source("hub:squad")                                     # the train split by default
    gold = by_id(official(fixture_data, "squad/dev-v1.1.json.gz"))
    assert len(table) == 61 and set(table["lang_q"]) == set(table["lang_c"]) == {"en"}
    for r in table:
        assert r["answers"]["text"] == gold[r["id"]]["answers"]["text"]       # 3 to 4 each, none dropped
    assert len(load_source("hub:squad:validation")) == 61


def test_a_row_whose_answer_is_not_in_its_context_is_refused_with_a_count(tmp_path, fixture_data, monkeypatch, caplog):
    def break_two(lang, rows):
        if lang == "de":
            rows[0]["answers"]["text"] = ["nicht im Kontext"]
            rows[1]["answers"]["text"] = ["auch nicht"]
        return rows
    folder = hub_layout.xquad_repo(tmp_path / "xquad", fixture_data, ["de"], edit=break_two)
    point_at(monkeypatch, "xquad", folder)
    with caplog.at_level(logging.WARNING, logger="xlqa.data"):
        table = load_source("hub:xquad", ["de"])
    assert len(table) == 60
    assert "2 refused (text not in the context); 60 of 62 records kept, refused:" in caplog.text


def test_a_script_only_repository_names_data_fetch(tmp_path, monkeypatch):
    """What facebook/mlqa is today: a loading script, which datasets 5 refuses."""
    repo = tmp_path / "mlqa"
    repo.mkdir()
    (repo / "mlqa.py").write_text("# a loading script\n")
    point_at(monkeypatch, "mlqa", repo)
    with pytest.raises(DataError, match=r"Dataset scripts are no longer supported.*data fetch mlqa --to DATA"):
        hub.load_hub("mlqa", "validation", "de", "ar")


def test_specs_name_split_and_revision():
    assert hub.parse_spec("hub:squad") == ("squad", "train", None)
    assert hub.parse_spec("hub:xquad") == ("xquad", "validation", None)
    sha = "0" * 40
    assert hub.parse_spec(f"hub:mlqa:test@{sha}") == ("mlqa", "test", sha)
    with pytest.raises(DataError, match="xquad has no split 'train'"):
        hub.parse_spec("hub:xquad:train")
    with pytest.raises(DataError, match="unknown hub dataset"):
        hub.parse_spec("hub:mlqa2")
    assert hub.HUB_SOURCES["mlqa"].repo == "google/xtreme" and hub.HUB_SOURCES["mlqa"].config == "MLQA.{c}.{q}"
    assert hub.resolve_revision("google/xquad", sha) == sha         # a commit is used as it is, no network


def test_nearest_occurrence_prefers_the_closest_then_the_earlier():
    context = "ab x ab y ab"
    assert nearest_occurrence(context, "ab", 6) == 5
    assert nearest_occurrence(context, "ab", 2) == 0          # 0 and 5 are 2 and 3 away
    assert nearest_occurrence(context, "ab", 100) == 10
    assert nearest_occurrence(context, "zz", 3) == -1 and nearest_occurrence(context, "", 3) == -1


def _simulated_hub(path):
    """The official file as the hub's conversion made it: contexts and answers stripped, answer_start kept."""
    rows = hub_layout.hub_rows(json.load(gzip.open(path, "rt", encoding="utf-8")))
    return [{**r, "answers": dict(r["answers"])} for r in rows]


def test_the_issue_numbers_on_the_full_data(full_data):
    """100 of 1,190 XQuAD-zh, 154 of 8,330 monolingual XQuAD records (the 7 MLQA languages), 2,266 of 8,754
    TyDiQA-GoldP dev answers point off after the conversion; every one is re-anchored, none refused, and each
    lands where the official file puts it."""
    counts = {}
    for key, files in {"zh": [full_data / "xquad/xquad.zh.json.gz"],
                       "xquad7": [full_data / f"xquad/xquad.{l}.json.gz" for l in ["en", "es", "de", "ar", "hi", "vi", "zh"]],
                       "tydiqa": sorted((full_data / "tydiqa/dev").glob("*.json.gz"))}.items():
        total = [0, 0, 0, 0]
        for f in files:
            truth = by_id(load_path(f))
            kept, report = anchor_answers(_simulated_hub(f), f.name)
            for r in kept:
                original = truth[r["id"]]
                lead = len(original["context"]) - len(original["context"].lstrip())
                assert r["answers"]["answer_start"] == [s - lead for s in original["answers"]["answer_start"]]
            total = [a + b for a, b in zip(total, [report.records, report.answers, report.reanchored, report.refused_answers])]
        counts[key] = total
    assert counts == {"zh": [1190, 1190, 100, 0], "xquad7": [8330, 8330, 154, 0], "tydiqa": [5077, 8754, 2266, 0]}


def test_training_refuses_a_span_that_does_not_hold_its_answer(tmp_path, fixture_data):
    """Rows that skipped the check (an old sample file, records built in a notebook) never reach the labels."""
    from engine.pipeline import run_train
    from engine.testing import tiny_config
    rows = _simulated_hub(fixture_data / "xquad/xquad.ar.json.gz")          # 14 of 62 point off
    records = [{**r, "qid": r["id"], "lang_q": "ar", "lang_c": "ar"} for r in rows]
    cfg = tiny_config("teacher", train={"epochs": 1, "max_steps": 1})
    with pytest.raises(DataError, match=r"14 of 62 training answers are not at their answer_start"):
        run_train(cfg, tmp_path / "train", records=records)
    assert not any((tmp_path / "train").glob("checkpoint*"))


def test_a_run_records_the_hub_ids_and_revisions():
    from engine.jobs.provenance import versions
    recorded = versions()
    assert recorded["hub:mlqa"] == f"google/xtreme@{hub.HUB_SOURCES['mlqa'].revision}"
    assert {k for k in recorded if k.startswith("hub:")} == {"hub:mlqa", "hub:xquad", "hub:tydiqa", "hub:squad"}


def test_preflight_names_a_hub_spec_that_cannot_exist_before_anything_is_queued():
    from engine.preflight import preflight
    from engine.testing import tiny_config
    assert not [p for p in preflight(tiny_config("teacher", data={"train": "hub:squad"})) if "hub:" in p]
    problems = preflight(tiny_config("teacher", data={"train": "hub:xquad:train"}))
    assert any("data.train: hub:xquad:train: xquad has no split 'train'" in p for p in problems), problems


def test_a_snapshot_folder_is_read_at_its_commit_and_the_run_records_that_commit(tmp_path, fixture_data, monkeypatch):
    """huggingface_hub's cache names a snapshot folder by its commit: the commit read, not `main`, goes into
    the run's versions (a plain folder records `local`); a training run takes its sample run's."""
    from engine.jobs.provenance import versions, with_sources_read
    sha = "0123456789abcdef0123456789abcdef01234567"
    snapshot = hub_layout.xquad_repo(tmp_path / "datasets--google--xquad" / "snapshots" / sha, fixture_data, ["en"])
    point_at(monkeypatch, "xquad", snapshot)
    monkeypatch.setattr(hub, "_READ", {})
    assert hub.snapshot_commit(snapshot) == sha and hub.snapshot_commit(tmp_path) is None
    load_source("hub:xquad", ["en"])
    assert hub.sources_read() == {"hub:xquad": f"{snapshot}@{sha}"}
    recorded = with_sources_read(versions())
    assert recorded["hub:xquad"] == f"{snapshot}@{sha}" and recorded["hub:mlqa"] == versions()["hub:mlqa"]
    assert recorded["torch"] == versions()["torch"]
    hub.forget_reads()                         # the next job of a foreground run: what it reads is its own
    assert hub.sources_read() == {}
    trained = with_sources_read(versions(), upstream=recorded | {"torch": "9.9"})
    assert trained["hub:xquad"] == f"{snapshot}@{sha}" and trained["torch"] == versions()["torch"]
    plain = hub_layout.xquad_repo(tmp_path / "plain", fixture_data, ["en"])
    point_at(monkeypatch, "xquad", plain)
    load_source("hub:xquad", ["en"])
    assert hub.sources_read() == {"hub:xquad": f"{plain}@local"}
