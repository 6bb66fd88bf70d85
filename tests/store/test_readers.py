"""The readers the README promises, each against `xlqa-run matrix --json` of one evaluate run: pandas read_sql on
the views, the sqlite3 shell on a live WAL database and on its `.backup` copy, DuckDB and polars on the
Parquet export. A reader that is not installed skips with a reason (CI requires the sqlite3 shell:
XLQA_REQUIRE_SQLITE3=1, .ci/chromium.sh installs it)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli import main
from tests.tui_fixtures import filled_store

RUN = 3  # filled_store's evaluate run: 49 cells of mlqa-dev at its best checkpoint
SUMMARY_SQL = "SELECT xlt_f1, gxlt_f1, gxlt_cross_f1 FROM v_gxlt WHERE run_id = 3 AND checkpoint = 'best'"
CELLS_SQL = ("SELECT lang_q, lang_c, n, exact_match, f1 FROM v_cells WHERE run_id = 3 AND checkpoint = 'best' "
             "ORDER BY lang_q, lang_c")


def matrix_json(url: str) -> dict:
    out = CliRunner().invoke(main, ["matrix", str(RUN), "--json", "--db", url])
    assert out.exit_code == 0, out.output
    return json.loads(out.output)


def expected(matrix: dict) -> tuple[list[tuple], tuple[float, float, float]]:
    cells = sorted((c["lang_q"], c["lang_c"], c["n"], c["exact_match"], c["f1"]) for c in matrix["cells"])
    s = matrix["summary"]
    return cells, (s["xlt"], s["g_xlt"], s["g_xlt_cross"])


def same_numbers(cells, summary, matrix: dict) -> None:
    want_cells, want_summary = expected(matrix)
    assert [tuple(c) for c in cells] == want_cells
    assert summary == pytest.approx(want_summary, abs=1e-9)


def sqlite3_shell() -> str:
    found = shutil.which("sqlite3")
    if found:
        return found
    if os.environ.get("XLQA_REQUIRE_SQLITE3"):
        pytest.fail("XLQA_REQUIRE_SQLITE3 is set and the sqlite3 shell is not on PATH (apt-get install sqlite3)")
    pytest.skip("no sqlite3 shell on PATH: apt-get install sqlite3 runs this reader")


def shell_rows(db: Path, sql: str) -> list[dict]:
    done = subprocess.run([sqlite3_shell(), "-json", str(db), sql], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout or "[]")


@pytest.fixture
def sqlite_db(tmp_path):
    """A filled SQLite store, kept open (its WAL not yet checkpointed into the file: a live database)."""
    db = tmp_path / "xlqa.db"
    store = filled_store(f"sqlite:///{db}")
    yield db, store
    store.engine.dispose()


def test_pandas_read_sql_on_the_views(store_url):
    pd = pytest.importorskip("pandas", reason="pandas is the reader under test (pip install pandas)")
    store = filled_store(store_url)
    cells = pd.read_sql(CELLS_SQL, store.engine)
    summary = pd.read_sql(SUMMARY_SQL, store.engine)
    assert len(summary) == 1
    same_numbers(cells.itertuples(index=False, name=None), tuple(summary.iloc[0]), matrix_json(store_url))


def test_the_sqlite3_shell_on_a_live_wal_database_and_on_a_backup_copy(sqlite_db, tmp_path):
    db, _store = sqlite_db
    wal = Path(f"{db}-wal")
    assert wal.exists() and wal.stat().st_size > 0          # the rows are still in the WAL: a live database
    matrix = matrix_json(str(db))
    for path in (db, tmp_path / "copy.db"):
        if path != db:  # the copy SQLite's docs recommend for a live WAL database
            done = subprocess.run([sqlite3_shell(), str(db), f".backup {path}"], capture_output=True, text=True,
                                  timeout=60)
            assert done.returncode == 0 and not Path(f"{path}-wal").exists(), done.stderr
        cells = [(r["lang_q"], r["lang_c"], r["n"], r["exact_match"], r["f1"]) for r in shell_rows(path, CELLS_SQL)]
        [summary] = shell_rows(path, SUMMARY_SQL)
        same_numbers(cells, (summary["xlt_f1"], summary["gxlt_f1"], summary["gxlt_cross_f1"]), matrix)


@pytest.fixture
def parquet(sqlite_db, tmp_path):
    pytest.importorskip("pyarrow", reason="the Parquet export needs pyarrow (pip install 'xlqa[parquet]')")
    db, _ = sqlite_db
    path = tmp_path / f"run{RUN}.parquet"
    out = CliRunner().invoke(main, ["export", str(RUN), "--format", "parquet", "-o", str(path), "--db", str(db)])
    assert out.exit_code == 0, out.output
    return path, matrix_json(str(db))


def test_duckdb_on_the_parquet_export(parquet):
    duckdb = pytest.importorskip("duckdb", reason="DuckDB is the reader under test (pip install duckdb)")
    path, matrix = parquet
    con = duckdb.connect()
    types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM '{path}')").fetchall())
    assert types == {"run_id": "BIGINT", "kind": "VARCHAR", "key": "VARCHAR", "step": "BIGINT", "value": "DOUBLE",
                     "suite": "VARCHAR", "lang_q": "VARCHAR", "lang_c": "VARCHAR"}
    cells = con.execute(f"""
        SELECT lang_q, lang_c, ANY_VALUE(value) FILTER (key = 'exact_match'), ANY_VALUE(value) FILTER (key = 'f1')
        FROM '{path}' WHERE kind = 'eval' GROUP BY lang_q, lang_c ORDER BY lang_q, lang_c""").fetchall()
    summary = con.execute(f"""
        SELECT AVG(value) FILTER (lang_q = lang_c), AVG(value), AVG(value) FILTER (lang_q <> lang_c)
        FROM '{path}' WHERE kind = 'eval' AND key = 'f1'""").fetchone()
    want_cells, want_summary = expected(matrix)
    assert cells == [(q, c, em, f1) for q, c, _n, em, f1 in want_cells]
    assert summary == pytest.approx(want_summary, abs=1e-9)


def test_polars_on_the_parquet_export(parquet):
    pl = pytest.importorskip("polars", reason="polars is the reader under test (pip install polars)")
    path, matrix = parquet
    frame = pl.read_parquet(path)
    assert dict(frame.schema) == {"run_id": pl.Int64, "kind": pl.String, "key": pl.String, "step": pl.Int64,
                                  "value": pl.Float64, "suite": pl.String, "lang_q": pl.String, "lang_c": pl.String}
    f1 = frame.filter((pl.col("kind") == "eval") & (pl.col("key") == "f1"))
    same_language = pl.col("lang_q") == pl.col("lang_c")
    summary = (f1.filter(same_language)["value"].mean(), f1["value"].mean(), f1.filter(~same_language)["value"].mean())
    cells = (frame.filter(pl.col("kind") == "eval").pivot(on="key", index=["lang_q", "lang_c"], values="value")
             .sort("lang_q", "lang_c").select("lang_q", "lang_c", "exact_match", "f1").rows())
    want_cells, want_summary = expected(matrix)
    assert cells == [(q, c, em, f1) for q, c, _n, em, f1 in want_cells]
    assert summary == pytest.approx(want_summary, abs=1e-9)
