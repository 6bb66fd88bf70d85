"""The run queue: experiments and runs, their state machine (queued -> running -> done | failed | cancelled |
lost, and back to queued), the attempt that fences a worker's writes, and the scheduler lease."""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update

from db.configs import full_config, with_full_configs
from db.alerts import STATUS_ALERTS
from db.reads import rows, run_row
from db.session import StoreError
from db.tables import (ALERT, ARTIFACT, EVAL_CELL, EXPERIMENT, HISTOGRAM, METRIC, METRIC_SUMMARY, PAIR_STAT, QUESTION_SCORE,
                       RUN, SCHEDULER_LEASE, utcnow)
from db.states import RESUMABLE, UNFINISHED


class RunTakenOver(StoreError):
    """The run is no longer this worker's: it was marked lost, cancelled or claimed again (a newer attempt).
    The worker must stop without writing anything more."""


def fence(s, run_id: int, attempt: int | None) -> None:
    """Inside a write transaction: go on only while `attempt` still owns the running run. The UPDATE
    takes the row's write lock, so a concurrent mark-lost or re-claim is ordered before or after us."""
    if attempt is None:
        return
    res = s.execute(update(RUN).where(RUN.c.id == run_id, RUN.c.attempt == attempt, RUN.c.status == "running")
                    .values(heartbeat_at=utcnow()))
    if res.rowcount != 1:
        raise RunTakenOver(f"run {run_id} is no longer held by attempt {attempt} of this worker")


def age_seconds(t: datetime | None) -> float:
    return float("inf") if t is None else (utcnow() - t).total_seconds()


