"""The dashboard's reads on a large store: 1,000 runs and 1,000,000 metric rows (SQLite file).

    python benchmarks/bench_store_reads.py [--runs 1000] [--rows 1000000] [--keep big.db]
Times the runs-table page (list_runs, which reads the summary table) against a naive scan of the metric
table for the same numbers, one run's loss curve through the (run_id, key, step) index, and `xlqa-run query`
(read-only) on the same database. --keep leaves the database for you to query."""

import argparse
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

from rich.progress import track

from db import Store
from db.models import Metric
from db.tables import utcnow


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--keep", type=Path, default=None, help="write the database here and keep it")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep.resolve() if args.keep else Path(tmp) / "big.db"
        store = Store(f"sqlite:///{path}")
        exp = store.create_experiment("big")
        per_run = args.rows // args.runs
        t0 = time.perf_counter()
        now = utcnow()
        run_ids = [store.create_run(exp, "distill", {"distill": {"temperature": 2.0}},
                                     output_dir=f"/nonexistent/run{i}")
                    for i in range(args.runs)]
        for rid in track(run_ids, description=f"filling {args.rows:,} metric rows"):
            steps = per_run // 2
            store.write_batch(rid, metrics=[("loss", "", s, 1.0 / (s + 1), now) for s in range(steps)]
                              + [("dev_gxlt_f1", "", s, float(s % 50), now) for s in range(per_run - steps)])
        fill = time.perf_counter() - t0
        target = run_ids[len(run_ids) // 2]

        def best(fn, n=5):
            times = []
            for _ in range(n):
                s = time.perf_counter()
                fn()
                times.append(time.perf_counter() - s)
            return min(times)

        page = best(lambda: store.list_runs(limit=200))

        def naive():  # what a list without the summary table would do: aggregate the metric table
            with store.session() as s:
                s.execute(select(Metric.run_id, func.max(Metric.value)).where(Metric.key == "dev_gxlt_f1")
                          .group_by(Metric.run_id)).all()
        scan = best(naive, 2)
        curve = best(lambda: store.metric_series(target, "loss"))
        from db.query import run_query
        sql = "SELECT run_id, COUNT(*), MAX(value) FROM metric WHERE key = 'dev_gxlt_f1' GROUP BY run_id"
        query = best(lambda: run_query(store.url, sql), 2)
        view = best(lambda: run_query(store.url, "SELECT * FROM v_runs WHERE status = 'queued'"), 3)
    print(f"{args.runs} runs, {args.rows} metric rows (filled in {fill:.1f} s)")
    print(f"runs table page (200 rows, summary table)   {page * 1000:8.1f} ms")
    print(f"same numbers by scanning the metric table    {scan * 1000:8.1f} ms   ({scan / page:.0f}x slower)")
    print(f"one run's loss curve ({per_run // 2} points)         {curve * 1000:8.1f} ms")
    print(f"xlqa-run query: a GROUP BY over the metric rows   {query * 1000:8.1f} ms (read-only connection)")
    print(f"xlqa-run query: v_runs, {args.runs} runs               {view * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
