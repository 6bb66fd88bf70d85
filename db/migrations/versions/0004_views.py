"""Named read-only views for the common questions: v_runs, v_cells, v_gxlt, v_best_gxlt, v_question_scores.

Revision ID: 0004_views
Revises: 0003_question_score
"""

from alembic import op

revision = "0004_views"
down_revision = "0003_question_score"
branch_labels = None
depends_on = None

VIEWS = ("v_question_scores", "v_best_gxlt", "v_gxlt", "v_cells", "v_runs")


def config(dialect: str, path: str) -> str:
    """A scalar of run.config as text: `distill.temperature` -> json_extract / ->> by dialect."""
    if dialect == "postgresql":
        parts = path.split(".")
        return "(r.config::json" + "".join(f"->'{p}'" for p in parts[:-1]) + f"->>'{parts[-1]}')"
    return f"json_extract(r.config, '$.{path}')"


def upgrade() -> None:
    d = op.get_bind().dialect.name
    c = lambda path: config(d, path)
    op.execute(f"""CREATE VIEW v_runs AS
        SELECT r.id AS run_id, e.id AS experiment_id, e.name AS experiment, r.kind, r.status, r.seed,
               {c('data.ntl')} AS ntl, {c('distill.temperature')} AS temperature,
               {c('distill.coefficient')} AS coefficient, {c('distill.kl_direction')} AS kl_direction,
               {c('model.name')} AS model, r.step, r.total_steps, r.started_at, r.ended_at, r.output_dir, r.git_commit
        FROM run r JOIN experiment e ON e.id = r.experiment_id""")
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


def downgrade() -> None:
    for view in VIEWS:
        op.execute(f"DROP VIEW IF EXISTS {view}")
