"""The reads the dashboard and the CLI share: run pages and counts, sweeps, metric series and summaries,
histograms, pair statistics, evaluation cells, question scores and artifacts. Plain dicts come out."""

from __future__ import annotations

from sqlalchemy import column, func, or_, select, table

from db.configs import full_config, with_full_configs
from db.states import COST_TOTALS
from db.tables import (ARTIFACT, EVAL_CELL, EXPERIMENT, HISTOGRAM, METRIC, METRIC_SUMMARY, PAIR_STAT, QUESTION_SCORE,
                       RUN, RUN_COST)

V_RUNS = table("v_runs", column("run_id"), *(column(c) for c in COST_TOTALS))


PREFERRED_CHECKPOINT = "preferred"  # the 'best' checkpoint's cells if the run has any, else the training steps'
ANY_CHECKPOINT = "any"              # whichever checkpoint was scored (at the step asked for)
CHECKPOINTS = ("step", "best")      # what eval_cell.checkpoint holds


def check_checkpoint(checkpoint: str) -> None:
    if checkpoint not in (*CHECKPOINTS, PREFERRED_CHECKPOINT, ANY_CHECKPOINT):
        raise ValueError(f"checkpoint {checkpoint!r}: expected one of {CHECKPOINTS}, PREFERRED_CHECKPOINT or ANY_CHECKPOINT")


def rows(result) -> list[dict]:
    """A Core result's rows as plain dicts, keyed by column."""
    return [dict(r) for r in result.mappings()]


def run_row(row) -> dict:
    """The run table's columns of a result row (a mapping) that holds more."""
    return {k: row[k] for k in RUN.c.keys()}


def run_dict(row) -> dict:
    """A run row selected with EXPERIMENT_OF_RUN: its columns, its experiment's name and its full config."""
    return {**run_row(row), "experiment": row["experiment_name"],
            "config": full_config(row["experiment_config"], row["config"])}


EXPERIMENT_OF_RUN = (EXPERIMENT.c.name.label("experiment_name"), EXPERIMENT.c.config.label("experiment_config"))


