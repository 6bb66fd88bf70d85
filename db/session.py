"""Engine creation for any SQLAlchemy URL; SQLite gets WAL, a busy timeout and foreign keys."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker


def default_url() -> str:
    """$XLQA_DB (a URL or a file path), else ~/.local/share/xlqa/xlqa.db."""
    env = os.environ.get("XLQA_DB", "")
    if env:
        return env if "://" in env else f"sqlite:///{Path(env).expanduser().resolve()}"
    path = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local/share")) / "xlqa" / "xlqa.db"
    return f"sqlite:///{path}"


def normalize_url(url: str | None) -> str:
    if not url:
        return default_url()
    return url if "://" in url else f"sqlite:///{Path(url).expanduser().resolve()}"


def make_engine(url: str | None = None) -> Engine:
    url = normalize_url(url)
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(conn, _record):  # WAL: readers never block the writer, and the writer never blocks readers
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()
        return engine
    return create_engine(url, pool_pre_ping=True)


class StoreError(RuntimeError):
    pass


@contextmanager
def session_scope(factory: sessionmaker) -> Session:
    """Commit on success, roll back on error, and say what went wrong with the database in one line."""
    session = factory()
    try:
        yield session
        session.commit()
    except OperationalError as e:
        session.rollback()
        raise StoreError(f"database error: {e.orig}") from e
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()
