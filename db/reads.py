"""The reads the dashboard and the CLI share: run pages and counts, sweeps, metric series and summaries,
histograms, pair statistics, evaluation cells, question scores and artifacts. Plain dicts come out."""

from __future__ import annotations

from sqlalchemy import column, func, or_, select, table

from db.configs import full_config, with_full_configs
from db.states import COST_TOTALS
from db.models import (Artifact, EvalCell, Experiment, Histogram, Metric, MetricSummary, PairStat, QuestionScore,
                       Run, RunCost, as_dict)

V_RUNS = table("v_runs", column("run_id"), *(column(c) for c in COST_TOTALS))


PREFERRED_CHECKPOINT = "preferred"  # the 'best' checkpoint's cells if the run has any, else the training steps'
ANY_CHECKPOINT = "any"              # whichever checkpoint was scored (at the step asked for)
CHECKPOINTS = ("step", "best")      # what EvalCell.checkpoint holds


def check_checkpoint(checkpoint: str) -> None:
    if checkpoint not in (*CHECKPOINTS, PREFERRED_CHECKPOINT, ANY_CHECKPOINT):
        raise ValueError(f"checkpoint {checkpoint!r}: expected one of {CHECKPOINTS}, PREFERRED_CHECKPOINT or ANY_CHECKPOINT")


