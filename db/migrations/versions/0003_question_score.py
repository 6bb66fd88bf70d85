"""question_score: EM and F1 of every question of every evaluation cell (what significance tests resample).

Revision ID: 0003_question_score
Revises: 0002_run_attempt
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_question_score"
down_revision = "0002_run_attempt"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "question_score",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("checkpoint", sa.String(length=16), nullable=False),
        sa.Column("suite", sa.String(length=64), nullable=False),
        sa.Column("lang_q", sa.String(length=8), nullable=False),
        sa.Column("lang_c", sa.String(length=8), nullable=False),
        sa.Column("qid", sa.String(length=128), nullable=False),
        sa.Column("exact_match", sa.Float(), nullable=False),
        sa.Column("f1", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["run.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_question_score_eval", "question_score", ["run_id", "suite", "checkpoint", "step"])


def downgrade() -> None:
    op.drop_index("ix_question_score_eval", table_name="question_score")
    op.drop_table("question_score")