class Reads:
    """Mixed into Store, which provides connect() (a Core connection: the reads import no ORM)."""

    def get_run(self, run_id: int) -> dict | None:
        with self.connect() as conn:
            row = conn.execute(select(RUN, *EXPERIMENT_OF_RUN).join(EXPERIMENT).where(RUN.c.id == run_id)).mappings().first()
        return None if row is None else run_dict(row)

    def all_runs(self, sweep: str | None = None) -> list[dict]:
        """Every run's id, experiment, kind, status, sweep and config; with `sweep`, that sweep's only (indexed)."""
        q = select(RUN.c.id, RUN.c.experiment_id, RUN.c.kind, RUN.c.status, RUN.c.sweep, RUN.c.config).order_by(RUN.c.id)
        if sweep is not None:
            q = q.where(RUN.c.sweep == sweep)
        with self.connect() as conn:
            return with_full_configs(conn, [{"id": i, "experiment_id": e, "kind": k, "status": st, "sweep": sw, "config": c}
                                         for i, e, k, st, sw, c in conn.execute(q)])

    def sweep_counts(self) -> dict[str, dict[str, int]]:
        """sweep -> {status: number of its runs}, counted by the database over the indexed column."""
        out: dict[str, dict[str, int]] = {}
        with self.connect() as conn:
            for sweep, status, n in conn.execute(select(RUN.c.sweep, RUN.c.status, func.count(RUN.c.id))
                                              .where(RUN.c.sweep != "").group_by(RUN.c.sweep, RUN.c.status)):
                out.setdefault(sweep, {})[status] = n
        return out

    @staticmethod
    def _run_filter(q, text: str, statuses: tuple[str, ...]):
        """Every word of `text` must match the experiment name, the kind or the status of a run."""
        for word in text.split():
            like = f"%{word}%"
            q = q.where(or_(EXPERIMENT.c.name.ilike(like), RUN.c.kind.ilike(like), RUN.c.status.ilike(like)))
        if statuses:
            q = q.where(RUN.c.status.in_(statuses))
        return q

    def list_runs(self, text: str = "", statuses: tuple[str, ...] = (), sort: str = "id", descending: bool = True,
                  offset: int = 0, limit: int = 200) -> list[dict]:
        """One page of runs with their experiment name, best dev G-XLT F1, `score`: the G-XLT F1 a user looks
        for (an evaluate run's of its first suite, a training run's best dev), all from the summary table, and
        `alerts` / `alert_level`: how many warnings and errors it raised, and the worst (db.alerts)."""
        best = (select(METRIC_SUMMARY.c.run_id, METRIC_SUMMARY.c.best_value)
                .where(METRIC_SUMMARY.c.key == "dev_gxlt_f1", METRIC_SUMMARY.c.context == "").subquery())
        q = self._run_filter(select(RUN, *EXPERIMENT_OF_RUN, best.c.best_value.label("best_dev_gxlt_f1"))
                             .join(EXPERIMENT).outerjoin(best, best.c.run_id == RUN.c.id), text, statuses)
        column = {"id": RUN.c.id, "kind": RUN.c.kind, "status": RUN.c.status, "experiment": EXPERIMENT.c.name,
                  "best": best.c.best_value, "started": RUN.c.started_at, "ended": RUN.c.ended_at}.get(sort, RUN.c.id)
        q = q.order_by(column.desc() if descending else column.asc(), RUN.c.id.desc()).offset(offset).limit(limit)
        with self.connect() as conn:
            runs = [{**run_dict(r), "best_dev_gxlt_f1": r["best_dev_gxlt_f1"]} for r in conn.execute(q).mappings()]
            final = conn.execute(select(METRIC_SUMMARY.c.run_id, METRIC_SUMMARY.c.key, METRIC_SUMMARY.c.last_value, METRIC_SUMMARY.c.id)
                              .where(METRIC_SUMMARY.c.run_id.in_([r["id"] for r in runs]),
                                     METRIC_SUMMARY.c.key.like("%\\_gxlt\\_f1", escape="\\"),
                                     METRIC_SUMMARY.c.key != "dev_gxlt_f1").order_by(METRIC_SUMMARY.c.id)).all()
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
        with self.connect() as conn:
            return conn.scalar(self._run_filter(select(func.count(RUN.c.id)).select_from(RUN).join(EXPERIMENT), text, statuses))

    def metric_keys(self, run_id: int) -> list[str]:
        with self.connect() as conn:
            return list(conn.scalars(select(METRIC_SUMMARY.c.key).where(METRIC_SUMMARY.c.run_id == run_id).distinct()))

    def summary(self, run_id: int) -> dict[str, dict]:
        with self.connect() as conn:
            return {(m["key"] if not m["context"] else f"{m['key']}[{m['context']}]"): m for m in
                    rows(conn.execute(select(METRIC_SUMMARY).where(METRIC_SUMMARY.c.run_id == run_id)))}

    def metric_series(self, run_id: int, key: str, context: str = "", after_step: int = -1) -> list[tuple[int, float]]:
        with self.connect() as conn:
            q = (select(METRIC.c.step, METRIC.c.value).where(METRIC.c.run_id == run_id, METRIC.c.key == key,
                                                         METRIC.c.context == context, METRIC.c.step > after_step)
                 .order_by(METRIC.c.step, METRIC.c.id))
            return [(st, v) for st, v in conn.execute(q)]

    def metrics_at_step(self, run_id: int, step: int) -> dict[str, tuple[int, float]]:
        """Every metric of a run at `step`, or at its logged step nearest to it (the earlier on a tie):
        {"key" or "key[context]": (step, value)}. The machine's sys_* metrics are left out: their step counts
        seconds, not training steps."""
        distance = func.abs(METRIC.c.step - step)
        nearest = (select(METRIC.c.key, METRIC.c.context, METRIC.c.step, METRIC.c.value,
                          func.row_number().over(partition_by=(METRIC.c.key, METRIC.c.context),
                                                 order_by=(distance, METRIC.c.step, METRIC.c.id.desc())).label("rank"))
                   .where(METRIC.c.run_id == run_id, ~METRIC.c.key.like("sys\\_%", escape="\\")).subquery())
        with self.connect() as conn:
            found = conn.execute(select(nearest.c.key, nearest.c.context, nearest.c.step, nearest.c.value)
                              .where(nearest.c.rank == 1).order_by(nearest.c.key, nearest.c.context))
            return {(k if not ctx else f"{k}[{ctx}]"): (st, v) for k, ctx, st, v in found}

    def histograms(self, run_id: int, key: str = "coef") -> list[dict]:
        with self.connect() as conn:
            return rows(conn.execute(select(HISTOGRAM).where(HISTOGRAM.c.run_id == run_id, HISTOGRAM.c.key == key)
                                     .order_by(HISTOGRAM.c.step)))

    def pair_stats(self, run_id: int, key: str = "teacher_coef", generation: int | None = None) -> list[dict]:
        with self.connect() as conn:
            q = select(PAIR_STAT).where(PAIR_STAT.c.run_id == run_id, PAIR_STAT.c.key == key)
            if generation is None:
                latest = conn.scalar(select(func.max(PAIR_STAT.c.generation)).where(PAIR_STAT.c.run_id == run_id, PAIR_STAT.c.key == key))
                q = q.where(PAIR_STAT.c.generation == latest)
            else:
                q = q.where(PAIR_STAT.c.generation == generation)
            return rows(conn.execute(q.order_by(PAIR_STAT.c.lang_q, PAIR_STAT.c.lang_c)))

    def eval_suites(self, run_id: int) -> list[dict]:
        """(suite, checkpoint, step) evaluations of a run, newest first."""
        with self.connect() as conn:
            q = (select(EVAL_CELL.c.suite, EVAL_CELL.c.checkpoint, EVAL_CELL.c.step).where(EVAL_CELL.c.run_id == run_id)
                 .distinct().order_by(EVAL_CELL.c.step.desc()))
            return [{"suite": a, "checkpoint": b, "step": c} for a, b, c in conn.execute(q)]

    def eval_cells(self, run_id: int, suite: str | None = None, checkpoint: str = PREFERRED_CHECKPOINT,
                   step: int | None = None) -> list[dict]:
        """Cells of one evaluation. `checkpoint`: "best", "step", ANY_CHECKPOINT, or PREFERRED_CHECKPOINT (the
        'best' checkpoint's if the run has one, else the training steps'); `step`: that step, None for the latest."""
        check_checkpoint(checkpoint)
        with self.connect() as conn:
            base = select(EVAL_CELL).where(EVAL_CELL.c.run_id == run_id)
            if suite:
                base = base.where(EVAL_CELL.c.suite == suite)
            if checkpoint == PREFERRED_CHECKPOINT:
                has_best = conn.scalar(select(func.count()).select_from(base.where(EVAL_CELL.c.checkpoint == "best").subquery()))
                checkpoint = "best" if has_best else "step"
            if checkpoint != ANY_CHECKPOINT:
                base = base.where(EVAL_CELL.c.checkpoint == checkpoint)
            if step is None:
                sub = base.subquery()
                step = conn.scalar(select(func.max(sub.c.step)))
            base = base.where(EVAL_CELL.c.step == step)
            return rows(conn.execute(base.order_by(EVAL_CELL.c.lang_q, EVAL_CELL.c.lang_c)))

    def question_scores(self, run_id: int, suite: str, checkpoint: str = PREFERRED_CHECKPOINT,
                        step: int | None = None) -> list[tuple[str, str, str, float, float]]:
        """(lang_q, lang_c, qid, em, f1) of one evaluation, chosen as eval_cells chooses it."""
        check_checkpoint(checkpoint)
        if checkpoint in (PREFERRED_CHECKPOINT, ANY_CHECKPOINT) or step is None:
            cells = self.eval_cells(run_id, suite, checkpoint, step)
            if not cells:
                return []
            checkpoint, step = cells[0]["checkpoint"], cells[0]["step"]
        with self.connect() as conn:
            q = (select(QUESTION_SCORE.c.lang_q, QUESTION_SCORE.c.lang_c, QUESTION_SCORE.c.qid, QUESTION_SCORE.c.exact_match,
                        QUESTION_SCORE.c.f1)
                 .where(QUESTION_SCORE.c.run_id == run_id, QUESTION_SCORE.c.suite == suite,
                        QUESTION_SCORE.c.checkpoint == checkpoint, QUESTION_SCORE.c.step == step)
                 .order_by(QUESTION_SCORE.c.lang_q, QUESTION_SCORE.c.lang_c, QUESTION_SCORE.c.qid))
            return [tuple(r) for r in conn.execute(q)]

    def artifacts(self, run_id: int) -> list[dict]:
        with self.connect() as conn:
            return rows(conn.execute(select(ARTIFACT).where(ARTIFACT.c.run_id == run_id).order_by(ARTIFACT.c.id)))

    def run_costs(self, run_id: int) -> list[dict]:
        """The run's cost rows, one per (attempt, stage), in the order they were first written."""
        with self.connect() as conn:
            return rows(conn.execute(select(RUN_COST).where(RUN_COST.c.run_id == run_id)
                                     .order_by(RUN_COST.c.attempt, RUN_COST.c.id)))

    def cost_totals(self, run_ids) -> dict[int, dict]:
        """{run id: its totals (COST_TOTALS, None where nothing was measured)} from v_runs."""
        ids = list(run_ids)
        if not ids:
            return {}
        with self.connect() as conn:
            return {r["run_id"]: {k: r[k] for k in COST_TOTALS}
                    for r in conn.execute(select(V_RUNS).where(V_RUNS.c.run_id.in_(ids))).mappings()}

    def runs_by_output_dir(self, paths) -> dict[str, int]:
        """{output_dir: run id} of the runs writing to these folders (a model.init_from's run)."""
        wanted = list({str(p) for p in paths})
        if not wanted:
            return {}
        with self.connect() as conn:
            return {d: i for i, d in conn.execute(select(RUN.c.id, RUN.c.output_dir).where(RUN.c.output_dir.in_(wanted)))}
