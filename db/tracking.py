"""Tracking writes from a worker: metrics (with their per-run summary), histograms, pair statistics,
evaluation cells, question scores and artifacts, batched and fenced by the worker's attempt; and the
truncation a resumed run needs so nothing it logs again is doubled."""

from __future__ import annotations

from sqlalchemy import delete, select

from db.queue import fence
from db.reads import rows
from db.tables import (ARTIFACT, EVAL_CELL, HISTOGRAM, METRIC, METRIC_SUMMARY, PAIR_STAT, QUESTION_SCORE, RUN_COST,
                       utcnow)

LOWER_IS_BETTER = ("loss",)  # keys containing these: best = min


def lower_is_better(key: str) -> bool:
    return any(s in key for s in LOWER_IS_BETTER)


class Tracking:
    """Mixed into Store, which provides session()."""

    def write_batch(self, run_id: int, metrics=(), histograms=(), pairs=(), evals=(), artifacts=(), questions=(),
                    alerts=(), costs=(), attempt: int | None = None) -> None:
        """One transaction for everything buffered since the last flush; with `attempt`, fenced: nothing is
        written once the run is not this worker's (RunTakenOver).

        metrics: (key, context, step, value, wall_time); histograms: dicts; pairs: (generation, key, q, c, mean, n);
        evals: dicts of eval_cell columns; artifacts: (kind, path, step, bytes); questions: dicts of question_score
        columns; alerts: (kind, text), handed to the store's alert hook after the commit; costs: dicts of
        run_cost columns, each replacing the row of its (run, attempt, stage)."""
        raised = []
        with self.session() as s:
            fence(s, run_id, attempt)
            if alerts:
                raised = self._insert_alerts(s, [(run_id, kind, body) for kind, body in alerts])
            if metrics:
                s.execute(METRIC.insert(), [
                    {"run_id": run_id, "key": k, "context": c, "step": st, "value": v, "wall_time": t or utcnow()}
                    for k, c, st, v, t in metrics])
                self._update_summary(s, run_id, metrics)
            if histograms:
                s.execute(HISTOGRAM.insert(), [{"run_id": run_id, **h} for h in histograms])
            if pairs:
                s.execute(PAIR_STAT.insert(), [
                    {"run_id": run_id, "generation": g, "key": k, "lang_q": q, "lang_c": c, "mean": m, "n": n}
                    for g, k, q, c, m, n in pairs])
            if evals:
                s.execute(EVAL_CELL.insert(), [{"run_id": run_id, **e} for e in evals])
            if questions:
                s.execute(QUESTION_SCORE.insert(), [{"run_id": run_id, **q} for q in questions])
            if artifacts:
                s.execute(ARTIFACT.insert(), [
                    {"run_id": run_id, "kind": k, "path": p, "step": st, "bytes": b} for k, p, st, b in artifacts])
            if costs:
                self._replace_costs(s, run_id, attempt or 0, costs)
        self._raised(raised)

    @staticmethod
    def _replace_costs(s, run_id: int, attempt: int, costs) -> None:
        latest = {c["stage"]: c for c in costs}   # a retried batch may hold a stage twice: the last one counts
        s.execute(delete(RUN_COST).where(RUN_COST.c.run_id == run_id, RUN_COST.c.attempt == attempt,
                                        RUN_COST.c.stage.in_(latest)))
        now = utcnow()
        s.execute(RUN_COST.insert(), [{"run_id": run_id, "attempt": attempt, "updated_at": now, **c}
                                               for c in latest.values()])

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
        from db.models import MetricSummary   # rows changed as objects: the ORM's (db/models.py)
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
        gen_histogram = HISTOGRAM.c.generation.is_not(None) & (HISTOGRAM.c.key == "coef_generation")
        with self.session() as s:
            fence(s, run_id, attempt)
            # sys_* metrics describe the machine over time (their step is seconds since queued): never truncated
            s.execute(delete(METRIC).where(METRIC.c.run_id == run_id, METRIC.c.step > step, ~METRIC.c.key.like("sys\\_%", escape="\\")))
            s.execute(delete(HISTOGRAM).where(HISTOGRAM.c.run_id == run_id, ~gen_histogram, HISTOGRAM.c.step > step))
            s.execute(delete(HISTOGRAM).where(HISTOGRAM.c.run_id == run_id, gen_histogram,
                                              (HISTOGRAM.c.generation >= generation) | (HISTOGRAM.c.step > step)))
            s.execute(delete(EVAL_CELL).where(EVAL_CELL.c.run_id == run_id, EVAL_CELL.c.step > step))
            s.execute(delete(QUESTION_SCORE).where(QUESTION_SCORE.c.run_id == run_id, QUESTION_SCORE.c.step > step))
            s.execute(delete(ARTIFACT).where(ARTIFACT.c.run_id == run_id, ARTIFACT.c.step > step))
            s.execute(delete(PAIR_STAT).where(PAIR_STAT.c.run_id == run_id, PAIR_STAT.c.generation >= generation))
            s.execute(delete(METRIC_SUMMARY).where(METRIC_SUMMARY.c.run_id == run_id))
            kept = s.execute(select(METRIC.c.key, METRIC.c.context, METRIC.c.step, METRIC.c.value, METRIC.c.wall_time)
                             .where(METRIC.c.run_id == run_id).order_by(METRIC.c.step)).all()
            if kept:
                self._update_summary(s, run_id, [tuple(r) for r in kept])

    def keep_finished_cells(self, run_id: int, attempt: int | None = None) -> dict:
        """An evaluate run resumes: its scored cells (each written with its questions in one transaction)
        stay; what is written once at the end (summary metrics, prediction files) goes. Returns the kept
        cells as {(suite, lang_q, lang_c): cell}."""
        with self.session() as s:
            fence(s, run_id, attempt)
            for table in (METRIC, METRIC_SUMMARY, ARTIFACT, HISTOGRAM, PAIR_STAT):
                s.execute(delete(table).where(table.c.run_id == run_id))
            cells = rows(s.execute(select(EVAL_CELL).where(EVAL_CELL.c.run_id == run_id)))
            return {(c["suite"], c["lang_q"], c["lang_c"]): c for c in cells}
