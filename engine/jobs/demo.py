"""`xlqa-run demo`: teacher (CE on English) then distillation (sampling + mAP@k) on the synthetic set,
evaluated on the 7x7 matrix, all in the store. Configs: examples/quickstart.toml (distill) and its teacher."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from db.store import Store
from engine.config import ExperimentConfig, from_dict
from engine.jobs.foreground import run_foreground
from engine.jobs.launch import ensure_scheduler, plan
from engine.jobs.report import print_matrix
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


def run_demo(store: Store, epochs: int | None = None, background: bool = False, console: Console | None = None) -> int:
    console = console or Console()
    teacher, distill = demo_configs(epochs)
    if background:
        ids = plan(store, teacher)
        distill = distill.replace(**{"model.init_from": str(scored_checkpoint(teacher, store.get_run(ids[1])["output_dir"]))})
        ids2 = plan(store, distill, after=ids[1])
        ensure_scheduler(store)
        console.print(f"queued runs {ids + ids2}; watch them with `xlqa` or `xlqa-run list`")
        return 0
    console.print("[bold]1/2 teacher[/]: CE fine-tuning on English synthetic QA")
    if run_foreground(store, teacher, console=console) != "done":
        return 1
    teacher_run = store.list_runs(limit=3)
    train_run = next(r for r in teacher_run if r["kind"] == "teacher")
    distill = distill.replace(**{"model.init_from": str(scored_checkpoint(teacher, train_run["output_dir"]))})
    console.print("[bold]2/2 distill[/]: cross-lingual sampling + self-distillation with mAP@k")
    if run_foreground(store, distill, console=console) != "done":
        return 1
    runs = store.list_runs(limit=3)
    distill_run = next(r for r in runs if r["kind"] == "distill")
    eval_run = next(r for r in runs if r["kind"] == "evaluate")
    console.print("\n[bold]teacher[/] (before distillation):")
    print_matrix(store, next(r["id"] for r in store.list_runs(limit=6) if r["kind"] == "evaluate" and r["id"] < eval_run["id"]),
                 None, "f1", console=console)
    console.print("\n[bold]student[/] (after distillation):")
    print_matrix(store, eval_run["id"], None, "f1", console=console)
    console.print(f"\nruns are in {store.url}\nopen the dashboard: [bold]xlqa[/]   or: xlqa-run compare {eval_run['id']} {eval_run['id'] - 3}")
    return 0
