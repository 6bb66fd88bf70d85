"""`xlqa-run demo`: teacher (CE on English) then distillation (sampling + mAP@k) on the synthetic set,
evaluated on the 7x7 matrix, all in the store. Configs: examples/quickstart.toml (distill) and its teacher.
The console is the caller's: a view hears of each stage and run (engine.cli.render.demo draws it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from db.store import Store
from engine.config import ExperimentConfig, from_dict
from engine.jobs.foreground import ForegroundView, run_foreground
from engine.jobs.launch import ensure_scheduler, plan
from engine.pipeline import scored_checkpoint

DEMO_COMMON = {
    "model": {"name": "tiny-bert:128:2", "vocab_size": 4000},
    "features": {"max_length": 128, "doc_stride": 48, "max_query_length": 32},
    "eval": {"dev": "synthetic", "suites": ["synthetic"], "synthetic_paragraphs": 10},  # 30 questions a cell
}


def demo_configs(epochs: int | None = None) -> tuple[ExperimentConfig, ExperimentConfig]:
    # The teacher is scored once, at the end (no dev suite: it would only pick its last epoch, at the cost of a
    # quarter of the demo's time); the student keeps its dev curve.
    teacher = from_dict({**DEMO_COMMON, "name": "demo-teacher", "eval": {**DEMO_COMMON["eval"], "dev": ""},
                         "data": {"train": "synthetic", "languages": ["en"], "sample": False, "synthetic_paragraphs": 400},
                         "train": {"stage": "teacher", "epochs": 3, "learning_rate": 1e-3, "batch_size": 32, "grad_accum": 1,
                                   "log_every": 10}})
    quickstart = Path(__file__).resolve().parents[2] / "examples" / "quickstart.toml"
    if quickstart.exists():
        from engine.config import load_toml
        distill = load_toml(quickstart)
    else:
        distill = from_dict({**DEMO_COMMON, "name": "demo-distill",
                             "data": {"train": "synthetic", "ntl": 2, "synthetic_paragraphs": 60},
                             "train": {"stage": "distill", "epochs": 2, "learning_rate": 5e-4, "batch_size": 32,
                                       "grad_accum": 1, "log_every": 10},
                             "distill": {"temperature": 2.0, "coefficient": "map@k"}})
    if epochs:
        distill = distill.replace(**{"train.epochs": epochs})
    return teacher, distill


class DemoView(ForegroundView, Protocol):
    def stage(self, index: int, total: int, name: str, what: str) -> None: ...
    def stage_ended(self, name: str, run_ids: list[int], status: str) -> None: ...


@dataclass
class DemoResult:
    status: int                      # the exit code
    queued: list[int] = field(default_factory=list)   # --background: the runs queued
    teacher_eval: int | None = None  # the evaluate runs of the teacher and of the student
    student_eval: int | None = None


def _stage(store: Store, cfg: ExperimentConfig, view: DemoView, index: int, name: str, what: str,
           after: int | None = None) -> tuple[str, list[dict]]:
    view.stage(index, 2, name, what)
    newest = store.list_runs(limit=1)
    first = newest[0]["id"] + 1 if newest else 1
    status = run_foreground(store, cfg, after=after, view=view)
    runs = [r for r in store.list_runs(limit=10) if r["id"] >= first]
    view.stage_ended(name, sorted(r["id"] for r in runs), status)
    return status, runs


def run_demo(store: Store, view: DemoView, epochs: int | None = None, background: bool = False) -> DemoResult:
    teacher, distill = demo_configs(epochs)
    if background:
        ids = plan(store, teacher)
        distill = distill.replace(**{"model.init_from": str(scored_checkpoint(teacher, store.get_run(ids[1])["output_dir"]))})
        ids2 = plan(store, distill, after=ids[1])
        ensure_scheduler(store)
        return DemoResult(0, queued=ids + ids2)
    status, runs = _stage(store, teacher, view, 1, "teacher", "CE fine-tuning on English synthetic QA")
    if status != "done":
        return DemoResult(1)
    train_run = next(r for r in runs if r["kind"] == "teacher")
    teacher_eval = next(r["id"] for r in runs if r["kind"] == "evaluate")
    distill = distill.replace(**{"model.init_from": str(scored_checkpoint(teacher, train_run["output_dir"]))})
    status, runs = _stage(store, distill, view, 2, "distill", "cross-lingual sampling + self-distillation with mAP@k")
    if status != "done":
        return DemoResult(1)
    return DemoResult(0, teacher_eval=teacher_eval, student_eval=next(r["id"] for r in runs if r["kind"] == "evaluate"))
