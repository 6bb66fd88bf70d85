"""Alerts in the store and on their way out: each status change raises its alert in its own transaction, a
sweep says once that it ended, the badge counts warnings and errors, the coefficient watch fires once per
collapse, and the notifier posts to a real loopback webhook and runs a real command."""

import json
import sys

import pytest

from db import Store
from db.states import ALERT_KINDS, ALERT_LEVELS
from engine.jobs.notify import Notifier, attach
from engine.jobs.watch import CoefCollapseWatch


@pytest.fixture
def store(store_url):
    return Store(store_url)


def new_run(store, tmp_path, sweep=""):
    exp = store.create_experiment("exp")
    return store.create_run(exp, "distill", {}, output_dir=str(tmp_path), sweep=sweep)


def kinds(store, run_id=None):
    return [a["kind"] for a in store.alerts(run_id)]


def test_ending_a_run_raises_its_alert_with_the_error_and_the_hook_gets_it_after(store, tmp_path):
    got = []
    store.alert_hook = got.extend
    failed, done, blocked, cancelled = (new_run(store, tmp_path) for _ in range(4))
    store.finish(failed, "failed", error="Traceback (most recent call last):\n  ...\nValueError: bad offset\n",
                 attempt=None)
    store.finish(done, "done")
    store.finish(blocked, "failed", error="run 1 it depends on is failed", alert=False)
    store.finish(cancelled, "cancelled")
    alerts = store.alerts()
    assert [(a["run_id"], a["kind"], a["level"]) for a in alerts] == [(failed, "run_failed", "error"),
                                                                     (done, "run_done", "info")]
    assert alerts[0]["text"] == f"run {failed} (distill of 'exp') failed: ValueError: bad offset"
    assert got == alerts


def test_an_attempt_that_lost_its_run_raises_nothing(store, tmp_path):
    run = new_run(store, tmp_path)
    attempt = store.claim(run)
    assert store.mark_lost(run, attempt, error="no heartbeat for 31 s", hint="resume")
    assert not store.finish(run, "failed", error="late", attempt=attempt)   # the old worker's end is refused
    assert kinds(store) == ["run_lost"] and "lost: no heartbeat for 31 s" in store.alerts()[0]["text"]


def test_a_sweep_says_once_that_it_ended(store, tmp_path):
    a, b = new_run(store, tmp_path, "grid"), new_run(store, tmp_path, "grid")
    other = new_run(store, tmp_path)
    store.finish(a, "done")
    assert "sweep_done" not in kinds(store)                  # b is still queued
    store.finish(other, "done")
    store.finish(b, "failed", error="x")
    sweep = [x for x in store.alerts() if x["kind"] == "sweep_done"]
    assert len(sweep) == 1 and sweep[0]["run_id"] == b
    assert sweep[0]["text"] == "sweep 'grid' ended: 1 done, 1 failed of 2 runs"


def test_once_since_and_the_badge_of_warnings_and_errors(store, tmp_path):
    from db.tables import utcnow
    run, quiet = new_run(store, tmp_path), new_run(store, tmp_path)
    since = utcnow()
    assert store.add_alert(run, "heartbeat_stale", "no heartbeat for 16 s", once_since=since)
    assert store.add_alert(run, "heartbeat_stale", "no heartbeat for 17 s", once_since=since) is None
    store.finish(run, "failed", error="x")
    store.finish(quiet, "done")
    assert store.alert_badges([run, quiet]) == {run: (2, "error")}        # info alerts make no badge
    listed = {r["id"]: r for r in store.list_runs()}
    assert (listed[run]["alerts"], listed[run]["alert_level"]) == (2, "error")
    assert (listed[quiet]["alerts"], listed[quiet]["alert_level"]) == (0, None)
    assert kinds(store, run) == ["heartbeat_stale", "run_failed"]
    assert [a["kind"] for a in store.alerts(min_level="error")] == ["run_failed"]
    assert [a["kind"] for a in store.alerts(limit=1)] == ["run_done"]     # the newest one
    store.delete_run(run)
    assert kinds(store) == ["run_done"]


