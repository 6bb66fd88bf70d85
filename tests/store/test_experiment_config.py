"""An experiment's config is stored once, with its hash; its runs keep only what they override, and every read
hands back the full config, for launched experiments and for those of an older database alike."""

import copy
import json

import sqlalchemy as sa
from alembic import command
from sqlalchemy import create_engine, text

from db import Store
from db.migrate import alembic_config
from engine.config import config_hash, rebuild_config
from engine.jobs.launch import plan
from engine.testing import tiny_config


def raw(url: str, sql: str) -> list[tuple]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(text(sql))]
    engine.dispose()
    return rows


def loaded(value):
    return json.loads(value) if isinstance(value, str) else value


def test_a_launched_experiment_stores_its_config_once_and_its_runs_read_it_back_full(store_url, tmp_path):
    store = Store(store_url)
    cfg = tiny_config("distill", distill={"temperature": 3.0})
    cfg.output_dir = str(tmp_path / "runs")
    full = cfg.to_dict()
    ids = plan(store, cfg)
    assert len(ids) == 3
    [(exp_id, exp_config, exp_hash)] = raw(store_url, "SELECT id, config, config_hash FROM experiment")
    assert (loaded(exp_config), exp_hash) == (full, config_hash(full))
    # the rows hold only overrides: no run row repeats the config
    assert [loaded(c) for (c,) in raw(store_url, "SELECT config FROM run ORDER BY id")] == [{}, {}, {}]
    for run_id in ids:
        assert store.get_run(run_id)["config"] == full
    assert [r["config"] for r in store.all_runs()] == [full] * 3
    assert [r["config"] for r in store.list_runs()] == [full] * 3
    assert [r["config"] for r in store.ready_runs()] == [full]
    assert [r["config"] for r in store.runs_with_status("queued")] == [full] * 3
    # a run that overrides a field reads back its own full config, as engine.config rebuilds it
    teacher = str(tmp_path / "teacher" / "best")
    other = store.create_run(exp_id, "evaluate", {"model.init_from": teacher}, output_dir=str(tmp_path / "e"))
    assert store.get_run(other)["config"] == rebuild_config(full, {"model.init_from": teacher})
    assert store.get_run(other)["config"]["model"]["init_from"] == teacher
    assert store.get_run(ids[0])["config"]["model"]["init_from"] == full["model"]["init_from"]
    assert store.request_cancel(other)["config"] == store.get_run(other)["config"]
    # the SQL views read a run's fields through its experiment's config
    assert {float(t) for (t,) in raw(store_url, "SELECT temperature FROM v_runs")} == {3.0}


def database_at_0006(url: str, experiments: dict[int, list[dict]]) -> None:
    """A database as xlqa left it at 0006_run_sweep: every run row holding its full config."""
    engine = create_engine(url)
    experiment = sa.table("experiment", sa.column("id", sa.Integer), sa.column("name", sa.String),
                          sa.column("created_at", sa.DateTime), sa.column("notes", sa.Text), sa.column("tags", sa.String))
    run = sa.table("run", *(sa.column(n, sa.String) for n in ("kind", "status", "devices", "assigned_devices", "host",
                                                               "error", "hint", "output_dir", "git_commit", "executor",
                                                               "external_id", "sweep")),
                   *(sa.column(n, sa.Integer) for n in ("id", "experiment_id", "step", "total_steps", "seed", "attempt")),
                   *(sa.column(n, sa.Boolean) for n in ("cancel_requested", "resume")),
                   sa.column("config", sa.JSON), sa.column("versions", sa.JSON), sa.column("created_at", sa.DateTime))
    with engine.begin() as conn:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0006_run_sweep")
        run_id = 0
        for exp_id, configs in experiments.items():
            conn.execute(experiment.insert().values(id=exp_id, name=f"e{exp_id}", created_at=sa.func.now(), notes="",
                                                    tags=""))
            for config in configs:
                run_id += 1
                conn.execute(run.insert().values(
                    id=run_id, experiment_id=exp_id, kind="distill", status="done", config=config, devices="",
                    assigned_devices="", host="h", error="", hint="", output_dir=f"/runs/{run_id}", git_commit="",
                    executor="local", external_id="", sweep=config.get("sweep", ""), step=0, total_steps=0, seed=0,
                    attempt=0, cancel_requested=False, resume=False, versions={}, created_at=sa.func.now()))
    engine.dispose()


def test_an_older_database_moves_each_experiments_config_out_of_its_runs_and_reads_every_run_back_identical(store_url):
    base = tiny_config("distill").to_dict()
    base["eval"]["suite_languages"] = {"mlqa": ["en", "de"], "xquad": ["en"]}
    init_from = copy.deepcopy(base)
    init_from["model"]["init_from"] = "/runs/teacher/best"
    dropped = copy.deepcopy(base)   # a table-valued field with an entry deleted: one value, kept whole
    dropped["eval"]["suite_languages"] = {"mlqa": ["en", "de"]}
    hand_made = [{"train": {"seed": 3}}, {"sweep": "grid-T", "grid_point": "T=2"}]   # not expressible as overrides
    experiments = {1: [base, init_from, dropped], 2: hand_made}
    database_at_0006(store_url, experiments)
    store = Store(store_url)   # upgrades to the head revision
    expected = [c for configs in experiments.values() for c in configs]
    assert [store.get_run(i)["config"] for i in range(1, 6)] == expected
    assert [r["config"] for r in store.all_runs()] == expected
    assert [r["config"] for r in store.list_runs(descending=False)] == expected
    exps = {i: (loaded(c), h) for i, c, h in raw(store_url, "SELECT id, config, config_hash FROM experiment")}
    assert exps == {1: (base, config_hash(base)), 2: (None, None)}
    rows = [loaded(c) for (c,) in raw(store_url, "SELECT config FROM run ORDER BY id")]
    assert rows == [{}, {"model.init_from": "/runs/teacher/best"}, {"eval.suite_languages": {"mlqa": ["en", "de"]}},
                    *hand_made]
    assert store.get_run(2)["sweep"] == "" and store.get_run(5)["sweep"] == "grid-T"
    temps = dict(raw(store_url, "SELECT run_id, temperature FROM v_runs"))
    assert {i: None if t is None else float(t) for i, t in temps.items()} == {
        1: base["distill"]["temperature"], 2: base["distill"]["temperature"], 3: base["distill"]["temperature"],
        4: None, 5: None}


def test_a_downgrade_puts_the_full_config_back_into_every_run_row(store_url, tmp_path):
    store = Store(store_url)
    full = tiny_config("distill").to_dict()
    exp = store.create_experiment("e", config=full, config_hash=config_hash(full))
    store.create_run(exp, "sample", {}, output_dir=str(tmp_path / "s"))
    store.create_run(exp, "evaluate", {"model.init_from": "/t/best"}, output_dir=str(tmp_path / "e"))
    expected = [store.get_run(1)["config"], store.get_run(2)["config"]]
    store.engine.dispose()
    engine = create_engine(store_url)
    with engine.begin() as conn:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0006_run_sweep")
    engine.dispose()
    assert [loaded(c) for (c,) in raw(store_url, "SELECT config FROM run ORDER BY id")] == expected
    assert expected[1]["model"]["init_from"] == "/t/best"
