"""A foreground run whose training data is a hub source read from a snapshot folder (huggingface_hub's cache
layout): the sample run's and the training run's versions, and the provenance in the model folder, name
the snapshot's commit, not the branch the code pins."""

import dataclasses

import pytest
import tomli_w
from click.testing import CliRunner

from engine.cli import main
from engine.config import read_provenance
from engine.data import hub
from tests import hub_layout
from tests.helpers import tiny_config

SHA = "89abcdef0123456789abcdef0123456789abcdef"


@pytest.mark.slow  # a whole (tiny) distillation
def test_a_run_records_the_commit_of_the_hub_snapshot_it_read(env, fixture_data, monkeypatch):
    import datasets
    tmp_path, store = env
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf-datasets")
    snapshot = hub_layout.xquad_repo(tmp_path / "datasets--google--xquad" / "snapshots" / SHA, fixture_data, ["en", "de"])
    monkeypatch.setitem(hub.HUB_SOURCES, "xquad", dataclasses.replace(hub.HUB_SOURCES["xquad"], repo=str(snapshot)))
    cfg = tiny_config("distill", data={"train": "hub:xquad", "max_train_examples": 40}, train={"epochs": 1},
                      eval={"dev": "", "suites": []}).replace(name="snap", output_dir=str(tmp_path / "runs"))
    path = tmp_path / "snap.toml"
    path.write_text(tomli_w.dumps(cfg.to_dict()))
    result = CliRunner().invoke(main, ["run", str(path)])
    assert result.exit_code == 0, result.output
    runs = {r["kind"]: r for r in store.list_runs()}
    read = f"{snapshot}@{SHA}"
    assert runs["sample"]["versions"]["hub:xquad"] == read and runs["distill"]["versions"]["hub:xquad"] == read
    assert runs["sample"]["versions"]["hub:mlqa"] == "google/xtreme@main"        # not read: as pinned
    assert read_provenance(runs["distill"]["output_dir"] + "/checkpoint")["versions"]["hub:xquad"] == read
