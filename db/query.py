"""Read-only SQL for users: `xlqa-run query "SELECT ..."`. Read-only by construction, not by inspecting the
statement: SQLite is opened with mode=ro, PostgreSQL runs the statement in a READ ONLY transaction, so any
write (INSERT, UPDATE, DDL, a write hidden in a CTE) is refused by the database itself."""

from __future__ import annotations

from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError, StatementError

from db.session import StoreError, normalize_url, sqlite_path

VIEWS = {
    "v_runs": "every run with its experiment, seed and key hyperparameters (ntl, temperature, coefficient, ...)",
    "v_cells": "every evaluation cell with its run's experiment and seed; same_language = 1 for XLT cells",
    "v_gxlt": "per run, suite, checkpoint and step: G-XLT F1 (all cells), G-XLT cross, XLT, cell count",
    "v_best_gxlt": "finished evaluate runs: their G-XLT numbers with ntl, temperature, coefficient, seed",
    "v_question_scores": "every question of every cell (em 0/1, f1 0..1) with its run's experiment and seed",
}


class QueryRefused(StoreError):
    pass


def read_only_engine(url: str):
    url = normalize_url(url)
    path = sqlite_path(url)
    if path is not None:
        if not path.exists():
            raise StoreError(f"no database at {path}")
        return create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    return create_engine(url)


def run_query(url: str, sql: str, limit: int | None = None) -> tuple[list[str], list[tuple]]:
    """(column names, rows) of one statement, executed where the database cannot be written."""
    engine = read_only_engine(url)
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            result = conn.execute(text(sql))
            if not result.returns_rows:
                raise QueryRefused("refused: the statement returns no rows (xlqa-run query only reads)")
            columns = list(result.keys())
            rows = [tuple(r) for r in (result.fetchmany(limit) if limit else result.fetchall())]
            conn.rollback()
            return columns, rows
    except (DBAPIError, StatementError) as e:
        message = str(getattr(e, "orig", e)).splitlines()[0]
        if any(w in message.lower() for w in ("readonly", "read-only", "read only")):
            raise QueryRefused(f"refused: xlqa-run query is read-only, and the database refused to write ({message})") from e
        raise StoreError(f"query failed: {message}") from e
    finally:
        engine.dispose()
