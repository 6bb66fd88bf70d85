"""The config travels once: its metadata drives the checks and the form, launch keys are set apart from the
experiment, a run's overrides rebuild its config, and a published model folder says where it came from."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # tests/<layer>/this file

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
    from engine.testing import tiny_config
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
    from engine.testing import tiny_config
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


def test_every_declared_choice_and_range_is_checked():
    import pytest
    from engine.config import ConfigError, field_meta, from_dict, _nest
    meta = field_meta()
    for key, m in meta.items():
        if m.get("choices"):
            bad = "not-a-choice"
        elif "ge" in m:
            bad = m["ge"] - 1
        elif "gt" in m:
            bad = m["gt"]
        elif "lt" in m:
            bad = m["lt"]
        else:
            continue
        with pytest.raises(ConfigError, match=key.split(".")[-1]):
            from_dict(_nest({key: bad}))
    assert {"train.max_steps", "eval.max_per_cell", "distill.temperature", "train.stage"} <= set(meta)


def test_seed_groups_may_differ_in_how_they_were_launched_only():
    import pytest
    from engine.analysis.tables import check_seed_group
    from engine.testing import tiny_config

    class Runs:
        def __init__(self, *configs):
            self.configs = [c.to_dict() for c in configs]

        def get_run(self, i):
            return {"config": self.configs[i]}

    base = tiny_config("distill")
    launched_elsewhere = base.replace(**{"train.seed": 7, "output_dir": "/elsewhere", "slurm.partition": "gpu",
                                         "grid_point": "train.seed=7"})
    assert check_seed_group(Runs(base, launched_elsewhere), [0, 1]) == [42, 7]
    with pytest.raises(ValueError, match="differ in distill.temperature"):
        check_seed_group(Runs(base, base.replace(**{"train.seed": 7, "distill.temperature": 4.0})), [0, 1])


async def test_the_forms_selects_are_the_configs_choices_and_its_launch_runs_the_pre_queue_check(tmp_path):
    from textual.widgets import Select

    from db.store import Store
    from engine.config import field_meta
    from xlqa_tui.app import XlqaApp
    from tests.tui_fixtures import pushed_form, settled, until
    from xlqa_tui.screens.new_experiment import field_id
    store = Store(f"sqlite:///{tmp_path / 'tui.db'}")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train-en.json").write_text("{not json", encoding="utf-8")
    app = XlqaApp(store)
    async with app.run_test(size=(120, 40)) as pilot:
        form = await pushed_form(pilot)
        choices = {k: m["choices"] for k, m in field_meta().items() if m.get("choices")}
        for key, options in choices.items():
            select = form.query_one(f"#{field_id(key)}", Select)
            assert tuple(value for _, value in select._options if value is not Select.BLANK) == options
        form.query_one("#f-model-name").value = "tiny-bert:32:1"
        form.query_one("#f-data-train").value = str(tmp_path / "data")  # exists: valid as typed
        await settled(pilot)
        assert form.validate()
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "nothing was queued" in str(form.query_one("#form-status").render()),
                    "the pre-queue check's refusal")
        assert "nothing was queued" in str(form.query_one("#form-status").render())
        assert "data.train" in str(form.query_one("#form-status").render())
    assert store.list_runs() == []
