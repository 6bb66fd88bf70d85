"""The store API shared by workers (writes) and the TUI / CLI (reads), one class composed of its four jobs:
the run queue (db/queue.py), tracking writes (db/tracking.py), shared reads (db/reads.py) and alerts
(db/alerts.py). Plain dicts come out, so callers never hold ORM objects across threads. Reads run on Core
connections (`connect()`); writes on ORM sessions (`session()`), whose sqlalchemy.orm is imported by the first."""

from __future__ import annotations

from db.alerts import Alerts
from db.queue import RunQueue, RunTakenOver, age_seconds
from db.reads import ANY_CHECKPOINT, PREFERRED_CHECKPOINT, Reads
from db.session import StoreError, connection_scope, explain, make_engine, normalize_url, session_scope
from db.tracking import LOWER_IS_BETTER, Tracking, lower_is_better

__all__ = ["ANY_CHECKPOINT", "LOWER_IS_BETTER", "PREFERRED_CHECKPOINT", "RunTakenOver", "Store", "age_seconds",
           "lower_is_better"]


class Store(RunQueue, Tracking, Reads, Alerts):
    def __init__(self, url: str | None = None, read_only: bool | None = None):
        from db.migrate import ensure_schema
        self.url = normalize_url(url)
        self.engine, self.read_only = make_engine(self.url, read_only)
        try:
            ensure_schema(self.engine, self.url, self.read_only)
        except StoreError:
            raise
        except Exception as e:  # not a database, unreachable server, unreadable file
            raise explain(e, self.url) from e
        self._sessions = None

    def session(self):
        """A write transaction on an ORM session (db/models.py)."""
        if self._sessions is None:
            from sqlalchemy.orm import sessionmaker
            self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        return session_scope(self._sessions, self.url)

    def connect(self):
        """A read on a Core connection (db/tables.py)."""
        return connection_scope(self.engine, self.url)
