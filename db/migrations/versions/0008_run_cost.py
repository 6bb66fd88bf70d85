"""run_cost: what each attempt of a run spent per stage (wall seconds, device-seconds, peak device and host
memory, training features, optimizer steps). v_runs gains each run's totals over its attempts; the other
views are made again over it, as 0007 left them.

Revision ID: 0008_run_cost
Revises: 0007_experiment_config
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_run_cost"
down_revision = "0007_experiment_config"
branch_labels = None
depends_on = None

VIEWS = ("v_question_scores", "v_best_gxlt", "v_gxlt", "v_cells", "v_runs")


# Frozen copy of 0007's reading of a config field (a migration must not change when another does).
def config_sql(dialect: str, path: str) -> str:
    section, field = path.split(".")
    if dialect == "postgresql":
        return (f"COALESCE(r.config::json->>'{path}', r.config::json->'{section}'->>'{field}', "
                f"e.config::json->'{section}'->>'{field}')")
    return (f"COALESCE(json_extract(r.config, '$.\"{path}\"'), json_extract(r.config, '$.{path}'), "
            f"json_extract(e.config, '$.{path}'))")


# each run's totals over its attempts: seconds summed (a resumed run pays for what it did again), peaks the
# largest, features the training set's size, steps summed (steps done again after a kill count twice)
COST = """(SELECT run_id, SUM(seconds) AS wall_s, SUM(device_seconds) AS device_s,
               SUM(CASE WHEN stage = 'featurize' THEN seconds END) AS featurize_s,
               SUM(CASE WHEN stage = 'teacher' THEN seconds END) AS teacher_s,
               SUM(CASE WHEN stage = 'train' THEN seconds END) AS train_s,
               SUM(CASE WHEN stage = 'evaluate' THEN seconds END) AS eval_s,
               MAX(peak_device_gb) AS peak_device_gb, MAX(peak_host_gb) AS peak_host_gb,
               MAX(features) AS train_features, SUM(steps) AS optimizer_steps, COUNT(DISTINCT attempt) AS cost_attempts
        FROM run_cost GROUP BY run_id)"""
COST_COLUMNS = ("wall_s, device_s, featurize_s, teacher_s, train_s, eval_s, peak_device_gb, peak_host_gb, "
                "train_features, optimizer_steps, cost_attempts")


def create_views(c, cost: bool) -> None:
    costs = ", " + ", ".join(f"k.{col.strip()}" for col in COST_COLUMNS.split(",")) if cost else ""
    join = f" LEFT JOIN {COST} k ON k.run_id = r.id" if cost else ""
    op.execute(f"""CREATE VIEW v_runs AS
        SELECT r.id AS run_id, e.id AS experiment_id, e.name AS experiment, r.kind, r.status, r.seed,
               {c('data.ntl')} AS ntl, {c('distill.temperature')} AS temperature,
               {c('distill.coefficient')} AS coefficient, {c('distill.kl_direction')} AS kl_direction,
               {c('model.name')} AS model, r.step, r.total_steps, r.started_at, r.ended_at, r.output_dir,
               r.git_commit{costs}
        FROM run r JOIN experiment e ON e.id = r.experiment_id{join}""")
    op.execute("""CREATE VIEW v_cells AS
        SELECT c.run_id, v.experiment, v.kind, v.seed, c.suite, c.checkpoint, c.step, c.lang_q, c.lang_c,
               c.n, c.exact_match, c.f1, CASE WHEN c.lang_q = c.lang_c THEN 1 ELSE 0 END AS same_language
        FROM eval_cell c JOIN v_runs v ON v.run_id = c.run_id""")
    op.execute("""CREATE VIEW v_gxlt AS
        SELECT run_id, experiment, suite, checkpoint, step, COUNT(*) AS cells,
               AVG(f1) AS gxlt_f1, AVG(CASE WHEN same_language = 0 THEN f1 END) AS gxlt_cross_f1,
               AVG(CASE WHEN same_language = 1 THEN f1 END) AS xlt_f1, AVG(exact_match) AS gxlt_em
        FROM v_cells GROUP BY run_id, experiment, suite, checkpoint, step""")
    op.execute("""CREATE VIEW v_best_gxlt AS
        SELECT v.run_id, v.experiment, v.seed, v.ntl, v.temperature, v.coefficient, g.suite, g.cells,
               g.gxlt_f1, g.gxlt_cross_f1, g.xlt_f1
        FROM v_gxlt g JOIN v_runs v ON v.run_id = g.run_id
        WHERE v.kind = 'evaluate' AND v.status = 'done' AND g.checkpoint = 'best'""")
    op.execute("""CREATE VIEW v_question_scores AS
        SELECT q.run_id, v.experiment, v.seed, q.suite, q.checkpoint, q.step, q.lang_q, q.lang_c, q.qid,
               q.exact_match, q.f1
        FROM question_score q JOIN v_runs v ON v.run_id = q.run_id""")


def upgrade() -> None:
    for view in VIEWS:
        op.execute(f"DROP VIEW IF EXISTS {view}")
    op.create_table(
        "run_cost",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("devices", sa.Integer(), nullable=False),
        sa.Column("device_seconds", sa.Float(), nullable=False),
        sa.Column("device", sa.String(length=64), nullable=False),
        sa.Column("peak_device_gb", sa.Float(), nullable=True),
        sa.Column("peak_host_gb", sa.Float(), nullable=False),
        sa.Column("features", sa.Integer(), nullable=True),
        sa.Column("steps", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["run.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("run_id", "attempt", "stage", name="uq_run_cost"),
    )
    d = op.get_bind().dialect.name
    create_views(lambda path: config_sql(d, path), cost=True)


def downgrade() -> None:
    for view in VIEWS:
        op.execute(f"DROP VIEW IF EXISTS {view}")
    op.drop_table("run_cost")
    d = op.get_bind().dialect.name
    create_views(lambda path: config_sql(d, path), cost=False)
