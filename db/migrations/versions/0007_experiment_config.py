"""experiment.config and experiment.config_hash: an experiment's config stored once, its runs keeping only what
they override (dotted keys). Each existing experiment takes the config of its lowest run id, and each of its runs'
config becomes its overrides of that; an experiment whose runs cannot be rebuilt exactly that way (hand-made rows)
keeps config NULL, and its runs their full configs, which read as before. v_runs reads a run's config fields
through its experiment's config.

Revision ID: 0007_experiment_config
Revises: 0006_run_sweep
"""

import copy
import hashlib
import json

import sqlalchemy as sa
from alembic import op

revision = "0007_experiment_config"
down_revision = "0006_run_sweep"
branch_labels = None
depends_on = None

VIEWS = ("v_question_scores", "v_best_gxlt", "v_gxlt", "v_cells", "v_runs")


# Frozen copies (a migration must not change when engine does): engine.config.config_hash, run_overrides over
# section.field leaves (a table-valued field is one value), and db.configs.full_config.
def config_hash(config: dict) -> str:
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def overrides(experiment: dict, run: dict) -> dict:
    out = {}
    for key, value in run.items():
        theirs = experiment.get(key)
        if isinstance(value, dict) and isinstance(theirs, dict):
            out.update({f"{key}.{k}": v for k, v in value.items() if k not in theirs or theirs[k] != v})
        elif key not in experiment or theirs != value:
            out[key] = value
    return out


def rebuilt(experiment: dict, run_overrides: dict) -> dict:
    merged = copy.deepcopy(experiment)
    for key, value in run_overrides.items():
        *parents, last = key.split(".")
        node = merged
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return merged


def loaded(config):
    return json.loads(config) if isinstance(config, str) else config   # a driver that hands JSON back as text


def backfill(conn) -> None:
    experiment = sa.table("experiment", sa.column("id", sa.Integer), sa.column("config", sa.JSON),
                          sa.column("config_hash", sa.String))
    run = sa.table("run", sa.column("id", sa.Integer), sa.column("experiment_id", sa.Integer),
                   sa.column("config", sa.JSON))
    runs: dict[int, list[tuple[int, dict]]] = {}
    for run_id, exp_id, config in conn.execute(sa.select(run.c.id, run.c.experiment_id, run.c.config)
                                               .order_by(run.c.id)).all():
        runs.setdefault(exp_id, []).append((run_id, loaded(config)))
    for exp_id, members in runs.items():
        base = members[0][1]
        if not isinstance(base, dict) or not all(isinstance(c, dict) for _, c in members):
            continue
        diffs = {run_id: overrides(base, c) for run_id, c in members}
        if any(rebuilt(base, diffs[run_id]) != c for run_id, c in members):
            continue   # not expressible as overrides: leave the experiment without a config, its runs as they are
        conn.execute(experiment.update().where(experiment.c.id == exp_id)
                     .values(config=base, config_hash=config_hash(base)))
        for run_id, _ in members:
            conn.execute(run.update().where(run.c.id == run_id).values(config=diffs[run_id]))


def config_sql(dialect: str, path: str) -> str:
    """A config field of a run as text: its override (a dotted key), else its own full config (runs of an
    experiment without one), else its experiment's config."""
    section, field = path.split(".")
    if dialect == "postgresql":
        return (f"COALESCE(r.config::json->>'{path}', r.config::json->'{section}'->>'{field}', "
                f"e.config::json->'{section}'->>'{field}')")
    return (f"COALESCE(json_extract(r.config, '$.\"{path}\"'), json_extract(r.config, '$.{path}'), "
            f"json_extract(e.config, '$.{path}'))")


def create_views(c) -> None:
    """0004_views' views, v_runs reading a run's config through its experiment's."""
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


def upgrade() -> None:
    for view in VIEWS:
        op.execute(f"DROP VIEW IF EXISTS {view}")
    with op.batch_alter_table("experiment") as batch:
        batch.add_column(sa.Column("config", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("config_hash", sa.String(length=64), nullable=True))
        batch.create_index("ix_experiment_config_hash", ["config_hash"])
    backfill(op.get_bind())
    d = op.get_bind().dialect.name
    create_views(lambda path: config_sql(d, path))


def old_config_sql(dialect: str, path: str) -> str:
    """0004_views' reading of a config field: from the run's full config."""
    parts = path.split(".")
    if dialect == "postgresql":
        return "(r.config::json" + "".join(f"->'{p}'" for p in parts[:-1]) + f"->>'{parts[-1]}')"
    return f"json_extract(r.config, '$.{path}')"


def downgrade() -> None:
    conn = op.get_bind()
    experiment = sa.table("experiment", sa.column("id", sa.Integer), sa.column("config", sa.JSON))
    run = sa.table("run", sa.column("id", sa.Integer), sa.column("experiment_id", sa.Integer),
                   sa.column("config", sa.JSON))
    configs = {i: loaded(c) for i, c in conn.execute(sa.select(experiment.c.id, experiment.c.config)).all()}
    for run_id, exp_id, config in conn.execute(sa.select(run.c.id, run.c.experiment_id, run.c.config)).all():
        if configs.get(exp_id) is not None:   # back to a full config in every run row
            conn.execute(run.update().where(run.c.id == run_id)
                         .values(config=rebuilt(configs[exp_id], loaded(config) or {})))
    for view in VIEWS:
        op.execute(f"DROP VIEW IF EXISTS {view}")
    with op.batch_alter_table("experiment") as batch:
        batch.drop_index("ix_experiment_config_hash")
        batch.drop_column("config_hash")
        batch.drop_column("config")
    d = conn.dialect.name
    create_views(lambda path: old_config_sql(d, path))
