"""Schema versions (Alembic): a new database is created at the newest revision; one made by an older xlqa
is upgraded when it is opened (SQLite: after a copy of the file is kept beside it), or, when it cannot be
written, the error names `xlqa-run db upgrade`.

    python -m db.migrate --dump      # rewrite db/schema/{sqlite,postgresql}.sql from the tables (db/tables.py)
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from sqlalchemy import create_engine, inspect, pool, text
from sqlalchemy.engine import Engine

from db.session import StoreError, sqlite_path
from db.tables import metadata

__all__ = ["current_revision", "ensure_schema", "head_revision", "schema_sql", "upgrade"]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SCHEMA_DIR = Path(__file__).resolve().parent / "schema"
V0_1_0 = "0001_v0_1_0"


def alembic_config():
    from alembic.config import Config  # alembic is imported only when a schema must change or be inspected
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory
    return {s.revision for s in ScriptDirectory.from_config(alembic_config()).walk_revisions()}


def current_revision(engine: Engine) -> str | None:
    """The database's revision; v0.1.0 databases (made before migrations existed) have tables but none."""
    from alembic.runtime.migration import MigrationContext
    with engine.connect() as conn:
        revision = MigrationContext.configure(conn).get_current_revision()
        if revision is None and "run" in inspect(conn).get_table_names():
            return V0_1_0
        return revision


_REVISION = re.compile(r"^(down_revision|revision)\s*=\s*['\"]?([\w.-]+|None)['\"]?", re.M)


def head_of_files() -> str | None:
    """The head revision read from the migration files themselves: the one no other file names as its parent."""
    revisions, parents = set(), set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        found = dict((k, v) for k, v in _REVISION.findall(path.read_text(encoding="utf-8")))
        revisions.add(found.get("revision"))
        parents.add(found.get("down_revision"))
    heads = revisions - parents - {None}
    return heads.pop() if len(heads) == 1 else None


def stored_revision(engine: Engine) -> str | None:
    """alembic_version's row by plain SQL; None when there is none or it cannot be read."""
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception:  # no table, not a database, unreachable: the full check below says which
        return None


def ensure_schema(engine: Engine, url: str, read_only: bool) -> None:
    """Create a new database at head, or upgrade an older one; refuse one made by a newer xlqa."""
    if stored_revision(engine) == head_of_files() is not None:
        return  # the common case, in one query and without importing alembic: a read command starts fast
    head = head_revision()
    revision = current_revision(engine)
    if revision == head:
        return
    if revision is not None and revision not in known_revisions():
        raise StoreError(f"the database was made by a newer xlqa (schema {revision}; this xlqa knows up to "
                         f"{head}): upgrade xlqa (pip install -U xlqa)")
    if read_only:
        raise StoreError(f"the database has the schema of an older xlqa ({revision}) and cannot be written here: "
                         "copy it somewhere writable and run `xlqa-run db upgrade --db COPY`")
    try:
        upgrade(url, engine)
    except Exception:
        if current_revision(engine) != head:  # another process may have upgraded it at the same moment
            raise


def upgrade(url: str, engine: Engine | None = None) -> tuple[str | None, str]:
    """Bring the database to head; returns (from, to). SQLite keeps `<file>.<from>.bak` first."""
    engine = engine or create_engine(url)
    before = current_revision(engine)
    path = sqlite_path(url)
    if before is not None and path is not None and path.exists():
        backup = path.with_name(f"{path.name}.{before}.bak")
        if not backup.exists():
            src, dst = sqlite3.connect(path), sqlite3.connect(backup)
            with dst:
                src.backup(dst)
            src.close()
            dst.close()
    # a connection of its own: SQLite needs foreign keys off while batch mode copies tables
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    migrate_engine = create_engine(engine.url, poolclass=pool.NullPool)
    with migrate_engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        if before is not None and MigrationContext.configure(conn).get_current_revision() is None:
            command.stamp(cfg, V0_1_0)  # a v0.1.0 database: its tables, no version row
        command.upgrade(cfg, "head")  # an empty database walks the same path: one way to every schema
    migrate_engine.dispose()
    return before, head_revision()


def schema_sql(dialect_name: str) -> str:
    """CREATE statements of the tables (db/tables.py) for one dialect, in dependency order (the committed dump)."""
    from sqlalchemy.dialects import postgresql, sqlite
    from sqlalchemy.schema import CreateIndex, CreateTable
    dialect = {"sqlite": sqlite.dialect(), "postgresql": postgresql.dialect()}[dialect_name]
    out = [f"-- xlqa schema {head_revision()} ({dialect_name}); made by `python -m db.migrate --dump`"]
    for table in metadata.sorted_tables:
        out.append(str(CreateTable(table).compile(dialect=dialect)).strip() + ";")
        for index in sorted(table.indexes, key=lambda i: i.name):
            out.append(str(CreateIndex(index).compile(dialect=dialect)).strip() + ";")
    return "\n\n".join(out) + "\n"


def main(argv=None) -> None:
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dump", action="store_true", help="rewrite db/schema/*.sql")
    args = ap.parse_args(argv)
    if args.dump:
        SCHEMA_DIR.mkdir(exist_ok=True)
        for name in ("sqlite", "postgresql"):
            (SCHEMA_DIR / f"{name}.sql").write_text(schema_sql(name))
            print(f"wrote {SCHEMA_DIR / name}.sql")


if __name__ == "__main__":
    main()
