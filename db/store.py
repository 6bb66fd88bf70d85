"""The store API shared by workers (writes) and the TUI / CLI (reads). Plain dicts come out, so callers
never hold ORM objects across threads."""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import sessionmaker

from db.models import (Artifact, EvalCell, Experiment, Histogram, Metric, MetricSummary, PairStat, QuestionScore,
                       Run, SchedulerLease, utcnow)
from db.session import StoreError, explain, make_engine, normalize_url, session_scope

LOWER_IS_BETTER = ("loss",)  # keys containing these: best = min


def _row(obj) -> dict:
    return {c.key: getattr(obj, c.key) for c in obj.__table__.columns}


def lower_is_better(key: str) -> bool:
    return any(s in key for s in LOWER_IS_BETTER)


class RunTakenOver(StoreError):
    """The run is no longer this worker's: it was marked lost, cancelled or claimed again (a newer attempt).
    The worker must stop without writing anything more."""


class Store:
    def __init__(self, url: str | None = None, read_only: bool | None = None):
        from db.migrate import ensure_schema
        self.url = normalize_url(url)
        self.engine, self.read_only = make_engine(self.url, read_only)
        try:
            ensure_schema(self.engine, self.url, self.read_only)
        except StoreError:
            raise
        except Exception as e:  # not a database, unreachable server, unreadable file
            raise explain(e, self.url) from e
        self.Session = sessionmaker(self.engine, expire_on_commit=False)

    def session(self):
        return session_scope(self.Session, self.url)

    @staticmethod
    def _fence(s, run_id: int, attempt: int | None) -> None:
        """Inside a write transaction: go on only while `attempt` still owns the running run. The UPDATE
        takes the row's write lock, so a concurrent mark-lost or re-claim is ordered before or after us."""
        if attempt is None:
            return
        res = s.execute(update(Run).where(Run.id == run_id, Run.attempt == attempt, Run.status == "running")
                        .values(heartbeat_at=utcnow()))
        if res.rowcount != 1:
            raise RunTakenOver(f"run {run_id} is no longer held by attempt {attempt} of this worker")

    # --- experiments and runs ---------------------------------------------------------------------
    def create_experiment(self, name: str, notes: str = "", tags: str = "") -> int:
        with self.session() as s:
            exp = Experiment(name=name, notes=notes, tags=tags)
            s.add(exp)
            s.flush()
            return exp.id

    def create_run(self, experiment_id: int, kind: str, config: dict, *, output_dir: str,
                   depends_on: int | None = None, devices: str = "", seed: int = 0, git_commit: str = "",
                   versions: dict | None = None, executor: str = "local") -> int:
        """`output_dir` must be absolute: the worker, `logs`, `resume` and the dashboard run in different
        working directories, and a relative folder would mean a different place to each."""
        if not output_dir or not os.path.isabs(output_dir):
            raise ValueError(f"run output_dir {output_dir!r} is not an absolute path: resolve it before creating "
                             "the run (e.g. Path(output_dir).resolve())")
        with self.session() as s:
            run = Run(experiment_id=experiment_id, kind=kind, config=config, depends_on=depends_on, devices=devices,
                      output_dir=output_dir, seed=seed, git_commit=git_commit, versions=versions or {},
                      executor=executor)
            s.add(run)
            s.flush()
            return run.id

    def get_run(self, run_id: int) -> dict | None:
        with self.session() as s:
            run = s.get(Run, run_id)
            if run is None:
                return None
            out = _row(run)
            out["experiment"] = run.experiment.name
            return out

    def update_run(self, run_id: int, **fields) -> None:
        with self.session() as s:
            s.execute(update(Run).where(Run.id == run_id).values(**fields))

    def claim(self, run_id: int, **fields) -> int | None:
        """queued -> running with a new attempt number, atomically (compare and set): of two executors that
        try to start the same run, one gets the attempt and the other None."""
        with self.session() as s:
            res = s.execute(update(Run).where(Run.id == run_id, Run.status == "queued")
                            .values(status="running", attempt=Run.attempt + 1, pid=None, started_at=utcnow(),
                                    heartbeat_at=utcnow(), cancel_requested=False, **fields))
            if res.rowcount != 1:
                return None
            return s.scalar(select(Run.attempt).where(Run.id == run_id))

    def bind_worker(self, run_id: int, attempt: int, pid: int, host: str, pgid: int | None = None) -> bool:
        """The worker process takes the attempt it was started for; a second process for it is refused."""
        with self.session() as s:
            res = s.execute(update(Run).where(Run.id == run_id, Run.attempt == attempt, Run.status == "running",
                                              Run.pid.is_(None))
                            .values(pid=pid, host=host, pgid=pgid, heartbeat_at=utcnow()))
            return res.rowcount == 1

    def finish(self, run_id: int, status: str, error: str = "", hint: str = "", attempt: int | None = None) -> bool:
        """End a run. With `attempt`, only while that attempt still holds it (returns whether it did)."""
        with self.session() as s:
            q = update(Run).where(Run.id == run_id)
            if attempt is not None:
                q = q.where(Run.attempt == attempt, Run.status == "running")
            res = s.execute(q.values(status=status, ended_at=utcnow(), error=error, hint=hint))
            return res.rowcount == 1

    def hand_back(self, run_id: int, attempt: int) -> bool:
        """A worker stopped by its cluster (time limit, preemption) gives up its process but not its attempt:
        the run stays running, and the same job, requeued, binds the attempt again."""
        with self.session() as s:
            res = s.execute(update(Run).where(Run.id == run_id, Run.attempt == attempt, Run.status == "running")
                            .values(pid=None, heartbeat_at=utcnow()))
            return res.rowcount == 1

    def touch(self, run_id: int, attempt: int) -> None:
        """A heartbeat on a run's behalf while its job waits in a cluster queue."""
        with self.session() as s:
            s.execute(update(Run).where(Run.id == run_id, Run.attempt == attempt, Run.status == "running")
                      .values(heartbeat_at=utcnow()))

    def mark_lost(self, run_id: int, attempt: int, error: str, hint: str) -> bool:
        """running -> lost, only if nothing moved the run on since the caller looked (same attempt)."""
        with self.session() as s:
            res = s.execute(update(Run).where(Run.id == run_id, Run.attempt == attempt, Run.status == "running")
                            .values(status="lost", ended_at=utcnow(), error=error, hint=hint))
            return res.rowcount == 1

    def heartbeat(self, run_id: int, step: int | None = None, total: int | None = None,
                  attempt: int | None = None) -> bool:
        """Returns whether a cancel was requested. With `attempt`: RunTakenOver once the run is not ours."""
        values = {"heartbeat_at": utcnow()}
        if step is not None:
            values["step"] = step
        if total is not None:
            values["total_steps"] = total
        with self.session() as s:
            self._fence(s, run_id, attempt)
            s.execute(update(Run).where(Run.id == run_id).values(**values))
            return bool(s.scalar(select(Run.cancel_requested).where(Run.id == run_id)))

    def request_cancel(self, run_id: int) -> dict:
        """Queued runs are cancelled at once; running ones get the flag (and the caller sends SIGTERM)."""
        with self.session() as s:
            run = s.get(Run, run_id)
            if run is None:
                raise KeyError(f"no run {run_id}")
            if run.status == "queued":
                run.status, run.ended_at = "cancelled", utcnow()
            elif run.status == "running":
                run.cancel_requested = True
            return _row(run)

    def requeue(self, run_id: int, resume: bool = True) -> bool:
        """A failed, lost or cancelled run back to queued (compare and set on the status)."""
        with self.session() as s:
            res = s.execute(update(Run).where(Run.id == run_id, Run.status.in_(("failed", "lost", "cancelled")))
                            .values(status="queued", cancel_requested=False, resume=resume, error="", hint="",
                                    ended_at=None, pid=None))
            return res.rowcount == 1

    def dependents(self, run_id: int) -> list[int]:
        """Every run that depends on this one, directly or through others, in dependency order."""
        with self.session() as s:
            edges = s.execute(select(Run.id, Run.depends_on).where(Run.depends_on.is_not(None))).all()
        children: dict[int, list[int]] = {}
        for child, parent in edges:
            children.setdefault(parent, []).append(child)
        out, frontier = [], [run_id]
        while frontier:
            nxt = sorted(c for r in frontier for c in children.get(r, []) if c not in out)
            out += nxt
            frontier = nxt
        return out

    def delete_run(self, run_id: int) -> None:
        with self.session() as s:
            for table in (Metric, MetricSummary, Histogram, PairStat, EvalCell, QuestionScore, Artifact):
                s.execute(delete(table).where(table.run_id == run_id))
            s.execute(update(Run).where(Run.depends_on == run_id).values(depends_on=None))
            s.execute(delete(Run).where(Run.id == run_id))

    def all_runs(self) -> list[dict]:
        """Every run's id, experiment, kind, status and config (sweeps group them by config)."""
        with self.session() as s:
            q = select(Run.id, Run.experiment_id, Run.kind, Run.status, Run.config).order_by(Run.id)
            return [{"id": i, "experiment_id": e, "kind": k, "status": st, "config": c} for i, e, k, st, c in s.execute(q)]

    def runs_with_status(self, *statuses: str) -> list[dict]:
        with self.session() as s:
            return [_row(r) for r in s.scalars(select(Run).where(Run.status.in_(statuses)).order_by(Run.id))]

    def ready_runs(self) -> list[dict]:
        """Queued runs whose dependency (if any) is done."""
        with self.session() as s:
            dep = Run.__table__.alias("dep")
            q = (select(Run).outerjoin(dep, Run.depends_on == dep.c.id)
                 .where(Run.status == "queued", or_(Run.depends_on.is_(None), dep.c.status == "done")).order_by(Run.id))
            return [_row(r) for r in s.scalars(q)]

    def blocked_runs(self) -> list[dict]:
        """Queued runs whose dependency failed, was cancelled or lost: they can never start."""
        with self.session() as s:
            dep = Run.__table__.alias("dep")
            q = (select(Run, dep.c.id, dep.c.status).join(dep, Run.depends_on == dep.c.id)
                 .where(Run.status == "queued", dep.c.status.in_(("failed", "cancelled", "lost"))))
            return [{**_row(r), "dep_id": d, "dep_status": st} for r, d, st in s.execute(q)]

    @staticmethod
    def _run_filter(q, text: str, statuses: tuple[str, ...]):
        """Every word of `text` must match the experiment name, the kind or the status of a run."""
        for word in text.split():
            like = f"%{word}%"
            q = q.where(or_(Experiment.name.ilike(like), Run.kind.ilike(like), Run.status.ilike(like)))
        if statuses:
            q = q.where(Run.status.in_(statuses))
        return q

    def list_runs(self, text: str = "", statuses: tuple[str, ...] = (), sort: str = "id", descending: bool = True,
                  offset: int = 0, limit: int = 200) -> list[dict]:
        """One page of runs with their experiment name, best dev G-XLT F1 and `score`: the G-XLT F1 a user looks
        for (an evaluate run's of its first suite, a training run's best dev), all from the summary table."""
        best = (select(MetricSummary.run_id, MetricSummary.best_value)
                .where(MetricSummary.key == "dev_gxlt_f1", MetricSummary.context == "").subquery())
        q = self._run_filter(select(Run, Experiment.name, best.c.best_value).join(Experiment)
                             .outerjoin(best, best.c.run_id == Run.id), text, statuses)
        column = {"id": Run.id, "kind": Run.kind, "status": Run.status, "experiment": Experiment.name,
                  "best": best.c.best_value, "started": Run.started_at, "ended": Run.ended_at}.get(sort, Run.id)
        q = q.order_by(column.desc() if descending else column.asc(), Run.id.desc()).offset(offset).limit(limit)
        with self.session() as s:
            runs = [{**_row(r), "experiment": name, "best_dev_gxlt_f1": b} for r, name, b in s.execute(q)]
            final = s.execute(select(MetricSummary.run_id, MetricSummary.key, MetricSummary.last_value, MetricSummary.id)
                              .where(MetricSummary.run_id.in_([r["id"] for r in runs]),
                                     MetricSummary.key.like("%\\_gxlt\\_f1", escape="\\"),
                                     MetricSummary.key != "dev_gxlt_f1").order_by(MetricSummary.id)).all()
        first = {}
        for run_id, key, value, _ in final:
            first.setdefault(run_id, (key[:-len("_gxlt_f1")], value))
        for r in runs:
            suite, value = first.get(r["id"], (None, None))
            r["score"], r["score_suite"] = (value, suite) if value is not None else (r["best_dev_gxlt_f1"], None)
        return runs

    def count_runs(self, text: str = "", statuses: tuple[str, ...] = ()) -> int:
        with self.session() as s:
            return s.scalar(self._run_filter(select(func.count(Run.id)).select_from(Run).join(Experiment), text, statuses))

    # --- writes from the worker (batched) ---------------------------------------------------------
    def write_batch(self, run_id: int, metrics=(), histograms=(), pairs=(), evals=(), artifacts=(), questions=(),
                    attempt: int | None = None) -> None:
        """One transaction for everything buffered since the last flush; with `attempt`, fenced: nothing is
        written once the run is not this worker's (RunTakenOver).

        metrics: (key, context, step, value, wall_time); histograms: dicts; pairs: (generation, key, q, c, mean, n);
        evals: dicts of EvalCell columns; artifacts: (kind, path, step, bytes); questions: dicts of QuestionScore
        columns."""
        with self.session() as s:
            self._fence(s, run_id, attempt)
            if metrics:
                s.execute(Metric.__table__.insert(), [
                    {"run_id": run_id, "key": k, "context": c, "step": st, "value": v, "wall_time": t or utcnow()}
                    for k, c, st, v, t in metrics])
                self._update_summary(s, run_id, metrics)
            if histograms:
                s.execute(Histogram.__table__.insert(), [{"run_id": run_id, **h} for h in histograms])
            if pairs:
                s.execute(PairStat.__table__.insert(), [
                    {"run_id": run_id, "generation": g, "key": k, "lang_q": q, "lang_c": c, "mean": m, "n": n}
                    for g, k, q, c, m, n in pairs])
            if evals:
                s.execute(EvalCell.__table__.insert(), [{"run_id": run_id, **e} for e in evals])
            if questions:
                s.execute(QuestionScore.__table__.insert(), [{"run_id": run_id, **q} for q in questions])
            if artifacts:
                s.execute(Artifact.__table__.insert(), [
                    {"run_id": run_id, "kind": k, "path": p, "step": st, "bytes": b} for k, p, st, b in artifacts])

    def _update_summary(self, s, run_id, metrics):
        latest: dict[tuple[str, str], tuple[int, float, float, int]] = {}
        for key, ctx, step, value, _ in metrics:
            last = latest.get((key, ctx))
            lower = lower_is_better(key)
            if last is None:
                latest[(key, ctx)] = (step, value, value, step)
            else:
                better = value < last[2] if lower else value > last[2]
                best, best_step = (value, step) if better else (last[2], last[3])
                latest[(key, ctx)] = (step, value, best, best_step) if step >= last[0] else (last[0], last[1], best, best_step)
        existing = {(m.key, m.context): m for m in s.scalars(
            select(MetricSummary).where(MetricSummary.run_id == run_id, MetricSummary.key.in_({k for k, _ in latest})))}
        for (key, ctx), (step, value, best, best_step) in latest.items():
            row = existing.get((key, ctx))
            if row is None:
                s.add(MetricSummary(run_id=run_id, key=key, context=ctx, last_step=step, last_value=value,
                                    best_value=best, best_step=best_step))
                continue
            if step >= row.last_step:
                row.last_step, row.last_value = step, value
            if (best < row.best_value) if lower_is_better(key) else (best > row.best_value):
                row.best_value, row.best_step = best, best_step

    def truncate_to(self, run_id: int, step: int = -1, generation: int = -1, attempt: int | None = None) -> None:
        """Make the run's rows those of the point it resumes from, so what it logs again is not doubled:
        step-keyed rows after `step` go, and generation-keyed rows (the teacher's per-generation histogram
        and pair statistics) from `generation` on, since that generation's teacher is computed again.
        (-1, -1): the run starts over, every row goes."""
        gen_histogram = Histogram.generation.is_not(None) & (Histogram.key == "coef_generation")
        with self.session() as s:
            self._fence(s, run_id, attempt)
            # sys_* metrics describe the machine over time (their step is seconds since queued): never truncated
            s.execute(delete(Metric).where(Metric.run_id == run_id, Metric.step > step, ~Metric.key.like("sys\\_%", escape="\\")))
            s.execute(delete(Histogram).where(Histogram.run_id == run_id, ~gen_histogram, Histogram.step > step))
            s.execute(delete(Histogram).where(Histogram.run_id == run_id, gen_histogram,
                                              (Histogram.generation >= generation) | (Histogram.step > step)))
            s.execute(delete(EvalCell).where(EvalCell.run_id == run_id, EvalCell.step > step))
            s.execute(delete(QuestionScore).where(QuestionScore.run_id == run_id, QuestionScore.step > step))
            s.execute(delete(Artifact).where(Artifact.run_id == run_id, Artifact.step > step))
            s.execute(delete(PairStat).where(PairStat.run_id == run_id, PairStat.generation >= generation))
            s.execute(delete(MetricSummary).where(MetricSummary.run_id == run_id))
            rows = s.execute(select(Metric.key, Metric.context, Metric.step, Metric.value, Metric.wall_time)
                             .where(Metric.run_id == run_id).order_by(Metric.step)).all()
            if rows:
                self._update_summary(s, run_id, [tuple(r) for r in rows])

    def keep_finished_cells(self, run_id: int, attempt: int | None = None) -> dict:
        """An evaluate run resumes: its scored cells (each written with its questions in one transaction)
        stay; what is written once at the end (summary metrics, prediction files) goes. Returns the kept
        cells as {(suite, lang_q, lang_c): cell}."""
        with self.session() as s:
            self._fence(s, run_id, attempt)
            for table in (Metric, MetricSummary, Artifact, Histogram, PairStat):
                s.execute(delete(table).where(table.run_id == run_id))
            cells = s.scalars(select(EvalCell).where(EvalCell.run_id == run_id)).all()
            return {(c.suite, c.lang_q, c.lang_c): _row(c) for c in cells}

    # --- reads ---------------------------------------------------------------------------------------
    def metric_keys(self, run_id: int) -> list[str]:
        with self.session() as s:
            return list(s.scalars(select(MetricSummary.key).where(MetricSummary.run_id == run_id).distinct()))

    def summary(self, run_id: int) -> dict[str, dict]:
        with self.session() as s:
            return {(m.key if not m.context else f"{m.key}[{m.context}]"): _row(m) for m in
                    s.scalars(select(MetricSummary).where(MetricSummary.run_id == run_id))}

    def metric_series(self, run_id: int, key: str, context: str = "", after_step: int = -1) -> list[tuple[int, float]]:
        with self.session() as s:
            q = (select(Metric.step, Metric.value).where(Metric.run_id == run_id, Metric.key == key,
                                                         Metric.context == context, Metric.step > after_step)
                 .order_by(Metric.step, Metric.id))
            return [(st, v) for st, v in s.execute(q)]

    def histograms(self, run_id: int, key: str = "coef") -> list[dict]:
        with self.session() as s:
            return [_row(h) for h in s.scalars(select(Histogram).where(Histogram.run_id == run_id, Histogram.key == key)
                                                .order_by(Histogram.step))]

    def pair_stats(self, run_id: int, key: str = "teacher_coef", generation: int | None = None) -> list[dict]:
        with self.session() as s:
            q = select(PairStat).where(PairStat.run_id == run_id, PairStat.key == key)
            if generation is None:
                latest = s.scalar(select(func.max(PairStat.generation)).where(PairStat.run_id == run_id, PairStat.key == key))
                q = q.where(PairStat.generation == latest)
            else:
                q = q.where(PairStat.generation == generation)
            return [_row(p) for p in s.scalars(q.order_by(PairStat.lang_q, PairStat.lang_c))]

    def eval_suites(self, run_id: int) -> list[dict]:
        """(suite, checkpoint, step) evaluations of a run, newest first."""
        with self.session() as s:
            q = (select(EvalCell.suite, EvalCell.checkpoint, EvalCell.step).where(EvalCell.run_id == run_id)
                 .distinct().order_by(EvalCell.step.desc()))
            return [{"suite": a, "checkpoint": b, "step": c} for a, b, c in s.execute(q)]

    def eval_cells(self, run_id: int, suite: str | None = None, checkpoint: str | None = None,
                   step: int | None = None) -> list[dict]:
        """Cells of one evaluation: by default the 'best' checkpoint's if there is one, else the latest step's."""
        with self.session() as s:
            base = select(EvalCell).where(EvalCell.run_id == run_id)
            if suite:
                base = base.where(EvalCell.suite == suite)
            if checkpoint is None and step is None:
                has_best = s.scalar(select(func.count()).select_from(base.where(EvalCell.checkpoint == "best").subquery()))
                checkpoint = "best" if has_best else "step"
            if checkpoint:
                base = base.where(EvalCell.checkpoint == checkpoint)
            if step is None:
                sub = base.subquery()
                step = s.scalar(select(func.max(sub.c.step)))
            base = base.where(EvalCell.step == step)
            return [_row(c) for c in s.scalars(base.order_by(EvalCell.lang_q, EvalCell.lang_c))]

    def question_scores(self, run_id: int, suite: str, checkpoint: str | None = None,
                        step: int | None = None) -> list[tuple[str, str, str, float, float]]:
        """(lang_q, lang_c, qid, em, f1) of one evaluation (by default the one eval_cells picks)."""
        if checkpoint is None or step is None:
            cells = self.eval_cells(run_id, suite, checkpoint, step)
            if not cells:
                return []
            checkpoint, step = cells[0]["checkpoint"], cells[0]["step"]
        with self.session() as s:
            q = (select(QuestionScore.lang_q, QuestionScore.lang_c, QuestionScore.qid, QuestionScore.exact_match,
                        QuestionScore.f1)
                 .where(QuestionScore.run_id == run_id, QuestionScore.suite == suite,
                        QuestionScore.checkpoint == checkpoint, QuestionScore.step == step)
                 .order_by(QuestionScore.lang_q, QuestionScore.lang_c, QuestionScore.qid))
            return [tuple(r) for r in s.execute(q)]

    def artifacts(self, run_id: int) -> list[dict]:
        with self.session() as s:
            return [_row(a) for a in s.scalars(select(Artifact).where(Artifact.run_id == run_id).order_by(Artifact.id))]

    # --- the scheduler lease ----------------------------------------------------------------------
    def acquire_lease(self, holder: str, pid: int, stale_after: float = 30.0, holder_alive=None) -> bool:
        """Take or renew the scheduler lease. Another holder's lease is taken over once its heartbeat is
        stale, or at once when `holder_alive(holder, pid)` says its process is gone."""
        now = utcnow()
        with self.session() as s:
            lease = s.get(SchedulerLease, 1)
            if lease is None:
                s.add(SchedulerLease(id=1, holder=holder, pid=pid, heartbeat_at=now))
                return True
            dead = holder_alive is not None and lease.holder != holder and not holder_alive(lease.holder, lease.pid)
            if lease.holder == holder or dead or lease.heartbeat_at < now - timedelta(seconds=stale_after):
                res = s.execute(update(SchedulerLease).where(SchedulerLease.id == 1, SchedulerLease.heartbeat_at == lease.heartbeat_at)
                                .values(holder=holder, pid=pid, heartbeat_at=now))
                return res.rowcount == 1
            return False

    def lease_alive(self, stale_after: float = 30.0, holder_alive=None) -> bool:
        with self.session() as s:
            lease = s.get(SchedulerLease, 1)
            if lease is None or lease.heartbeat_at < utcnow() - timedelta(seconds=stale_after):
                return False
            return holder_alive is None or holder_alive(lease.holder, lease.pid)

    def release_lease(self, holder: str) -> None:
        with self.session() as s:
            s.execute(delete(SchedulerLease).where(SchedulerLease.holder == holder))


def age_seconds(t: datetime | None) -> float:
    return float("inf") if t is None else (utcnow() - t).total_seconds()
