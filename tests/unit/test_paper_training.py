"""The paper configs train as the official code: its data (the release files), labels, optimizer, epoch tail."""

import pytest

from engine.config import ConfigError, load_toml
from engine.preflight import preflight
from tests.conftest import REPO

PAPER = REPO / "examples/paper_xquad_to_mlqa.toml"


def test_the_paper_config_trains_on_the_release_files_the_official_way(monkeypatch, tmp_path):
    monkeypatch.setenv("XLQA_DATA_DIR", str(tmp_path))
    cfg = load_toml(PAPER)
    assert cfg.data.train == str(tmp_path / "xquad") and not cfg.data.train.startswith("hub:")
    assert (cfg.features.labels, cfg.train.optimizer, cfg.train.epoch_tail) == ("legacy", "adamw-legacy", "carry")
    teacher = load_toml(REPO / "examples/paper_teacher.toml")
    assert (teacher.train.optimizer, teacher.features.max_query_length, teacher.features.labels) == \
        ("adamw-legacy", 0, "offsets")                  # run_qa.py: fast-tokenizer offsets, whole questions


def test_without_the_release_files_the_error_names_data_fetch(monkeypatch, tmp_path):
    monkeypatch.delenv("XLQA_DATA_DIR", raising=False)
    with pytest.raises(ConfigError, match=r"data.train = .*XLQA_DATA_DIR.*xlqa-run data fetch"):
        load_toml(PAPER)
    monkeypatch.setenv("XLQA_DATA_DIR", str(tmp_path))  # set, but nothing fetched there
    problems = preflight(load_toml(PAPER, ["model.name=tiny-bert", f"eval.data_dir={tmp_path}"]))
    assert any(p.startswith("data.train = ") and "xlqa-run data fetch" in p for p in problems), problems