def test_every_kind_has_a_known_level():
    assert set(ALERT_KINDS.values()) <= set(ALERT_LEVELS)


def test_the_coefficient_watch_fires_once_per_collapse():
    raised = []
    watch = CoefCollapseWatch(lambda kind, text: raised.append((kind, text)), floor=0.2, windows=3)
    for step, w in enumerate([0.5, 0.1, 0.1, 0.3, 0.1, 0.1, 0.1, 0.05, 0.02]):   # 2 under, recovered, then 5
        watch.log_metrics(step, {"coef": w, "loss": 1.0})
        watch.log_metrics(step, {"coef": 0.0}, context="en-de")                 # a pair's value is not the mean
    assert [k for k, _ in raised] == ["coef_collapse"] and "at step 6" in raised[0][1]
    off = CoefCollapseWatch(lambda *a: raised.append(a), floor=0.0, windows=1)
    off.log_metrics(1, {"coef": 0.0})
    assert len(raised) == 1


def test_the_notifier_posts_json_runs_a_command_and_filters_by_level(store, tmp_path, webhook, monkeypatch):
    url, received = webhook
    out = tmp_path / "command.out"
    monkeypatch.setenv("XLQA_ALERTS_CONFIG", str(tmp_path / "alerts.toml"))
    (tmp_path / "alerts.toml").write_text(f'webhook = "{url}"\nmin_level = "warning"\ntimeout_s = 5\n')
    monkeypatch.setenv("XLQA_ALERT_COMMAND", f'{sys.executable} -c "import sys; open(sys.argv[1], \'a\').write('
                                             f'sys.stdin.read() + chr(10))" {out}')
    attach(store)
    sent = []
    hook = store.alert_hook
    store.alert_hook = lambda alerts: sent.append(hook(alerts))
    run = new_run(store, tmp_path)
    store.finish(new_run(store, tmp_path), "done")                         # info: under min_level
    store.finish(run, "failed", error="ValueError: boom")
    threads = [t for t in sent if t is not None]
    assert len(threads) == 1
    threads[0].join(timeout=30)
    assert [r["kind"] for r in received] == ["run_failed"]
    body = received[0]
    assert body["run_id"] == run and body["level"] == "error" and body["text"].endswith("failed: ValueError: boom")
    assert body["created_at"].endswith("Z") and body["host"]
    assert json.loads(out.read_text()) == body                             # the command got the same JSON


def test_a_dead_webhook_is_tried_once_and_never_raises(store, tmp_path, capfd):
    notifier, sent = Notifier(webhook="http://127.0.0.1:9/nothing-listens", timeout_s=2), []
    store.alert_hook = lambda alerts: sent.append(notifier.send(alerts))
    assert store.finish(new_run(store, tmp_path), "done")     # the status change itself succeeds
    sent[0].join(timeout=10)
    assert "not sent to the webhook" in capfd.readouterr().err


def test_two_runs_of_a_sweep_ending_at_once_raise_one_sweep_done(store, tmp_path):
    """On PostgreSQL two transactions each see the other's run still running unless they take turns."""
    import threading
    for trial in range(10):
        sweep = f"grid{trial}"
        ids = [new_run(store, tmp_path, sweep) for _ in range(2)]
        attempts = [store.claim(i) for i in ids]
        start = threading.Barrier(2)

        def end(run_id, attempt, start=start):
            start.wait()
            store.finish(run_id, "done", attempt=attempt)
        threads = [threading.Thread(target=end, args=pair) for pair in zip(ids, attempts)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        done = [a for a in store.alerts(limit=None) if a["kind"] == "sweep_done" and f"'{sweep}'" in a["text"]]
        assert len(done) == 1, f"trial {trial}: {len(done)} sweep_done alerts"
