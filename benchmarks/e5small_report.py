"""Write docs/results.md (and the curve PNGs) from the database of benchmarks/reproduce_e5small.py.

    python benchmarks/e5small_report.py --db /tmp/e5.db
"""

import argparse
from pathlib import Path

from db import Store
from engine.jobs.report import plot_run
from engine.matrix import build_matrix

REPO = Path(__file__).resolve().parents[1]


def md_matrix(m) -> str:
    head = "| q \\ c | " + " | ".join(m.languages_c) + " | mean |\n|---|" + "---:|" * (len(m.languages_c) + 1) + "\n"
    rows = []
    for q in m.languages_q:
        cells = [f"{m.get(q, c):.1f}" if m.get(q, c) is not None else "" for c in m.languages_c]
        rows.append(f"| {q} | " + " | ".join(cells) + f" | {m.row_mean(q):.1f} |")
    return head + "\n".join(rows) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    args = ap.parse_args()
    store = Store(args.db)
    runs = sorted(store.list_runs(limit=100), key=lambda r: r["id"])
    by_exp: dict[str, dict] = {}
    for r in runs:
        by_exp.setdefault(r["experiment"], {})[r["kind"]] = r
    out = REPO / "docs"
    out.mkdir(exist_ok=True)
    lines = ["# Small-scale reproduction on multilingual-e5-small (issue 6)\n",
             "Produced by `python benchmarks/reproduce_e5small.py --db /tmp/e5.db` (queues the jobs through xlqa's "
             "configs in `examples/e5small/`, its scheduler and database) and `python benchmarks/e5small_report.py "
             "--db /tmp/e5.db` (this page). 2-core CPU, float32.\n",
             "| model | XLT F1 | G-XLT F1 (all cells) | G-XLT F1 (cross cells) | best dev step | train wall time |",
             "|---|---:|---:|---:|---:|---:|"]
    sections = []
    for exp, kinds in by_exp.items():
        ev, tr = kinds.get("evaluate"), kinds.get("teacher") or kinds.get("distill")
        if not ev or ev["status"] != "done":
            lines.append(f"| {exp} | | | | | {tr['status'] if tr else ''} |")
            continue
        cells = store.eval_cells(ev["id"], "mlqa-dev")
        m = build_matrix(cells)
        s = m.summary()
        wall = (tr["ended_at"] - tr["started_at"]).total_seconds() / 60 if tr and tr["ended_at"] else float("nan")
        best_step = store.summary(tr["id"]).get("dev_gxlt_f1", {}).get("best_step", "")
        lines.append(f"| {exp} | {s['xlt']:.2f} | {s['gxlt']:.2f} | {s['gxlt_cross']:.2f} | {best_step} | {wall:.1f} min |")
        png = out / f"results_{exp}.png"
        plot_run(store, tr["id"], png, "mlqa-dev")
        sections.append(f"## {exp}\n\nMLQA-dev F1 (rows: question language, columns: context language; "
                        f"{cells[0]['n']} questions per cell), best checkpoint:\n\n{md_matrix(m)}\n"
                        f"![loss, coefficient and matrix of {exp}]({png.name})\n")
    (out / "results.md").write_text("\n".join(lines) + "\n\n" + "\n".join(sections))
    print(f"wrote {out / 'results.md'}")


if __name__ == "__main__":
    main()
