"""The config travels once: its metadata drives the checks and the form, launch keys are set apart from the
experiment, a run's overrides rebuild its config, and a published model folder says where it came from."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

HEAVY = ("torch", "datasets", "transformers")


def test_loading_a_config_imports_no_heavy_library():
    probe = ("import json, sys; from engine.config import load_toml; load_toml('examples/quickstart.toml'); "
             f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))")
    done = subprocess.run([sys.executable, "-c", probe],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


def test_a_trained_runs_checkpoint_and_best_folder_say_where_they_came_from(tmp_path):
    from db.store import Store
    from engine.config import PROVENANCE_FILE, config_of_model, read_provenance
    from engine.jobs.foreground import run_foreground
    from engine.presets import tiny_config
    store = Store(f"sqlite:///{tmp_path / 'xlqa.db'}")
    cfg = tiny_config("teacher", train={"epochs": 1, "max_steps": 2}, eval={"suites": []},
                      data={"synthetic_paragraphs": 20})
    cfg = cfg.replace(output_dir=str(tmp_path / "runs"))
    assert run_foreground(store, cfg) == "done"
    run = next(r for r in store.list_runs() if r["kind"] == "teacher")
    teacher = next((tmp_path / "runs").rglob("teacher"))
    for folder in (teacher / "checkpoint", teacher / "best"):   # the links' targets: the published folders
        assert (folder.resolve() / PROVENANCE_FILE).is_file()
        prov = read_provenance(folder)
        assert prov["run_id"] == run["id"] and prov["kind"] == "teacher"
        assert prov["git_commit"] == run["git_commit"] and prov["versions"] == run["versions"]
        assert config_of_model(folder).to_dict() == run["config"]  # the run's config, redone exactly


def test_a_runs_overrides_against_its_experiment_rebuild_its_config():
    from engine.config import config_hash, rebuild_config, run_overrides
    from engine.presets import tiny_config
    cfg = tiny_config("distill", eval={"suites": ["synthetic", "xquad"], "suite_languages": {"xquad": ["de"],
                                                                                           "synthetic": ["en", "de"]}})
    experiment = cfg.to_dict()
    assert run_overrides(experiment, experiment) == {}
    run = cfg.replace(**{"model.init_from": "/runs/teacher/best"}).to_dict()
    run["eval"]["suite_languages"] = {"xquad": ["de"]}                  # an entry deleted
    overrides = run_overrides(experiment, run)
    assert overrides == {"model.init_from": "/runs/teacher/best", "eval.suite_languages": {"xquad": ["de"]}}
    assert rebuild_config(experiment, overrides) == run          # the deleted table entry stays deleted
    assert rebuild_config(experiment, {}) == experiment
    assert experiment == cfg.to_dict()                                  # rebuilding changes no stored dict
    assert config_hash(experiment) == config_hash(dict(reversed(list(experiment.items()))))  # key order: same
    assert config_hash(experiment) != config_hash(run)
