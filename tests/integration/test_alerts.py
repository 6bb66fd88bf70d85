"""Every alert kind raised by a real run against a SQLite file, each alert posted to a loopback webhook as the
worker (or the scheduler) writes it: background scheduler and worker processes, or the in-process scheduler
(tests/jobs_helpers.run_queue) where the queue's logic is what is tested."""

import json
import os
import signal
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli import main
from tests.jobs_helpers import (TERMINAL, bad_offset_data, launch, run_queue, slow_config, wait_for, wait_until,
                                write_config)


def alerts_of(run_id=None) -> list[dict]:
    """What `xlqa-run alerts --json` prints (one JSON object a line)."""
    args = ["alerts", "--json", "--limit", "1000"] + (["--run", str(run_id)] if run_id else [])
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines()]


def show(alerts):
    for a in alerts:  # the alerts themselves, for the record (pytest -s)
        print(f"{a['kind']:<16} {a['level']:<8} {a['text']}")


@pytest.mark.slow  # whole trainings
def test_a_nan_loss_stops_the_run_and_is_posted(env, webhook, monkeypatch):
    tmp_path, store = env
    url, received = webhook
    monkeypatch.setenv("XLQA_ALERT_WEBHOOK", url)
    # a temperature this small divides the logits into inf: the KL (and the first step's gradients) go NaN
    ids = launch(write_config(tmp_path, "nan", distill={"temperature": 1e-45}, train={"epochs": 2},
                              eval={"suites": []}), "--no-scheduler")
    run_queue(store)
    run = store.get_run(ids[1])
    assert run["status"] == "failed" and "NonFiniteLoss: loss is not finite at step 2" in run["error"]
    assert run["step"] == 2 < run["total_steps"]                       # stopped, not trained on
    assert "learning_rate" in run["hint"]
    alerts = alerts_of(ids[1])
    show(alerts)
    assert [(a["kind"], a["level"]) for a in alerts] == [("loss_nonfinite", "error")]
    assert "loss nan" in alerts[0]["text"]
    wait_until(lambda: {r["kind"] for r in received} >= {"run_done", "loss_nonfinite"}, timeout=30,
               what="the webhook's posts")
    assert next(r for r in received if r["kind"] == "loss_nonfinite")["run_id"] == ids[1]


def test_a_failed_run_alerts_once_and_its_dependents_stay_quiet(env):
    tmp_path, store = env
    ids = launch(write_config(tmp_path, "bad", data={"train": str(bad_offset_data(tmp_path)), "languages": ["en"],
                                                     "ntl": 0}), "--no-scheduler")
    run_queue(store)  # the sample fails in its data check; the scheduler ends the two runs after it
    for run_id in ids:
        assert store.get_run(run_id)["status"] == "failed"
    alerts = alerts_of()
    show(alerts)
    assert [(a["run_id"], a["kind"], a["level"]) for a in alerts] == [(ids[0], "run_failed", "error")]
    listing = CliRunner().invoke(main, ["list"]).output
    assert "1!" in listing                                           # the badge of the failed run


@pytest.mark.slow  # real scheduler and worker processes, or whole trainings
def test_a_collapsing_coefficient_and_a_finished_sweep(env, webhook, monkeypatch):
    tmp_path, store = env
    url, received = webhook
    monkeypatch.setenv("XLQA_ALERT_WEBHOOK", url)
    path = write_config(tmp_path, "floor", train={"epochs": 1}, eval={"suites": []},
                        alerts={"coef_windows": 2})
    # a floor above every window mean of w: the watch sees the collapse the no-CE ablation would cause
    result = CliRunner().invoke(main, ["sweep", str(path), "--grid", "alerts.coef_floor=0.99", "--name", "floor"])
    assert result.exit_code == 0, result.output
    runs = sorted(r["id"] for r in store.list_runs())
    for run_id in runs:
        assert wait_for(store, run_id, TERMINAL)["status"] == "done"
    alerts = alerts_of()
    show(alerts)
    assert [a["kind"] for a in alerts] == ["run_done", "coef_collapse", "run_done", "sweep_done"]
    collapse = alerts[1]
    assert collapse["level"] == "warning" and collapse["run_id"] == runs[1]
    assert "under 0.99 for 2 logging windows" in collapse["text"]
    assert alerts[3]["text"] == "sweep 'floor' ended: 2 done of 2 runs"
    wait_until(lambda: len(received) == 4, timeout=30, what="the webhook's posts")
    assert sorted(r["id"] for r in received) == [a["id"] for a in alerts]


@pytest.mark.slow  # real scheduler and worker processes, or whole trainings
def test_a_stopped_worker_warns_of_its_stale_heartbeat_then_is_lost(env, monkeypatch):
    tmp_path, store = env
    monkeypatch.setenv("XLQA_HEARTBEAT_STALE_S", "8")
    monkeypatch.setenv("XLQA_HEARTBEAT_WARN_S", "3")
    ids = launch(slow_config(tmp_path, "stopped", epochs=4))
    train = ids[1]
    wait_until(lambda: store.get_run(train)["step"] >= 10, what="step 10")
    os.kill(store.get_run(train)["pid"], signal.SIGSTOP)
    wait_until(lambda: "heartbeat_stale" in [a["kind"] for a in store.alerts(train)], timeout=30,
               what="the stale heartbeat's warning")
    assert store.get_run(train)["status"] == "running"                # warned while it may still recover
    assert wait_for(store, train, TERMINAL, timeout=30)["status"] == "lost"
    alerts = alerts_of(train)
    show(alerts)
    assert [(a["kind"], a["level"]) for a in alerts] == [("heartbeat_stale", "warning"), ("run_lost", "error")]
    assert "no heartbeat for" in alerts[0]["text"] and "marked lost at 8 s" in alerts[0]["text"]
    assert "was killed" in alerts[1]["text"]


@pytest.mark.slow  # a real `xlqa-run alerts -f` process
def test_alerts_follow_prints_each_new_alert_as_it_is_raised(env):
    import queue
    import subprocess
    import sys
    import threading
    tmp_path, store = env
    run = store.create_run(store.create_experiment("followed"), "sample", {}, output_dir=str(tmp_path / "r"))
    store.finish(run, "done")
    proc = subprocess.Popen([sys.executable, "-m", "engine.cli", "alerts", "-f", "--json"], stdout=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    try:
        assert json.loads(lines.get(timeout=60))["kind"] == "run_done"          # the alerts so far
        store.add_alert(run, "heartbeat_stale", "run 1: no heartbeat for 16 s")
        followed = json.loads(lines.get(timeout=60))                            # then each new one
        assert followed["kind"] == "heartbeat_stale" and followed["level"] == "warning"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
