"""Tables of the results store. Documented for SQL / pandas users in docs/database.md."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (JSON, CheckConstraint, DateTime, Float, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from db.states import ALERT_KINDS, ALERT_LEVELS, RUN_KINDS, RUN_STATUSES


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def as_dict(obj) -> dict:
    """A row's columns as a plain dict: what the store hands out, so no ORM object crosses threads."""
    return {c.key: getattr(obj, c.key) for c in obj.__table__.columns}


class Base(DeclarativeBase):
    pass


class Experiment(Base):
    __tablename__ = "experiment"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    notes: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[str] = mapped_column(String(500), default="")
    # the config every run of the experiment computes, stored once (its runs keep only what they override,
    # db/configs.py); NULL for experiments made without one, whose runs each hold their full config
    config: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    config_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    runs: Mapped[list["Run"]] = relationship(back_populates="experiment", cascade="all, delete-orphan")


class Run(Base):
    __tablename__ = "run"
    __table_args__ = (
        CheckConstraint(f"kind IN {RUN_KINDS}", name="ck_run_kind"),
        CheckConstraint(f"status IN {RUN_STATUSES}", name="ck_run_status"),
        Index("ix_run_status", "status"),
        Index("ix_run_sweep", "sweep"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiment.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    config: Mapped[dict] = mapped_column(JSON)
    depends_on: Mapped[int | None] = mapped_column(ForeignKey("run.id", ondelete="SET NULL"), nullable=True)
    devices: Mapped[str] = mapped_column(String(64), default="")       # requested: "", "cpu", "0,1"
    assigned_devices: Mapped[str] = mapped_column(String(64), default="")
    pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    host: Mapped[str] = mapped_column(String(200), default="")
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    step: Mapped[int] = mapped_column(Integer, default=0)
    total_steps: Mapped[int] = mapped_column(Integer, default=0)
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    resume: Mapped[bool] = mapped_column(default=False)
    error: Mapped[str] = mapped_column(Text, default="")
    hint: Mapped[str] = mapped_column(Text, default="")
    output_dir: Mapped[str] = mapped_column(Text)  # absolute, set by create_run: no default
    git_commit: Mapped[str] = mapped_column(String(64), default="")
    versions: Mapped[dict] = mapped_column(JSON, default=dict)
    seed: Mapped[int] = mapped_column(Integer, default=0)
    # fencing token: every claim raises it; writes of a worker holding an older attempt are refused
    attempt: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    pgid: Mapped[int | None] = mapped_column(Integer, nullable=True)   # a detached worker's process group
    executor: Mapped[str] = mapped_column(String(16), default="local", server_default="local")
    external_id: Mapped[str] = mapped_column(String(64), default="", server_default="")  # e.g. the Slurm job id
    # the sweep the run belongs to ("" for none), a column so listing a sweep never scans the config JSON
    sweep: Mapped[str] = mapped_column(String(200), default="", server_default="")
    experiment: Mapped[Experiment] = relationship(back_populates="runs")


class Metric(Base):
    """Append-only scalar series: loss, loss_ce, loss_kl, coef, lr, examples_per_s, dev_gxlt_f1, ..."""
    __tablename__ = "metric"
    __table_args__ = (Index("ix_metric_run_key_step", "run_id", "key", "step"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("run.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    context: Mapped[str] = mapped_column(String(64), default="")   # e.g. a language pair "en-de"
    step: Mapped[int] = mapped_column(Integer)
    value: Mapped[float] = mapped_column(Float)
    wall_time: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class MetricSummary(Base):
    """Latest and best value of each (run, key, context): run lists never scan the metric table."""
    __tablename__ = "metric_summary"
    __table_args__ = (UniqueConstraint("run_id", "key", "context", name="uq_metric_summary"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("run.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    context: Mapped[str] = mapped_column(String(64), default="")
    last_step: Mapped[int] = mapped_column(Integer)
    last_value: Mapped[float] = mapped_column(Float)
    best_value: Mapped[float] = mapped_column(Float)   # max for scores (f1, em, coef), min for losses
    best_step: Mapped[int] = mapped_column(Integer)


class Histogram(Base):
    """Per-example coefficient distribution per logging window (key=coef) and per generation (coef_generation)."""
    __tablename__ = "histogram"
    __table_args__ = (Index("ix_histogram_run_key_step", "run_id", "key", "step"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("run.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    step: Mapped[int] = mapped_column(Integer)
    generation: Mapped[int | None] = mapped_column(Integer, nullable=True)
    bin_edges: Mapped[list] = mapped_column(JSON)
    counts: Mapped[list] = mapped_column(JSON)
    percentiles: Mapped[dict] = mapped_column(JSON, default=dict)   # p5 p25 p50 p75 p95 and mean


class PairStat(Base):
    """Per language pair statistics, e.g. the teacher's mean mAP@k per generation, training examples."""
    __tablename__ = "pair_stat"
    __table_args__ = (Index("ix_pair_stat_run", "run_id", "key", "generation"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("run.id", ondelete="CASCADE"))
    generation: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(64))
    lang_q: Mapped[str] = mapped_column(String(8))
    lang_c: Mapped[str] = mapped_column(String(8))
    mean: Mapped[float] = mapped_column(Float)
    n: Mapped[int] = mapped_column(Integer)


class EvalCell(Base):
    __tablename__ = "eval_cell"
    __table_args__ = (Index("ix_eval_cell_run_suite", "run_id", "suite", "step"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("run.id", ondelete="CASCADE"))
    step: Mapped[int] = mapped_column(Integer)
    checkpoint: Mapped[str] = mapped_column(String(16), default="step")   # "step" (during training) or "best"
    suite: Mapped[str] = mapped_column(String(64))
    split: Mapped[str] = mapped_column(String(16), default="")
    lang_q: Mapped[str] = mapped_column(String(8))
    lang_c: Mapped[str] = mapped_column(String(8))
    n: Mapped[int] = mapped_column(Integer)
    exact_match: Mapped[float] = mapped_column(Float)
    f1: Mapped[float] = mapped_column(Float)


class QuestionScore(Base):
    """EM and F1 of every question of every evaluation cell, as the official scripts score one question
    (em 0 or 1, f1 in [0, 1]; a cell's F1 is 100 x their mean). What significance tests pair and resample."""
    __tablename__ = "question_score"
    __table_args__ = (Index("ix_question_score_eval", "run_id", "suite", "checkpoint", "step"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("run.id", ondelete="CASCADE"))
    step: Mapped[int] = mapped_column(Integer)
    checkpoint: Mapped[str] = mapped_column(String(16), default="step")
    suite: Mapped[str] = mapped_column(String(64))
    lang_q: Mapped[str] = mapped_column(String(8))
    lang_c: Mapped[str] = mapped_column(String(8))
    qid: Mapped[str] = mapped_column(String(128))
    exact_match: Mapped[float] = mapped_column(Float)
    f1: Mapped[float] = mapped_column(Float)


class Artifact(Base):
    __tablename__ = "artifact"
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("run.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    path: Mapped[str] = mapped_column(Text)
    step: Mapped[int] = mapped_column(Integer, default=0)
    bytes: Mapped[int] = mapped_column(Integer, default=0)


class Alert(Base):
    """Something about a run that needs the user (db.states.ALERT_KINDS): written by workers, the scheduler and
    whoever marks a run lost; `xlqa-run alerts`, `list` and the dashboard read them."""
    __tablename__ = "alert"
    __table_args__ = (
        CheckConstraint(f"kind IN {tuple(ALERT_KINDS)}", name="ck_alert_kind"),
        CheckConstraint(f"level IN {ALERT_LEVELS}", name="ck_alert_level"),
        Index("ix_alert_run", "run_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("run.id", ondelete="CASCADE"))
    level: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class RunCost(Base):
    """What one attempt of a run spent in one stage (sample, featurize, teacher, train, evaluate): rewritten
    whole at each stage end, checkpoint and evaluated cell, so it holds the attempt's totals. A resumed run
    adds the rows of its new attempt: the sum over attempts is what the run cost, repeated work included."""
    __tablename__ = "run_cost"
    __table_args__ = (UniqueConstraint("run_id", "attempt", "stage", name="uq_run_cost"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("run.id", ondelete="CASCADE"))
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    stage: Mapped[str] = mapped_column(String(16))
    seconds: Mapped[float] = mapped_column(Float)                 # wall seconds
    devices: Mapped[int] = mapped_column(Integer, default=1)      # GPUs of the stage (its DDP world), 1 on a CPU
    device_seconds: Mapped[float] = mapped_column(Float)          # seconds x devices
    device: Mapped[str] = mapped_column(String(64), default="")   # e.g. cuda:0, cpu
    peak_device_gb: Mapped[float | None] = mapped_column(Float, nullable=True)   # CUDA allocated, rank 0
    peak_host_gb: Mapped[float] = mapped_column(Float, default=0.0)              # the process's resident peak
    features: Mapped[int | None] = mapped_column(Integer, nullable=True)         # training features (train)
    steps: Mapped[int | None] = mapped_column(Integer, nullable=True)            # optimizer steps of the attempt
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class SchedulerLease(Base):
    """At most one live scheduler per database: the holder heartbeats; a stale lease can be taken over."""
    __tablename__ = "scheduler_lease"
    id: Mapped[int] = mapped_column(primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
