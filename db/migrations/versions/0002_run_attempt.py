"""run.attempt: a fencing token, raised by every claim, so a worker that lost its run writes nothing more;
run.pgid: the process group of a detached worker, which a stale heartbeat lets the scheduler kill.

Revision ID: 0002_run_attempt
Revises: 0001_v0_1_0
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_run_attempt"
down_revision = "0001_v0_1_0"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("run") as batch:
        batch.add_column(sa.Column("attempt", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("pgid", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("run") as batch:
        batch.drop_column("pgid")
        batch.drop_column("attempt")
