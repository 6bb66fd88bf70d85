"""Run folders that stay put: absolute when the run is created, whatever the working directory of the launch,
the worker, the scheduler or the dashboard; workers start in their run folder."""

import json
import sys
from pathlib import Path

import pytest
import tomli_w

from db import Store
from engine.config import from_dict, load_toml
from engine.jobs import scheduler as scheduler_module
from engine.jobs.launch import plan
from engine.jobs.scheduler import Scheduler
from tests.conftest import REPO
from tests.helpers import tiny_config


@pytest.fixture
def store(tmp_path):
    return Store(f"sqlite:///{tmp_path / 'xlqa.db'}")


def test_the_store_refuses_a_run_without_an_absolute_folder(store):
    exp = store.create_experiment("e")
    with pytest.raises(TypeError):
        store.create_run(exp, "sample", {})                          # no default folder in the store API
    for relative in ("", "runs/exp1/sample", "./x"):
        with pytest.raises(ValueError, match="not an absolute path"):
            store.create_run(exp, "sample", {}, output_dir=relative)
    assert store.list_runs() == []                                  # nothing half-stored
    run = store.create_run(exp, "sample", {}, output_dir="/data/runs/exp1/sample")
    assert store.get_run(run)["output_dir"] == "/data/runs/exp1/sample"


def test_set_paths_are_relative_to_the_working_directory_and_file_paths_to_the_file(tmp_path, monkeypatch, store):
    conf = tmp_path / "configs"
    conf.mkdir()
    path = conf / "exp.toml"
    path.write_text(tomli_w.dumps({"name": "x", "output_dir": "from-file", "data": {"train": "synthetic"}}))
    launched_from = tmp_path / "home"
    launched_from.mkdir()
    monkeypatch.chdir(launched_from)
    assert load_toml(path).output_dir == str(conf / "from-file")
    cfg = load_toml(path, ["output_dir=runs", "eval.data_dir=data", "model.name=tiny-bert:32:1"])
    assert cfg.output_dir == str(launched_from / "runs") and cfg.eval.data_dir == str(launched_from / "data")
    assert cfg.model.name == "tiny-bert:32:1" and cfg.data.train == "synthetic"    # not paths: left alone
    ids = plan(store, cfg)
    monkeypatch.chdir(tmp_path)                                     # read back from elsewhere: the same folders
    folders = [Path(store.get_run(i)["output_dir"]) for i in ids]
    assert all(f.is_absolute() and f.is_relative_to(launched_from / "runs") for f in folders)


def test_a_config_built_in_code_with_a_relative_folder_gets_an_absolute_one(tmp_path, monkeypatch, store):
    monkeypatch.chdir(tmp_path)
    ids = plan(store, from_dict({"name": "coded", "output_dir": "rel", "eval": {"suites": []}}))
    assert [store.get_run(i)["output_dir"] for i in ids] == [
        str(tmp_path / "rel" / "exp0001-coded" / kind) for kind in ("sample", "distill")]


def test_a_relative_sqlite_url_names_a_file_in_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert Store("sqlite:///rel.db").url == f"sqlite:///{tmp_path / 'rel.db'}"  # workers elsewhere open it too
    assert Store("rel2.db").url == f"sqlite:///{tmp_path / 'rel2.db'}"


def test_the_worker_starts_in_its_run_folder_and_imports_this_checkout(tmp_path, monkeypatch, store):
    """A real child process started by the scheduler, in place of the worker: where it runs, what it imports."""
    probe = ("import json, os, sys, engine; print(json.dumps({'cwd': os.getcwd(), 'engine': engine.__file__, "
             "'path': sys.path}))")
    monkeypatch.setattr(scheduler_module, "worker_command", lambda *a, **k: [sys.executable, "-c", probe])
    monkeypatch.delenv("PYTHONPATH", raising=False)                 # the scheduler must name the checkout itself
    folder = tmp_path / "runs" / "exp0001-x" / "sample"
    run_id = store.create_run(store.create_experiment("x"), "sample", {}, output_dir=str(folder), devices="cpu")
    scheduler = Scheduler(store)
    scheduler.launch(store.get_run(run_id), [])
    assert scheduler.children[run_id].wait(timeout=60) == 0
    seen = json.loads((folder / "worker.log").read_text().strip().splitlines()[-1])
    assert Path(seen["cwd"]) == folder
    assert Path(seen["engine"]).is_relative_to(REPO)               # this checkout's engine, from any folder
    assert str(folder) not in seen["path"] and "" not in seen["path"]   # nothing in a run folder shadows a module


@pytest.mark.slow  # a real worker process
def test_a_scheduled_run_writes_only_into_its_folder(tmp_path, monkeypatch, store):
    """The real scheduler and worker on a sample run, started from one folder and scheduled from another."""
    launched_from, scheduled_from = tmp_path / "launch", tmp_path / "scheduler"
    launched_from.mkdir()
    scheduled_from.mkdir()
    path = tmp_path / "tiny.toml"
    path.write_text(tomli_w.dumps(tiny_config("distill").replace(name="stay").to_dict()))
    monkeypatch.chdir(launched_from)
    sample, *rest = plan(store, load_toml(path, ["output_dir=runs"]))
    for run_id in rest:                                             # the sample run alone is enough
        store.finish(run_id, "cancelled")
    monkeypatch.chdir(scheduled_from)
    Scheduler(store, poll=0.2).loop(max_seconds=240)
    run = store.get_run(sample)
    folder = launched_from / "runs" / "exp0001-stay" / "sample"
    assert run["status"] == "done", (folder / "worker.log").read_text()
    assert Path(run["output_dir"]) == folder
    assert {"worker.log", "train_data.json.gz"} <= {p.name for p in folder.iterdir()}
    assert [p.name for p in launched_from.iterdir()] == ["runs"] and not list(scheduled_from.iterdir())
    assert all(Path(a["path"]).is_relative_to(folder) for a in store.artifacts(sample))


def test_a_new_database_never_reuses_the_run_folders_of_another(tmp_path, monkeypatch):
    """Experiment ids start at 1 in every database: a second database (or the same file made anew) must not
    hand its experiment 1 the folders, and so the checkpoints, of the first one's."""
    monkeypatch.chdir(tmp_path)
    cfg = from_dict({"name": "same", "output_dir": "runs", "eval": {"suites": []}})
    first = Store(f"sqlite:///{tmp_path / 'a.db'}")
    second = Store(f"sqlite:///{tmp_path / 'b.db'}")
    folders_a = [first.get_run(i)["output_dir"] for i in plan(first, cfg)]
    (Path(folders_a[1]) / "checkpoint").mkdir(parents=True)           # the first experiment's run has a checkpoint
    folders_b = [second.get_run(i)["output_dir"] for i in plan(second, cfg)]
    assert folders_a[0] == str(tmp_path / "runs" / "exp0001-same" / "sample")
    assert folders_b == [str(tmp_path / "runs" / "exp0001-same-2" / kind) for kind in ("sample", "distill")]
    assert not set(folders_a) & set(folders_b)
