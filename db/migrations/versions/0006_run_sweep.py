"""run.sweep: the sweep a run belongs to, an indexed column (it was read from every run's config JSON), filled
from each existing run's config.

Revision ID: 0006_run_sweep
Revises: 0005_run_executor
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0006_run_sweep"
down_revision = "0005_run_executor"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("run") as batch:
        batch.add_column(sa.Column("sweep", sa.String(length=200), nullable=False, server_default=""))
        batch.create_index("ix_run_sweep", ["sweep"])
    conn = op.get_bind()
    run = sa.table("run", sa.column("id", sa.Integer), sa.column("config", sa.JSON), sa.column("sweep", sa.String))
    for run_id, config in conn.execute(sa.select(run.c.id, run.c.config)).all():
        if isinstance(config, str):  # a driver that hands JSON back as text
            config = json.loads(config)
        sweep = config.get("sweep") if isinstance(config, dict) else None
        if sweep:
            conn.execute(run.update().where(run.c.id == run_id).values(sweep=sweep))


def downgrade() -> None:
    with op.batch_alter_table("run") as batch:
        batch.drop_index("ix_run_sweep")
        batch.drop_column("sweep")
