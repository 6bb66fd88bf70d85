"""Results store: SQLAlchemy 2.0 models, engine/session setup, the batched writer and shared read queries."""

from db.session import default_url, make_engine
from db.store import Store

__all__ = ["Store", "default_url", "make_engine"]