class RunQueue:
    """Mixed into Store, which provides session() (writes; the ORM models only where a row is built or changed as
    an object) and connect() (reads)."""

    def create_experiment(self, name: str, notes: str = "", tags: str = "", config: dict | None = None,
                          config_hash: str | None = None) -> int:
        """`config`: the full config its runs compute, stored once; `config_hash`: engine.config.config_hash of it."""
        from db.models import Experiment
        with self.session() as s:
            exp = Experiment(name=name, notes=notes, tags=tags, config=config, config_hash=config_hash)
            s.add(exp)
            s.flush()
            return exp.id

    def create_run(self, experiment_id: int, kind: str, config: dict, *, output_dir: str,
                   depends_on: int | None = None, devices: str = "", seed: int = 0, git_commit: str = "",
                   versions: dict | None = None, executor: str = "local", sweep: str | None = None) -> int:
        """`output_dir` must be absolute: the worker, `logs`, `resume` and the dashboard run in different
        working directories, and a relative folder would mean a different place to each. `sweep`: the sweep
        the run belongs to (default: its config's `sweep`). `config`: what the run overrides of its experiment's
        config (dotted keys, e.g. {"model.init_from": ...}) when the experiment has one, else its full config;
        either way the reads hand back the full config."""
        if not output_dir or not os.path.isabs(output_dir):
            raise ValueError(f"run output_dir {output_dir!r} is not an absolute path: resolve it before creating "
                             "the run (e.g. Path(output_dir).resolve())")
        from db.models import Run
        with self.session() as s:
            if sweep is None:
                exp_config = s.scalar(select(EXPERIMENT.c.config).where(EXPERIMENT.c.id == experiment_id))
                sweep = full_config(exp_config, config).get("sweep") or ""
            run = Run(experiment_id=experiment_id, kind=kind, config=config, depends_on=depends_on, devices=devices,
                      output_dir=output_dir, seed=seed, git_commit=git_commit, versions=versions or {},
                      executor=executor, sweep=sweep)
            s.add(run)
            s.flush()
            return run.id

    def update_run(self, run_id: int, **fields) -> None:
        with self.session() as s:
            s.execute(update(RUN).where(RUN.c.id == run_id).values(**fields))

    def claim(self, run_id: int, **fields) -> int | None:
        """queued -> running with a new attempt number, atomically (compare and set): of two executors that
        try to start the same run, one gets the attempt and the other None."""
        with self.session() as s:
            res = s.execute(update(RUN).where(RUN.c.id == run_id, RUN.c.status == "queued")
                            .values(status="running", attempt=RUN.c.attempt + 1, pid=None, started_at=utcnow(),
                                    heartbeat_at=utcnow(), cancel_requested=False, **fields))
            if res.rowcount != 1:
                return None
            return s.scalar(select(RUN.c.attempt).where(RUN.c.id == run_id))

    def bind_worker(self, run_id: int, attempt: int, pid: int, host: str, pgid: int | None = None) -> bool:
        """The worker process takes the attempt it was started for; a second process for it is refused."""
        with self.session() as s:
            res = s.execute(update(RUN).where(RUN.c.id == run_id, RUN.c.attempt == attempt, RUN.c.status == "running",
                                              RUN.c.pid.is_(None))
                            .values(pid=pid, host=host, pgid=pgid, heartbeat_at=utcnow()))
            return res.rowcount == 1

    def finish(self, run_id: int, status: str, error: str = "", hint: str = "", attempt: int | None = None,
               alert: bool | str = True) -> bool:
        """End a run. With `attempt`, only while that attempt still holds it (returns whether it did).
        `alert`: True raises the status's alert (db.alerts.STATUS_ALERTS) in the same transaction, a kind
        raises that one instead, False none (a run failed because the run it depends on did: that one said so)."""
        kind = (STATUS_ALERTS.get(status) if alert is True else alert) or None
        alerts = []
        with self.session() as s:
            q = update(RUN).where(RUN.c.id == run_id)
            if attempt is not None:
                q = q.where(RUN.c.attempt == attempt, RUN.c.status == "running")
            res = s.execute(q.values(status=status, ended_at=utcnow(), error=error, hint=hint))
            if res.rowcount == 1:
                alerts = self._end_alerts(s, run_id, status, error, kind)
        self._raised(alerts)
        return res.rowcount == 1

    def hand_back(self, run_id: int, attempt: int) -> bool:
        """A worker stopped by its cluster (time limit, preemption) gives up its process but not its attempt:
        the run stays running, and the same job, requeued, binds the attempt again."""
        with self.session() as s:
            res = s.execute(update(RUN).where(RUN.c.id == run_id, RUN.c.attempt == attempt, RUN.c.status == "running")
                            .values(pid=None, heartbeat_at=utcnow()))
            return res.rowcount == 1

    def touch(self, run_id: int, attempt: int) -> None:
        """A heartbeat on a run's behalf while its job waits in a cluster queue."""
        with self.session() as s:
            s.execute(update(RUN).where(RUN.c.id == run_id, RUN.c.attempt == attempt, RUN.c.status == "running")
                      .values(heartbeat_at=utcnow()))

    def mark_lost(self, run_id: int, attempt: int, error: str, hint: str) -> bool:
        """running -> lost, only if nothing moved the run on since the caller looked (same attempt); raises
        run_lost in the same transaction."""
        alerts = []
        with self.session() as s:
            res = s.execute(update(RUN).where(RUN.c.id == run_id, RUN.c.attempt == attempt, RUN.c.status == "running")
                            .values(status="lost", ended_at=utcnow(), error=error, hint=hint))
            if res.rowcount == 1:
                alerts = self._end_alerts(s, run_id, "lost", error, STATUS_ALERTS["lost"])
        self._raised(alerts)
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
            fence(s, run_id, attempt)
            s.execute(update(RUN).where(RUN.c.id == run_id).values(**values))
            return bool(s.scalar(select(RUN.c.cancel_requested).where(RUN.c.id == run_id)))

    def request_cancel(self, run_id: int) -> dict:
        """Queued runs are cancelled at once; running ones get the flag (and the caller sends SIGTERM)."""
        from db.models import Run, as_dict
        with self.session() as s:
            run = s.get(Run, run_id)
            if run is None:
                raise KeyError(f"no run {run_id}")
            if run.status == "queued":
                run.status, run.ended_at = "cancelled", utcnow()
            elif run.status == "running":
                run.cancel_requested = True
            return with_full_configs(s, [as_dict(run)])[0]

    def requeue(self, run_id: int, resume: bool = True) -> bool:
        """A failed, lost or cancelled run back to queued (compare and set on the status)."""
        with self.session() as s:
            res = s.execute(update(RUN).where(RUN.c.id == run_id, RUN.c.status.in_(RESUMABLE))
                            .values(status="queued", cancel_requested=False, resume=resume, error="", hint="",
                                    ended_at=None, pid=None))
            return res.rowcount == 1

    def dependents(self, run_id: int) -> list[int]:
        """Every run that depends on this one, directly or through others, in dependency order."""
        with self.connect() as conn:
            edges = conn.execute(select(RUN.c.id, RUN.c.depends_on).where(RUN.c.depends_on.is_not(None))).all()
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
            for table in (METRIC, METRIC_SUMMARY, HISTOGRAM, PAIR_STAT, EVAL_CELL, QUESTION_SCORE, ARTIFACT, ALERT):
                s.execute(delete(table).where(table.c.run_id == run_id))
            s.execute(update(RUN).where(RUN.c.depends_on == run_id).values(depends_on=None))
            s.execute(delete(RUN).where(RUN.c.id == run_id))

    def runs_with_status(self, *statuses: str) -> list[dict]:
        with self.connect() as conn:
            return with_full_configs(conn, rows(conn.execute(select(RUN).where(RUN.c.status.in_(statuses)).order_by(RUN.c.id))))

    def ready_runs(self) -> list[dict]:
        """Queued runs whose dependency (if any) is done."""
        dep = RUN.alias("dep")
        q = (select(RUN).outerjoin(dep, RUN.c.depends_on == dep.c.id)
             .where(RUN.c.status == "queued", or_(RUN.c.depends_on.is_(None), dep.c.status == "done")).order_by(RUN.c.id))
        with self.connect() as conn:
            return with_full_configs(conn, rows(conn.execute(q)))

    def blocked_runs(self) -> list[dict]:
        """Queued runs whose dependency failed, was cancelled or lost: they can never start."""
        dep = RUN.alias("dep")
        q = (select(RUN, dep.c.id.label("dep_id"), dep.c.status.label("dep_status")).join(dep, RUN.c.depends_on == dep.c.id)
             .where(RUN.c.status == "queued", dep.c.status.in_(UNFINISHED)))
        with self.connect() as conn:
            return with_full_configs(conn, [{**run_row(r), "dep_id": r["dep_id"], "dep_status": r["dep_status"]}
                                            for r in conn.execute(q).mappings()])

    def acquire_lease(self, holder: str, pid: int, stale_after: float = 30.0, holder_alive=None) -> bool:
        """Take or renew the scheduler lease. Another holder's lease is taken over once its heartbeat is
        stale, or at once when `holder_alive(holder, pid)` says its process is gone."""
        from db.models import SchedulerLease
        now = utcnow()
        with self.session() as s:
            lease = s.get(SchedulerLease, 1)
            if lease is None:
                s.add(SchedulerLease(id=1, holder=holder, pid=pid, heartbeat_at=now))
                return True
            dead = holder_alive is not None and lease.holder != holder and not holder_alive(lease.holder, lease.pid)
            if lease.holder == holder or dead or lease.heartbeat_at < now - timedelta(seconds=stale_after):
                res = s.execute(update(SCHEDULER_LEASE).where(SCHEDULER_LEASE.c.id == 1, SCHEDULER_LEASE.c.heartbeat_at == lease.heartbeat_at)
                                .values(holder=holder, pid=pid, heartbeat_at=now))
                return res.rowcount == 1
            return False

    def lease_alive(self, stale_after: float = 30.0, holder_alive=None) -> bool:
        with self.connect() as conn:
            lease = conn.execute(select(SCHEDULER_LEASE).where(SCHEDULER_LEASE.c.id == 1)).first()
        if lease is None or lease.heartbeat_at < utcnow() - timedelta(seconds=stale_after):
            return False
        return holder_alive is None or holder_alive(lease.holder, lease.pid)

    def release_lease(self, holder: str) -> None:
        with self.session() as s:
            s.execute(delete(SCHEDULER_LEASE).where(SCHEDULER_LEASE.c.holder == holder))