class Reads:
    """Mixed into Store, which provides session()."""

    def get_run(self, run_id: int) -> dict | None:
        with self.session() as s:
            run = s.get(Run, run_id)
            if run is None:
                return None
            out = as_dict(run)
            out["experiment"] = run.experiment.name
            out["config"] = full_config(run.experiment.config, run.config)
            return out

    def all_runs(self, sweep: str | None = None) -> list[dict]:
        """Every run's id, experiment, kind, status, sweep and config; with `sweep`, that sweep's only (indexed)."""
        q = select(Run.id, Run.experiment_id, Run.kind, Run.status, Run.sweep, Run.config).order_by(Run.id)
        if sweep is not None:
            q = q.where(Run.sweep == sweep)
        with self.session() as s:
            return with_full_configs(s, [{"id": i, "experiment_id": e, "kind": k, "status": st, "sweep": sw, "config": c}
                                         for i, e, k, st, sw, c in s.execute(q)])

    def sweep_counts(self) -> dict[str, dict[str, int]]:
        """sweep -> {status: number of its runs}, counted by the database over the indexed column."""
        out: dict[str, dict[str, int]] = {}
        with self.session() as s:
            for sweep, status, n in s.execute(select(Run.sweep, Run.status, func.count(Run.id))
                                              .where(Run.sweep != "").group_by(Run.sweep, Run.status)):
                out.setdefault(sweep, {})[status] = n
        return out

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
        """One page of runs with their experiment name, best dev G-XLT F1, `score`: the G-XLT F1 a user looks
        for (an evaluate run's of its first suite, a training run's best dev), all from the summary table, and
        `alerts` / `alert_level`: how many warnings and errors it raised, and the worst (db.alerts)."""
        best = (select(MetricSummary.run_id, MetricSummary.best_value)
                .where(MetricSummary.key == "dev_gxlt_f1", MetricSummary.context == "").subquery())
        q = self._run_filter(select(Run, Experiment.name, Experiment.config, best.c.best_value).join(Experiment)
                             .outerjoin(best, best.c.run_id == Run.id), text, statuses)
        column = {"id": Run.id, "kind": Run.kind, "status": Run.status, "experiment": Experiment.name,
                  "best": best.c.best_value, "started": Run.started_at, "ended": Run.ended_at}.get(sort, Run.id)
        q = q.order_by(column.desc() if descending else column.asc(), Run.id.desc()).offset(offset).limit(limit)
        with self.session() as s:
            runs = [{**as_dict(r), "experiment": name, "best_dev_gxlt_f1": b, "config": full_config(c, r.config)}
                    for r, name, c, b in s.execute(q)]
            final = s.execute(select(MetricSummary.run_id, MetricSummary.key, MetricSummary.last_value, MetricSummary.id)
                              .where(MetricSummary.run_id.in_([r["id"] for r in runs]),
                                     MetricSummary.key.like("%\\_gxlt\\_f1", escape="\\"),
                                     MetricSummary.key != "dev_gxlt_f1").order_by(MetricSummary.id)).all()
        first = {}
        for run_id, key, value, _ in final:
            first.setdefault(run_id, (key[:-len("_gxlt_f1")], value))
        badges = self.alert_badges(r["id"] for r in runs)
        for r in runs:
            suite, value = first.get(r["id"], (None, None))
            r["score"], r["score_suite"] = (value, suite) if value is not None else (r["best_dev_gxlt_f1"], None)
            r["alerts"], r["alert_level"] = badges.get(r["id"], (0, None))
        totals = self.cost_totals(r["id"] for r in runs)
        for r in runs:
            r.update(totals.get(r["id"], dict.fromkeys(COST_TOTALS)))
        return runs

    def count_runs(self, text: str = "", statuses: tuple[str, ...] = ()) -> int:
        with self.session() as s:
            return s.scalar(self._run_filter(select(func.count(Run.id)).select_from(Run).join(Experiment), text, statuses))

    def metric_keys(self, run_id: int) -> list[str]:
        with self.session() as s:
            return list(s.scalars(select(MetricSummary.key).where(MetricSummary.run_id == run_id).distinct()))

    def summary(self, run_id: int) -> dict[str, dict]:
        with self.session() as s:
            return {(m.key if not m.context else f"{m.key}[{m.context}]"): as_dict(m) for m in
                    s.scalars(select(MetricSummary).where(MetricSummary.run_id == run_id))}

    def metric_series(self, run_id: int, key: str, context: str = "", after_step: int = -1) -> list[tuple[int, float]]:
        with self.session() as s:
            q = (select(Metric.step, Metric.value).where(Metric.run_id == run_id, Metric.key == key,
                                                         Metric.context == context, Metric.step > after_step)
                 .order_by(Metric.step, Metric.id))
            return [(st, v) for st, v in s.execute(q)]

    def metrics_at_step(self, run_id: int, step: int) -> dict[str, tuple[int, float]]:
        """Every metric of a run at `step`, or at its logged step nearest to it (the earlier on a tie):
        {"key" or "key[context]": (step, value)}. The machine's sys_* metrics are left out: their step counts
        seconds, not training steps."""
        distance = func.abs(Metric.step - step)
        nearest = (select(Metric.key, Metric.context, Metric.step, Metric.value,
                          func.row_number().over(partition_by=(Metric.key, Metric.context),
                                                 order_by=(distance, Metric.step, Metric.id.desc())).label("rank"))
                   .where(Metric.run_id == run_id, ~Metric.key.like("sys\\_%", escape="\\")).subquery())
        with self.session() as s:
            found = s.execute(select(nearest.c.key, nearest.c.context, nearest.c.step, nearest.c.value)
                              .where(nearest.c.rank == 1).order_by(nearest.c.key, nearest.c.context))
            return {(k if not ctx else f"{k}[{ctx}]"): (st, v) for k, ctx, st, v in found}

    def histograms(self, run_id: int, key: str = "coef") -> list[dict]:
        with self.session() as s:
            return [as_dict(h) for h in s.scalars(select(Histogram).where(Histogram.run_id == run_id, Histogram.key == key)
                                                .order_by(Histogram.step))]

    def pair_stats(self, run_id: int, key: str = "teacher_coef", generation: int | None = None) -> list[dict]:
        with self.session() as s:
            q = select(PairStat).where(PairStat.run_id == run_id, PairStat.key == key)
            if generation is None:
                latest = s.scalar(select(func.max(PairStat.generation)).where(PairStat.run_id == run_id, PairStat.key == key))
                q = q.where(PairStat.generation == latest)
            else:
                q = q.where(PairStat.generation == generation)
            return [as_dict(p) for p in s.scalars(q.order_by(PairStat.lang_q, PairStat.lang_c))]

    def eval_suites(self, run_id: int) -> list[dict]:
        """(suite, checkpoint, step) evaluations of a run, newest first."""
        with self.session() as s:
            q = (select(EvalCell.suite, EvalCell.checkpoint, EvalCell.step).where(EvalCell.run_id == run_id)
                 .distinct().order_by(EvalCell.step.desc()))
            return [{"suite": a, "checkpoint": b, "step": c} for a, b, c in s.execute(q)]

    def eval_cells(self, run_id: int, suite: str | None = None, checkpoint: str = PREFERRED_CHECKPOINT,
                   step: int | None = None) -> list[dict]:
        """Cells of one evaluation. `checkpoint`: "best", "step", ANY_CHECKPOINT, or PREFERRED_CHECKPOINT (the
        'best' checkpoint's if the run has one, else the training steps'); `step`: that step, None for the latest."""
        check_checkpoint(checkpoint)
        with self.session() as s:
            base = select(EvalCell).where(EvalCell.run_id == run_id)
            if suite:
                base = base.where(EvalCell.suite == suite)
            if checkpoint == PREFERRED_CHECKPOINT:
                has_best = s.scalar(select(func.count()).select_from(base.where(EvalCell.checkpoint == "best").subquery()))
                checkpoint = "best" if has_best else "step"
            if checkpoint != ANY_CHECKPOINT:
                base = base.where(EvalCell.checkpoint == checkpoint)
            if step is None:
                sub = base.subquery()
                step = s.scalar(select(func.max(sub.c.step)))
            base = base.where(EvalCell.step == step)
            return [as_dict(c) for c in s.scalars(base.order_by(EvalCell.lang_q, EvalCell.lang_c))]

    def question_scores(self, run_id: int, suite: str, checkpoint: str = PREFERRED_CHECKPOINT,
                        step: int | None = None) -> list[tuple[str, str, str, float, float]]:
        """(lang_q, lang_c, qid, em, f1) of one evaluation, chosen as eval_cells chooses it."""
        check_checkpoint(checkpoint)
        if checkpoint in (PREFERRED_CHECKPOINT, ANY_CHECKPOINT) or step is None:
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
            return [as_dict(a) for a in s.scalars(select(Artifact).where(Artifact.run_id == run_id).order_by(Artifact.id))]

    def run_costs(self, run_id: int) -> list[dict]:
        """The run's cost rows, one per (attempt, stage), in the order they were first written."""
        with self.session() as s:
            return [as_dict(c) for c in s.scalars(select(RunCost).where(RunCost.run_id == run_id)
                                                  .order_by(RunCost.attempt, RunCost.id))]

    def cost_totals(self, run_ids) -> dict[int, dict]:
        """{run id: its totals (COST_TOTALS, None where nothing was measured)} from v_runs."""
        ids = list(run_ids)
        if not ids:
            return {}
        with self.session() as s:
            rows = s.execute(select(V_RUNS).where(V_RUNS.c.run_id.in_(ids))).mappings().all()
            return {r["run_id"]: {k: r[k] for k in COST_TOTALS} for r in rows}

    def runs_by_output_dir(self, paths) -> dict[str, int]:
        """{output_dir: run id} of the runs writing to these folders (a model.init_from's run)."""
        wanted = list({str(p) for p in paths})
        if not wanted:
            return {}
        with self.session() as s:
            return {d: i for i, d in s.execute(select(Run.id, Run.output_dir).where(Run.output_dir.in_(wanted)))}
