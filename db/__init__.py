"""Results store: SQLAlchemy 2.0 models, engine/session setup and the shared read and write queries."""

__all__ = ["Store", "default_url", "make_engine"]


def __getattr__(name):
    # imported on first use: `import db.states` (the CLI's option choices) must not load SQLAlchemy
    if name == "Store":
        from db.store import Store
        return Store
    if name in ("default_url", "make_engine"):
        from db import session
        return getattr(session, name)
    raise AttributeError(f"module 'db' has no attribute {name!r}")
