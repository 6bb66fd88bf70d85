"""The paper's open questions as one CPU-sized demonstration on the synthetic data (docs/open_questions.md):
one teacher, then two sweeps of students from it, 2 seeds each, run in this process through xlqa's own
configs, jobs and database, and their tables.

  oq-coefficient  distill.coefficient = none, map@k, entropy, confidence, gold-mass   (data.pairs = all)
  oq-pairs        data.pairs = same-language, english-question, cross-only          (coefficient map@k;
                  its `all` row is oq-coefficient's map@k point, the same config)

    python studies/open_questions/run.py --db oq.db --runs-dir runs      # about 20 minutes on 2 busy cores
    xlqa --db oq.db                                                       # the runs, their coefficient tabs

Run it again to complete a sweep: points done are skipped. Synthetic results show the mechanics, not a finding.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SWEEPS = {
    "oq-coefficient": ["distill.coefficient=none,map@k,entropy,confidence,gold-mass"],
    "oq-pairs": ["data.pairs=same-language,english-question,cross-only"],
}


def teacher_checkpoint(store, runs_dir: Path) -> tuple[Path, int]:
    """The teacher's final checkpoint and its evaluate run: trained now unless a done one is in the store."""
    from engine.config import load_toml
    from engine.jobs.foreground import run_foreground
    from engine.pipeline import scored_checkpoint
    cfg = load_toml(HERE / "teacher.toml", [f"output_dir={runs_dir}"])
    runs = [store.get_run(r["id"]) for r in store.all_runs()]
    done = [r for r in runs if r["experiment"] == cfg.name and r["status"] == "done"]
    if not any(r["kind"] == "evaluate" for r in done):
        t0 = time.perf_counter()
        if run_foreground(store, cfg) != "done":
            raise SystemExit("the teacher failed: see its worker.log (xlqa-run list)")
        print(f"teacher: {time.perf_counter() - t0:.0f} s", flush=True)
        runs = [store.get_run(r["id"]) for r in store.all_runs()]
        done = [r for r in runs if r["experiment"] == cfg.name and r["status"] == "done"]
    train = max((r for r in done if r["kind"] == "teacher"), key=lambda r: r["id"])
    evaluate = max((r for r in done if r["kind"] == "evaluate"), key=lambda r: r["id"])
    return scored_checkpoint(cfg, train["output_dir"]), evaluate["id"]


def run_sweeps(store, base, seeds: list[int]) -> None:
    from engine.jobs.foreground import run_foreground
    from engine.jobs.sweep import parse_grid, point_configs, sweep_runs
    for name, grid in SWEEPS.items():
        existing = sweep_runs(store, name)
        for cfg in point_configs(base, parse_grid(grid), seeds, name):
            if any(r["status"] == "done" and r["kind"] == "evaluate" for r in existing.get(cfg.grid_point, [])):
                continue
            t0 = time.perf_counter()
            status = run_foreground(store, cfg)
            print(f"{name} {cfg.grid_point}: {status} in {time.perf_counter() - t0:.0f} s", flush=True)


def evaluate_runs(store, sweep: str, **where) -> list[int]:
    """The done evaluate runs of a sweep whose config has the dotted values `where`."""
    from engine.jobs.sweep import sweep_runs
    out = []
    for runs in sweep_runs(store, sweep).values():
        for run in runs:
            config = store.get_run(run["id"])["config"]
            values = {key: config[key.split(".")[0]][key.split(".")[1]] for key in where}
            if run["kind"] == "evaluate" and run["status"] == "done" and values == where:
                out.append(run["id"])
    return sorted(out)


def print_tables(store, teacher_eval: int) -> None:
    from rich.console import Console

    from engine.analysis.tables import summary_table
    from engine.cli.render.significance import print_summary_table
    from engine.scoring.summary import summarize
    console = Console(width=140)
    summary = summarize(store.eval_cells(teacher_eval, "synthetic"))
    console.print(f"teacher (run {teacher_eval}): G-XLT F1 {summary['gxlt']:.2f}, XLT F1 {summary['xlt']:.2f}")
    coefficient = evaluate_runs(store, "oq-coefficient")
    console.print("\n[b]distill.coefficient[/b] (data.pairs = all)")
    print_summary_table(summary_table(store, coefficient, ["distill.coefficient"], baseline="map@k"), console)
    pairs = evaluate_runs(store, "oq-coefficient", **{"distill.coefficient": "map@k"}) + evaluate_runs(store, "oq-pairs")
    console.print("\n[b]data.pairs[/b] (distill.coefficient = map@k)")
    print_summary_table(summary_table(store, pairs, ["data.pairs"], baseline="all"), console)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", required=True)
    ap.add_argument("--runs-dir", required=True, help="where the runs write checkpoints and logs")
    ap.add_argument("--seeds", default="42,43", help="comma-separated train.seed of the students")
    ap.add_argument("--table-only", action="store_true", help="print the tables of the runs in --db")
    args = ap.parse_args()

    from db import Store
    from engine.config import load_toml
    store = Store(args.db)
    runs_dir = Path(args.runs_dir).resolve()
    checkpoint, teacher_eval = teacher_checkpoint(store, runs_dir)
    if not args.table_only:
        base = load_toml(HERE / "student.toml", [f"output_dir={runs_dir}", f"model.init_from={checkpoint}"])
        run_sweeps(store, base, [int(s) for s in args.seeds.split(",")])
    print_tables(store, teacher_eval)


if __name__ == "__main__":
    main()
