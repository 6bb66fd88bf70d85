"""Engine creation for any SQLAlchemy URL, with one-line errors that name the fix.

SQLite gets WAL, a busy timeout and foreign keys. A SQLite file we cannot write (a read-only mount, a copy
in a read-only folder, `?mode=ro`) is opened read-only, without touching its journal mode, so results can
still be read."""

from __future__ import annotations

import os
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError, DatabaseError

if TYPE_CHECKING:  # the ORM is the writes' (db/models.py): a command that only reads never imports it
    from sqlalchemy.orm import Session, sessionmaker


class StoreError(RuntimeError):
    """A database problem, said in one line with the fix."""


def default_url() -> str:
    """$XLQA_DB (a URL or a file path), else ~/.local/share/xlqa/xlqa.db."""
    env = os.environ.get("XLQA_DB", "")
    if env:
        return normalize_url(env)
    path = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local/share")) / "xlqa" / "xlqa.db"
    return f"sqlite:///{path}"


def normalize_url(url: str | None) -> str:
    """A URL; a SQLite file as an absolute path, so workers started in their run folders open the same file."""
    if not url:
        return default_url()
    if "://" not in url:
        return f"sqlite:///{Path(url).expanduser().resolve()}"
    prefix, sep, rest = url.partition(":///")
    if prefix.startswith("sqlite") and sep and rest and not rest.startswith(("/", "file:", ":memory:", "?")):
        return f"{prefix}:///{Path(rest).resolve()}"  # sqlite:///x.db names x.db in the working directory
    return url


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for in-memory databases and other dialects)."""
    if not url.startswith("sqlite"):
        return None
    path = url.split(":///", 1)[-1].split("?", 1)[0]
    if path.startswith("file:"):
        path = path[len("file:"):]
    return None if path in ("", ":memory:") else Path(path)


def sqlite_read_only(url: str) -> bool:
    """A SQLite database to open read-only: asked for (`mode=ro`) or not writable by us."""
    if "mode=ro" in url:
        return True
    path = sqlite_path(url)
    if path is None or not path.exists():
        return False
    return not os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK)


def _read_only_url(url: str) -> str:
    """sqlite:///file:PATH?mode=ro&uri=true; immutable when the folder is not writable either (SQLite
    cannot make the -shm file a WAL reader needs there; nobody can write such a database anyway)."""
    path = sqlite_path(url)
    immutable = "&immutable=1" if not os.access(path.parent, os.W_OK) or "immutable=1" in url else ""
    return f"sqlite:///file:{path}?mode=ro{immutable}&uri=true"


def make_engine(url: str | None = None, read_only: bool | None = None) -> tuple[Engine, bool]:
    """(engine, read_only). Errors that need the user become StoreError."""
    url = normalize_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError as e:
        raise StoreError(f"--db {url!r} is not a database URL: use a file path, sqlite:///PATH or "
                         "postgresql+psycopg://USER@HOST/DB") from e
    if parsed.get_backend_name() != "sqlite":
        try:
            return create_engine(url, pool_pre_ping=True), False
        except NoSuchModuleError as e:
            raise StoreError(f"unknown database type {parsed.drivername!r} in --db: use a file path, sqlite:///PATH "
                             "or postgresql+psycopg://USER@HOST/DB") from e
        except ImportError as e:
            raise StoreError(f"the driver for {parsed.drivername!r} is not installed ({e}): "
                             "pip install 'xlqa[postgres]' and use postgresql+psycopg://USER@HOST/DB") from e
    read_only = sqlite_read_only(url) if read_only is None else read_only
    path = sqlite_path(url)
    if path is not None and not read_only:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StoreError(f"cannot create the folder of {path} ({e.strerror}): "
                             "choose a writable place with --db PATH or $XLQA_DB") from e
        if not os.access(path.parent, os.W_OK):
            raise StoreError(f"cannot create {path}: the folder is not writable; "
                             "choose a writable place with --db PATH or $XLQA_DB")
    engine_url = _read_only_url(url) if (read_only and path is not None and "uri=true" not in url) else url
    busy_ms = int(os.environ.get("XLQA_SQLITE_BUSY_MS", "30000"))  # how long a write waits for a lock
    engine = create_engine(engine_url, connect_args={"timeout": busy_ms / 1000, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _pragmas(conn, _record):
        cur = conn.cursor()
        if not read_only:  # WAL: readers never block the writer, and the writer never blocks readers
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={busy_ms}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()
    return engine, read_only


def explain(error: Exception, url: str) -> StoreError:
    """A driver error on connecting or reading, in one line with the fix."""
    orig = getattr(error, "orig", error)
    text = str(orig)
    path = sqlite_path(url)
    if isinstance(orig, sqlite3.DatabaseError) and "file is not a database" in text:
        return StoreError(f"{path} is not an SQLite database: point --db at an xlqa database, or at a new file")
    if "unable to open database file" in text:
        return StoreError(f"cannot open {path}: check the path and that its folder exists and is readable")
    if "readonly" in text or "read-only" in text:
        return StoreError(f"{path or url} is read-only: results can be read, but nothing can be written; "
                          "copy it somewhere writable to change it")
    return StoreError(f"database error: {text.splitlines()[0] if text else type(orig).__name__}")


@contextmanager
def connection_scope(engine: Engine, url: str = "") -> Connection:
    """A read on one Core connection (rolled back when it ends: a read commits nothing), its database errors
    said in one line as session_scope says them."""
    try:
        with engine.connect() as conn:
            yield conn
    except (OperationalError, DatabaseError) as e:
        raise explain(e, url) from e


@contextmanager
def session_scope(factory: sessionmaker, url: str = "") -> Session:
    """Commit on success, roll back on error, and say what went wrong with the database in one line."""
    session = factory()
    try:
        yield session
        session.commit()
    except (OperationalError, DatabaseError) as e:
        session.rollback()
        raise explain(e, url) from e
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()
