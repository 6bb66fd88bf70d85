"""Alembic environment of the results store: migrations run on the connection the store hands over
(db.schema), never from an alembic.ini; SQLite ALTERs go through batch mode (copy and swap a table)."""

from alembic import context

from db.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata,
                  render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
with context.begin_transaction():
    context.run_migrations()
