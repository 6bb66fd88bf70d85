"""run.executor (local | slurm | submitit-local) and run.external_id (the Slurm job id).

Revision ID: 0005_run_executor
Revises: 0004_views
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_run_executor"
down_revision = "0004_views"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("run") as batch:
        batch.add_column(sa.Column("executor", sa.String(length=16), nullable=False, server_default="local"))
        batch.add_column(sa.Column("external_id", sa.String(length=64), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("run") as batch:
        batch.drop_column("external_id")
        batch.drop_column("executor")
