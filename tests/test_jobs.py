"""Background jobs for real: detached scheduler and worker processes against a SQLite file."""

import json
import os
import signal
import time

import pytest
import tomli_w
from click.testing import CliRunner

from db import Store
from engine.cli import main
from tests.helpers import tiny_config

TERMINAL = ("done", "failed", "cancelled", "lost")


@pytest.fixture
def env(tmp_path, monkeypatch):
    db = tmp_path / "xlqa.db"
    monkeypatch.setenv("XLQA_DB", str(db))
    monkeypatch.setenv("XLQA_CPU_SLOTS", "2")
    return tmp_path, Store(str(db))


def write_config(tmp_path, name, stage="distill", **sections):
    cfg = tiny_config(stage, **sections).replace(name=name, output_dir=str(tmp_path / "runs"))
    path = tmp_path / f"{name}.toml"
    path.write_text(tomli_w.dumps(cfg.to_dict()))
    return path


def wait_for(store, run_id, statuses, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        run = store.get_run(run_id)
        if run["status"] in statuses:
            return run
        time.sleep(0.3)
    raise AssertionError(f"run {run_id} still {store.get_run(run_id)['status']} after {timeout}s")


def launch(path, *args):
    result = CliRunner().invoke(main, ["launch", str(path), *args])
    assert result.exit_code == 0, result.output
    return [int(x) for x in result.output.split("queued runs ")[1].split(" of")[0].split(", ")]


def test_launch_runs_the_queue_and_a_failure_does_not_stop_it(env):
    tmp_path, store = env
    bad = launch(write_config(tmp_path, "bad-data", data={"train": str(tmp_path / "missing")}))
    good = launch(write_config(tmp_path, "good", train={"epochs": 1}))
    failed = wait_for(store, bad[0], TERMINAL)
    assert failed["status"] == "failed"
    assert "missing" in failed["error"] and "data path" in failed["hint"]
    assert wait_for(store, bad[1], TERMINAL)["status"] == "failed"      # its dependency failed
    for run_id in good:
        assert wait_for(store, run_id, TERMINAL)["status"] == "done"
    train = store.get_run(good[1])
    assert train["versions"]["torch"] and train["config"]["train"]["epochs"] == 1 and train["seed"] == 42
    runner = CliRunner()
    out = runner.invoke(main, ["matrix", str(good[2])])
    assert out.exit_code == 0 and "G-XLT (cross cells)" in out.output
    csv_text = runner.invoke(main, ["export", str(good[1]), "--format", "csv"]).output
    assert "loss" in csv_text and "dev_gxlt_f1" in csv_text
    png = tmp_path / "run.png"
    assert runner.invoke(main, ["plot", str(good[1]), "-o", str(png)]).exit_code == 0
    assert png.stat().st_size > 10_000
    listing = runner.invoke(main, ["list"]).output
    assert "good" in listing and "failed" in listing


def test_cancel_then_resume_continues_from_the_checkpoint(env):
    tmp_path, store = env
    ids = launch(write_config(tmp_path, "long", train={"epochs": 40, "checkpoint_every": 5}, eval={"suites": []}))
    train_id = ids[1]
    wait_for(store, train_id, ("running",))
    deadline = time.time() + 60
    while store.get_run(train_id)["step"] < 12 and time.time() < deadline:
        time.sleep(0.3)
    result = CliRunner().invoke(main, ["cancel", str(train_id)])
    assert "stopping" in result.output
    run = wait_for(store, train_id, TERMINAL)
    assert run["status"] == "cancelled"
    stopped_at = max(s for s, _ in store.metric_series(train_id, "loss"))
    assert (tmp_path / "runs").exists()
    assert any(p.name == "checkpoint" for p in (tmp_path / "runs").rglob("checkpoint"))
    # shorten the rest of the run, then resume it from its checkpoint
    store.update_run(train_id, config={**run["config"], "train": {**run["config"]["train"], "max_steps": stopped_at + 6}})
    assert CliRunner().invoke(main, ["resume", str(train_id)]).exit_code == 0
    assert wait_for(store, train_id, TERMINAL)["status"] == "done"
    steps = [s for s, _ in store.metric_series(train_id, "loss")]
    assert steps == sorted(set(steps))            # superseded, not duplicated
    assert max(steps) == stopped_at + 6


def test_killed_worker_is_marked_lost(env):
    tmp_path, store = env
    ids = launch(write_config(tmp_path, "killed", train={"epochs": 40}, eval={"suites": []}))
    run = wait_for(store, ids[1], ("running",))
    deadline = time.time() + 30
    while not store.get_run(ids[1])["step"] and time.time() < deadline:
        time.sleep(0.2)
    os.kill(store.get_run(ids[1])["pid"], signal.SIGKILL)
    lost = wait_for(store, ids[1], TERMINAL, timeout=30)
    assert lost["status"] == "lost"
    assert "is gone" in lost["error"] and "resume" in lost["hint"]


def test_config_errors_name_the_key(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[train]\nepoch = 3\n')
    result = CliRunner().invoke(main, ["launch", str(path), "--db", str(tmp_path / "x.db")])
    assert result.exit_code == 2 and "unknown key train.epoch" in result.output
    path.write_text('[distill]\ntemperature = -1\n')
    result = CliRunner().invoke(main, ["launch", str(path), "--db", str(tmp_path / "x.db")])
    assert result.exit_code == 2 and "distill.temperature" in result.output
    path.write_text('[train\n')
    result = CliRunner().invoke(main, ["run", str(path), "--db", str(tmp_path / "x.db")])
    assert result.exit_code == 2 and "not valid TOML" in result.output
    path.write_text('[train]\nepochs = 1\n')
    result = CliRunner().invoke(main, ["launch", str(path), "--set", "train.batch_size=zero", "--db", str(tmp_path / "x.db")])
    assert result.exit_code == 2 and "train.batch_size" in result.output
    assert not Store(str(tmp_path / "x.db")).list_runs()   # nothing was queued


def test_foreground_run_and_compare(tmp_path):
    db = str(tmp_path / "fg.db")
    path = write_config(tmp_path, "fg", train={"epochs": 1})
    result = CliRunner().invoke(main, ["run", str(path), "--db", db])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(main, ["run", str(path), "--db", db, "--set", "distill.temperature=3"])
    assert result.exit_code == 0, result.output
    out = CliRunner().invoke(main, ["compare", "6", "3", "--db", db]).output
    assert "distill.temperature" in out and "G-XLT (cross)" in out
    shown = CliRunner().invoke(main, ["show", "5", "--db", db]).output
    assert "temperature = 3.0" in shown and "dev_gxlt_f1" in shown
    data = json.loads(CliRunner().invoke(main, ["export", "6", "--format", "json", "--db", db]).stdout)
    assert len(data["eval_cells"]) == 4


def test_evaluate_stage_scores_a_given_checkpoint_like_the_experiment_did(tmp_path):
    """train.stage = evaluate: one run, no training; the same checkpoint and questions give the same cells."""
    db = str(tmp_path / "ev.db")
    path = write_config(tmp_path, "fg", train={"epochs": 1})
    assert CliRunner().invoke(main, ["run", str(path), "--db", db]).exit_code == 0
    store = Store(db)
    best = f"{store.get_run(2)['output_dir']}/best"
    result = CliRunner().invoke(main, ["launch", str(path), "--db", db, "--set", "train.stage=evaluate",
                                       "--set", f"model.init_from={best}"])
    assert result.exit_code == 0 and "queued runs 4 of" in result.output, result.output
    run = wait_for(store, 4, TERMINAL)
    assert run["status"] == "done" and run["kind"] == "evaluate" and run["depends_on"] is None
    key = lambda c: (c["lang_q"], c["lang_c"], c["n"], round(c["f1"], 9))
    assert sorted(map(key, store.eval_cells(4))) == sorted(map(key, store.eval_cells(3, checkpoint="best")))
