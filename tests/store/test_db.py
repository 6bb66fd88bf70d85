"""The database: schema versions and upgrades, and every way opening one can go wrong, in one line."""

import json
import os
import sqlite3
from datetime import datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from db import Store
from db.migrate import SCHEMA_DIR, V0_1_0, alembic_config, current_revision, head_revision, schema_sql
from db.models import Base
from db.session import StoreError
from engine.cli import main

NOW = datetime(2026, 1, 2, 3, 4, 5)


def v0_1_0_database(url: str) -> None:
    """A database as xlqa 0.1.0 (commit df84b0e) left it: its tables, no version row, some rows in each."""
    engine = create_engine(url)
    with engine.begin() as conn:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, V0_1_0)
        conn.execute(text("DROP TABLE alembic_version"))
        conn.execute(text("INSERT INTO experiment (id, name, created_at, notes, tags) VALUES (1, 'old', :t, '', '')"), {"t": NOW})
        conn.execute(text(
            "INSERT INTO run (id, experiment_id, kind, status, config, devices, assigned_devices, host, created_at, "
            "step, total_steps, cancel_requested, resume, error, hint, output_dir, git_commit, versions, seed) VALUES "
            "(1, 1, 'distill', 'done', '{\"train\": {\"seed\": 3}}', '', '', 'h', :t, 40, 40, false, false, '', '', "
            "'/runs/x', 'df84b0e', '{}', 3)"), {"t": NOW})
        conn.execute(text("INSERT INTO metric (run_id, key, context, step, value, wall_time) VALUES "
                          "(1, 'loss', '', 10, 2.5, :t), (1, 'loss', '', 20, 1.5, :t)"), {"t": NOW})
        conn.execute(text("INSERT INTO metric_summary (run_id, key, context, last_step, last_value, best_value, best_step) "
                          "VALUES (1, 'loss', '', 20, 1.5, 1.5, 20)"))
        conn.execute(text("INSERT INTO histogram (run_id, key, step, generation, bin_edges, counts, percentiles) VALUES "
                          "(1, 'coef_generation', 0, 0, '[0, 1]', '[4]', '{}')"))
        conn.execute(text("INSERT INTO pair_stat (run_id, generation, key, lang_q, lang_c, mean, n) VALUES "
                          "(1, 0, 'teacher_coef', 'en', 'de', 0.5, 4)"))
        conn.execute(text("INSERT INTO eval_cell (run_id, step, checkpoint, suite, split, lang_q, lang_c, n, exact_match, f1) "
                          "VALUES (1, 40, 'best', 'mlqa-dev', '', 'en', 'de', 10, 30.0, 45.5)"))
        conn.execute(text("INSERT INTO artifact (run_id, kind, path, step, bytes) VALUES (1, 'best', '/runs/x/best', 40, 7)"))
        conn.execute(text("INSERT INTO scheduler_lease (id, holder, pid, heartbeat_at) VALUES (1, 'h:1', 1, :t)"), {"t": NOW})
    engine.dispose()


def test_a_v0_1_0_database_is_upgraded_on_open_and_keeps_every_row(store_url, tmp_path):
    v0_1_0_database(store_url)
    store = Store(store_url)
    assert current_revision(store.engine) == head_revision()
    run = store.get_run(1)
    assert (run["kind"], run["status"], run["seed"], run["config"], run["attempt"]) == ("distill", "done", 3, {"train": {"seed": 3}}, 0)
    assert store.metric_series(1, "loss") == [(10, 2.5), (20, 1.5)]
    assert store.summary(1)["loss"]["best_value"] == 1.5
    assert store.histograms(1, "coef_generation")[0]["counts"] == [4]
    assert store.pair_stats(1, generation=0)[0]["mean"] == 0.5
    assert store.eval_cells(1)[0]["f1"] == 45.5
    assert store.artifacts(1)[0]["path"] == "/runs/x/best"
    assert [r["id"] for r in store.list_runs()] == [1]
    if store_url.startswith("sqlite"):  # the file as it was is kept beside it
        path = store_url.split(":///", 1)[1]
        assert os.path.exists(f"{path}.{V0_1_0}.bak")


def test_an_older_runs_sweep_moves_from_its_config_to_the_indexed_column(store_url):
    """0006_run_sweep fills run.sweep from each existing run's config, so sweeps are listed without the JSON."""
    v0_1_0_database(store_url)
    engine = create_engine(store_url)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO run (id, experiment_id, kind, status, config, devices, assigned_devices, host, created_at, "
            "step, total_steps, cancel_requested, resume, error, hint, output_dir, git_commit, versions, seed) VALUES "
            "(2, 1, 'sample', 'done', '{\"sweep\": \"grid-T\", \"grid_point\": \"T=2\"}', '', '', 'h', :t, 0, 0, "
            "false, false, '', '', '/runs/y', 'df84b0e', '{}', 0)"), {"t": NOW})
    engine.dispose()
    store = Store(store_url)
    assert (store.get_run(1)["sweep"], store.get_run(2)["sweep"]) == ("", "grid-T")
    assert store.sweep_counts() == {"grid-T": {"done": 1}}
    assert [r["id"] for r in store.all_runs(sweep="grid-T")] == [2]


