"""alert: what about a run needs the user (a NaN loss, a stale heartbeat, a lost or failed run, a finished run or
sweep, a collapsing mAP@k coefficient), one row each, with its level.

Revision ID: 0009_alerts
Revises: 0008_run_cost
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_alerts"
down_revision = "0008_run_cost"
branch_labels = None
depends_on = None

# frozen copies of db.states.ALERT_KINDS and ALERT_LEVELS (a migration must not change when db.states does)
KINDS = ("loss_nonfinite", "heartbeat_stale", "run_lost", "run_failed", "coef_collapse", "run_done", "sweep_done")
LEVELS = ("info", "warning", "error")


def upgrade() -> None:
    op.create_table(
        "alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(f"kind IN {KINDS}", name="ck_alert_kind"),
        sa.CheckConstraint(f"level IN {LEVELS}", name="ck_alert_level"),
        sa.ForeignKeyConstraint(["run_id"], ["run.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_alert_run", "alert", ["run_id"])


def downgrade() -> None:
    op.drop_index("ix_alert_run", table_name="alert")
    op.drop_table("alert")
