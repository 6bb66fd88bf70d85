"""Tables of the results store, as SQLAlchemy Core `Table`s: the reads query them without the ORM (the commands
that only read start without importing sqlalchemy.orm), and the ORM models of the writes (db/models.py) map
onto them. Documented for SQL / pandas users in docs/database.md."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (JSON, Boolean, CheckConstraint, Column, DateTime, Float, ForeignKey, Index, Integer, MetaData,
                        String, Table, Text, UniqueConstraint)

from db.states import ALERT_KINDS, ALERT_LEVELS, RUN_KINDS, RUN_STATUSES


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


metadata = MetaData()


def _run_id() -> Column:
    return Column("run_id", Integer, ForeignKey("run.id", ondelete="CASCADE"), nullable=False)


EXPERIMENT = Table(
    "experiment", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("created_at", DateTime, nullable=False, default=utcnow),
    Column("notes", Text, nullable=False, default=""),
    Column("tags", String(500), nullable=False, default=""),
    # the config every run of the experiment computes, stored once (its runs keep only what they override,
    # db/configs.py); NULL for experiments made without one, whose runs each hold their full config
    Column("config", JSON, nullable=True),
    Column("config_hash", String(64), nullable=True, index=True),
)

RUN = Table(
    "run", metadata,
    Column("id", Integer, primary_key=True),
    Column("experiment_id", Integer, ForeignKey("experiment.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("status", String(16), nullable=False, default="queued"),
    Column("config", JSON, nullable=False),
    Column("depends_on", Integer, ForeignKey("run.id", ondelete="SET NULL"), nullable=True),
    Column("devices", String(64), nullable=False, default=""),         # requested: "", "cpu", "0,1"
    Column("assigned_devices", String(64), nullable=False, default=""),
    Column("pid", Integer, nullable=True),
    Column("host", String(200), nullable=False, default=""),
    Column("heartbeat_at", DateTime, nullable=True),
    Column("created_at", DateTime, nullable=False, default=utcnow),
    Column("started_at", DateTime, nullable=True),
    Column("ended_at", DateTime, nullable=True),
    Column("step", Integer, nullable=False, default=0),
    Column("total_steps", Integer, nullable=False, default=0),
    Column("cancel_requested", Boolean, nullable=False, default=False),
    Column("resume", Boolean, nullable=False, default=False),
    Column("error", Text, nullable=False, default=""),
    Column("hint", Text, nullable=False, default=""),
    Column("output_dir", Text, nullable=False),  # absolute, set by create_run: no default
    Column("git_commit", String(64), nullable=False, default=""),
    Column("versions", JSON, nullable=False, default=dict),
    Column("seed", Integer, nullable=False, default=0),
    # fencing token: every claim raises it; writes of a worker holding an older attempt are refused
    Column("attempt", Integer, nullable=False, default=0, server_default="0"),
    Column("pgid", Integer, nullable=True),   # a detached worker's process group
    Column("executor", String(16), nullable=False, default="local", server_default="local"),
    Column("external_id", String(64), nullable=False, default="", server_default=""),  # e.g. the Slurm job id
    # the sweep the run belongs to ("" for none), a column so listing a sweep never scans the config JSON
    Column("sweep", String(200), nullable=False, default="", server_default=""),
    CheckConstraint(f"kind IN {RUN_KINDS}", name="ck_run_kind"),
    CheckConstraint(f"status IN {RUN_STATUSES}", name="ck_run_status"),
    Index("ix_run_status", "status"),
    Index("ix_run_sweep", "sweep"),
)

# Append-only scalar series: loss, loss_ce, loss_kl, coef, lr, examples_per_s, dev_gxlt_f1, ...
METRIC = Table(
    "metric", metadata,
    Column("id", Integer, primary_key=True),
    _run_id(),
    Column("key", String(64), nullable=False),
    Column("context", String(64), nullable=False, default=""),   # e.g. a language pair "en-de"
    Column("step", Integer, nullable=False),
    Column("value", Float, nullable=False),
    Column("wall_time", DateTime, nullable=False, default=utcnow),
    Index("ix_metric_run_key_step", "run_id", "key", "step"),
)

# Latest and best value of each (run, key, context): run lists never scan the metric table.
METRIC_SUMMARY = Table(
    "metric_summary", metadata,
    Column("id", Integer, primary_key=True),
    _run_id(),
    Column("key", String(64), nullable=False),
    Column("context", String(64), nullable=False, default=""),
    Column("last_step", Integer, nullable=False),
    Column("last_value", Float, nullable=False),
    Column("best_value", Float, nullable=False),   # max for scores (f1, em, coef), min for losses
    Column("best_step", Integer, nullable=False),
    UniqueConstraint("run_id", "key", "context", name="uq_metric_summary"),
)

# Per-example coefficient distribution per logging window (key=coef) and per generation (coef_generation).
HISTOGRAM = Table(
    "histogram", metadata,
    Column("id", Integer, primary_key=True),
    _run_id(),
    Column("key", String(64), nullable=False),
    Column("step", Integer, nullable=False),
    Column("generation", Integer, nullable=True),
    Column("bin_edges", JSON, nullable=False),
    Column("counts", JSON, nullable=False),
    Column("percentiles", JSON, nullable=False, default=dict),   # p5 p25 p50 p75 p95 and mean
    Index("ix_histogram_run_key_step", "run_id", "key", "step"),
)

# Per language pair statistics, e.g. the teacher's mean mAP@k per generation, training examples.
PAIR_STAT = Table(
    "pair_stat", metadata,
    Column("id", Integer, primary_key=True),
    _run_id(),
    Column("generation", Integer, nullable=False),
    Column("key", String(64), nullable=False),
    Column("lang_q", String(8), nullable=False),
    Column("lang_c", String(8), nullable=False),
    Column("mean", Float, nullable=False),
    Column("n", Integer, nullable=False),
    Index("ix_pair_stat_run", "run_id", "key", "generation"),
)

EVAL_CELL = Table(
    "eval_cell", metadata,
    Column("id", Integer, primary_key=True),
    _run_id(),
    Column("step", Integer, nullable=False),
    Column("checkpoint", String(16), nullable=False, default="step"),   # "step" (during training) or "best"
    Column("suite", String(64), nullable=False),
    Column("split", String(16), nullable=False, default=""),
    Column("lang_q", String(8), nullable=False),
    Column("lang_c", String(8), nullable=False),
    Column("n", Integer, nullable=False),
    Column("exact_match", Float, nullable=False),
    Column("f1", Float, nullable=False),
    Index("ix_eval_cell_run_suite", "run_id", "suite", "step"),
)

# EM and F1 of every question of every evaluation cell, as the official scripts score one question (em 0 or 1,
# f1 in [0, 1]; a cell's F1 is 100 x their mean). What significance tests pair and resample.
QUESTION_SCORE = Table(
    "question_score", metadata,
    Column("id", Integer, primary_key=True),
    _run_id(),
    Column("step", Integer, nullable=False),
    Column("checkpoint", String(16), nullable=False, default="step"),
    Column("suite", String(64), nullable=False),
    Column("lang_q", String(8), nullable=False),
    Column("lang_c", String(8), nullable=False),
    Column("qid", String(128), nullable=False),
    Column("exact_match", Float, nullable=False),
    Column("f1", Float, nullable=False),
    Index("ix_question_score_eval", "run_id", "suite", "checkpoint", "step"),
)

ARTIFACT = Table(
    "artifact", metadata,
    Column("id", Integer, primary_key=True),
    _run_id(),
    Column("kind", String(32), nullable=False),
    Column("path", Text, nullable=False),
    Column("step", Integer, nullable=False, default=0),
    Column("bytes", Integer, nullable=False, default=0),
)

# Something about a run that needs the user (db.states.ALERT_KINDS): written by workers, the scheduler and whoever
# marks a run lost; `xlqa-run alerts`, `list` and the dashboard read them.
ALERT = Table(
    "alert", metadata,
    Column("id", Integer, primary_key=True),
    _run_id(),
    Column("level", String(16), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at", DateTime, nullable=False, default=utcnow),
    CheckConstraint(f"kind IN {tuple(ALERT_KINDS)}", name="ck_alert_kind"),
    CheckConstraint(f"level IN {ALERT_LEVELS}", name="ck_alert_level"),
    Index("ix_alert_run", "run_id"),
)

# What one attempt of a run spent in one stage (sample, featurize, teacher, train, evaluate): rewritten whole at
# each stage end, checkpoint and evaluated cell, so it holds the attempt's totals. A resumed run adds the rows of
# its new attempt: the sum over attempts is what the run cost, repeated work included.
RUN_COST = Table(
    "run_cost", metadata,
    Column("id", Integer, primary_key=True),
    _run_id(),
    Column("attempt", Integer, nullable=False, default=0),
    Column("stage", String(16), nullable=False),
    Column("seconds", Float, nullable=False),                  # wall seconds
    Column("devices", Integer, nullable=False, default=1),     # GPUs of the stage (its DDP world), 1 on a CPU
    Column("device_seconds", Float, nullable=False),           # seconds x devices
    Column("device", String(64), nullable=False, default=""),  # e.g. cuda:0, cpu
    Column("peak_device_gb", Float, nullable=True),            # CUDA allocated, rank 0
    Column("peak_host_gb", Float, nullable=False, default=0.0),   # the process's resident peak
    Column("features", Integer, nullable=True),                # training features (train)
    Column("steps", Integer, nullable=True),                   # optimizer steps of the attempt
    Column("updated_at", DateTime, nullable=False, default=utcnow),
    UniqueConstraint("run_id", "attempt", "stage", name="uq_run_cost"),
)

# At most one live scheduler per database: the holder heartbeats; a stale lease can be taken over.
SCHEDULER_LEASE = Table(
    "scheduler_lease", metadata,
    Column("id", Integer, primary_key=True),
    Column("holder", String(200), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("heartbeat_at", DateTime, nullable=False, default=utcnow),
)