def test_migrations_build_exactly_the_models(store_url):
    """Upgrading from v0.1.0 gives the schema the models describe: a model change without a migration fails."""
    v0_1_0_database(store_url)
    Store(store_url)
    engine = create_engine(store_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    engine.dispose()
    assert diff == []


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_the_committed_schema_dump_is_current(dialect):
    """db/schema/*.sql is the reviewed schema: regenerate it with `python -m db.migrate --dump`."""
    assert (SCHEMA_DIR / f"{dialect}.sql").read_text() == schema_sql(dialect)


def test_a_database_of_a_newer_xlqa_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 'new.db'}"
    Store(url)
    con = sqlite3.connect(tmp_path / "new.db")
    con.execute("UPDATE alembic_version SET version_num = '0099_future'")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="made by a newer xlqa"):
        Store(url)


def test_db_upgrade_and_current_commands(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    v0_1_0_database(url)
    runner = CliRunner()
    assert runner.invoke(main, ["db", "current", "--db", url]).output.startswith(V0_1_0)
    result = runner.invoke(main, ["db", "upgrade", "--db", url])
    assert result.exit_code == 0 and f"{V0_1_0} -> {head_revision()}" in result.output
    assert "already at" in runner.invoke(main, ["db", "upgrade", "--db", url]).output


@pytest.mark.parametrize("db, message", [
    ("foo://user@host/db", "unknown database type 'foo'"),
    ("postgresql+pg8000://u@localhost/x", "the driver for 'postgresql+pg8000' is not installed"),
    ("not a url://x", "is not a database URL"),
])
def test_bad_database_urls_end_in_one_line(db, message):
    result = CliRunner().invoke(main, ["list", "--db", db])
    assert result.exit_code == 2 and message in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_a_file_that_is_not_a_database(tmp_path):
    junk = tmp_path / "notes.db"
    junk.write_text("these are my notes, not a database\n" * 100)
    result = CliRunner().invoke(main, ["list", "--db", str(junk)])
    assert result.exit_code == 2 and "is not an SQLite database" in result.output
    assert junk.read_text().startswith("these are my notes")   # untouched


def test_a_folder_that_cannot_be_written(tmp_path, monkeypatch):
    folder = tmp_path / "ro"
    folder.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p).startswith(str(folder)) and mode == os.W_OK
                        else real_access(p, mode))  # as root chmod cannot forbid it, so the check is faked
    result = CliRunner().invoke(main, ["list", "--db", str(folder / "new.db")])
    assert result.exit_code == 2 and "folder is not writable" in result.output


def fill(path):
    store = Store(str(path))
    exp = store.create_experiment("e")
    run = store.create_run(exp, "distill", {"train": {"seed": 1}}, output_dir="/nonexistent/run")
    store.write_batch(run, metrics=[("loss", "", 1, 2.0, None)])
    store.engine.dispose()
    return run


def test_a_read_only_database_can_still_be_read(tmp_path, monkeypatch):
    """A database on a read-only mount, or `?mode=ro`: no journal-mode change at open, reads work, writes say why."""
    path = tmp_path / "shared" / "xlqa.db"
    path.parent.mkdir()
    run = fill(path)
    for url in (f"sqlite:///file:{path}?mode=ro&uri=true", str(path)):
        if url == str(path):  # the mount case: neither the file nor its folder can be written
            real_access = os.access
            monkeypatch.setattr(os, "access", lambda p, mode, real_access=real_access: False if str(p).startswith(str(path.parent)) and mode == os.W_OK
                                else real_access(p, mode))
        store = Store(url)
        assert store.read_only and store.metric_series(run, "loss") == [(1, 2.0)]
        with pytest.raises(StoreError, match="read-only"):
            store.create_experiment("x")
        listing = CliRunner().invoke(main, ["list", "--db", url])
        assert listing.exit_code == 0 and "distill" in listing.output
        store.engine.dispose()


def test_a_copy_made_with_sqlite_backup_reads_the_same(tmp_path):
    run = fill(tmp_path / "live.db")
    src, dst = sqlite3.connect(tmp_path / "live.db"), sqlite3.connect(tmp_path / "copy.db")
    src.backup(dst)
    src.close(), dst.close()
    assert Store(str(tmp_path / "copy.db")).metric_series(run, "loss") == [(1, 2.0)]


def test_query_is_read_only_by_construction(tmp_path, store_url):
    """Reads work through the views; a write is refused by the database and changes nothing."""
    import hashlib
    store = Store(store_url)
    run = fill_pg_or_sqlite(store)
    runner = CliRunner()
    out = runner.invoke(main, ["query", "SELECT run_id, experiment, seed FROM v_runs ORDER BY run_id", "--json",
                               "--db", store_url])
    assert out.exit_code == 0 and json.loads(out.stdout) == [{"run_id": run, "experiment": "e", "seed": 0}]
    cells = runner.invoke(main, ["query", "SELECT suite, cells, gxlt_f1 FROM v_gxlt", "--csv", "--db", store_url])
    assert cells.stdout.splitlines() == ["suite,cells,gxlt_f1", "mlqa-dev,2,50.0"]
    piped = runner.invoke(main, ["query", "SELECT suite, cells, gxlt_f1 FROM v_gxlt", "--db", store_url])
    assert piped.stdout.splitlines() == ["suite\tcells\tgxlt_f1", "mlqa-dev\t2\t50.0"]  # not a terminal: whole values
    before = hashlib.sha256(open(store_url.split(":///")[1], "rb").read()).hexdigest() if store_url.startswith("sqlite") else None
    for sql in ("DELETE FROM run", "UPDATE run SET status = 'done'", "DROP VIEW v_runs",
                "WITH x AS (SELECT 1) INSERT INTO experiment (name, created_at, notes, tags) SELECT 'x', '2026-01-01', '', '' FROM x"):
        refused = runner.invoke(main, ["query", sql, "--db", store_url])
        assert refused.exit_code == 2 and "read-only" in refused.output, (sql, refused.output)
    assert store.get_run(run)["status"] == "queued" and len(store.list_runs()) == 1
    if before:
        assert hashlib.sha256(open(store_url.split(":///")[1], "rb").read()).hexdigest() == before


def fill_pg_or_sqlite(store):
    run = store.create_run(store.create_experiment("e"), "evaluate", {"distill": {"temperature": 2.0}},
                           output_dir="/nonexistent/run")
    store.write_batch(run, evals=[{"step": 0, "checkpoint": "best", "suite": "mlqa-dev", "split": "", "lang_q": q,
                                   "lang_c": c, "n": 1, "exact_match": 0.0, "f1": f1}
                                  for q, c, f1 in (("en", "en", 60.0), ("en", "de", 40.0))])
    store.engine.dispose()
    return run


def test_a_0007_database_gains_run_cost_and_v_runs_its_cost_columns(store_url):
    """0008_run_cost on a database of the previous schema: its runs stay, v_runs has the cost columns (NULL for
    runs measured by no one), a new cost row is summed there; downgrading gives 0007's v_runs back."""
    engine = create_engine(store_url)
    with engine.begin() as conn:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0007_experiment_config")
        conn.execute(text("INSERT INTO experiment (id, name, created_at, notes, tags) VALUES (1, 'old', :t, '', '')"),
                     {"t": NOW})
        conn.execute(text(
            "INSERT INTO run (id, experiment_id, kind, status, config, devices, assigned_devices, host, created_at, "
            "step, total_steps, cancel_requested, resume, error, hint, output_dir, git_commit, versions, seed, attempt, "
            "executor, external_id, sweep) VALUES (1, 1, 'distill', 'running', '{}', '', '', 'h', :t, 40, 40, false, false, "
            "'', '', '/runs/x', 'abc', '{}', 3, 1, 'local', '', '')"), {"t": NOW})
    store = Store(store_url)
    assert current_revision(store.engine) == head_revision() == "0009_alerts"   # 0008 and the alerts after it
    columns = "run_id, wall_s, device_s, train_s, optimizer_steps, cost_attempts"
    with engine.connect() as conn:
        assert conn.execute(text(f"SELECT {columns} FROM v_runs")).all() == [(1, None, None, None, None, None)]
    store.write_batch(1, costs=[{"stage": "train", "seconds": 8.0, "devices": 2, "device_seconds": 16.0,
                                 "device": "cpu", "peak_device_gb": None, "peak_host_gb": 1.5, "features": 9,
                                 "steps": 4}], attempt=1)
    with engine.connect() as conn:
        assert conn.execute(text(f"SELECT {columns} FROM v_runs")).all() == [(1, 8.0, 16.0, 8.0, 4, 1)]
        assert conn.execute(text("SELECT COUNT(*) FROM v_best_gxlt")).scalar() == 0   # the views over it stand
    store.engine.dispose()
    with engine.begin() as conn:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0007_experiment_config")
    with engine.connect() as conn:
        names = set(conn.execute(text("SELECT * FROM v_runs")).keys())
        assert "run_id" in names and "wall_s" not in names
    engine.dispose()
