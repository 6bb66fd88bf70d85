"""Write docs/results.md (tables, matrices) and its figures from the database of benchmarks/reproduce_e5small.py.

    python benchmarks/e5small_report.py --db /tmp/e5.db [--command "the command that filled the database"]

Hand-written conclusions live in docs/results_discussion.md and are appended as they are.
"""

import argparse
import math
from pathlib import Path

import numpy as np

from db import Store
from engine.jobs.report import plot_run
from engine.matrix import build_matrix, delta

REPO = Path(__file__).resolve().parents[1]
VARIANTS = {"e5small-teacher": "teacher", "e5small-ce": "CE", "e5small-skd": "SKD", "e5small-skd_map": "SKD + mAP@k"}
XQUAD_LANGS = ("el", "ru", "tr", "th")


def md_matrix(m) -> str:
    head = "| q \\ c | " + " | ".join(m.languages_c) + " | mean |\n|---|" + "---:|" * (len(m.languages_c) + 1) + "\n"
    rows = []
    for q in m.languages_q:
        cells = [f"{m.get(q, c):.1f}" if m.get(q, c) is not None else "" for c in m.languages_c]
        rows.append(f"| {q} | " + " | ".join(cells) + f" | {m.row_mean(q):.1f} |")
    return head + "\n".join(rows) + "\n"


def minutes(run) -> float:
    if not run or not run["ended_at"] or not run["started_at"]:
        return float("nan")
    return (run["ended_at"] - run["started_at"]).total_seconds() / 60


def collect(store: Store) -> list[dict]:
    """One entry per experiment: its runs by kind, seed, and the scores of its evaluate run."""
    experiments: dict[int, dict] = {}
    for r in sorted(store.list_runs(limit=1000), key=lambda r: r["id"]):
        e = experiments.setdefault(r["experiment_id"], {"name": r["experiment"], "seed": r["seed"], "runs": {}})
        e["runs"][r["kind"]] = r
    out = []
    for e in experiments.values():
        e["variant"] = VARIANTS.get(e["name"], e["name"])
        e["train"] = e["runs"].get("teacher") or e["runs"].get("distill")
        ev = e["runs"].get("evaluate")
        e["done"] = ev is not None and ev["status"] == "done"
        if e["done"]:
            e["mlqa"] = build_matrix(store.eval_cells(ev["id"], "mlqa-dev"))
            e["xquad"] = {c["lang_q"]: c for c in store.eval_cells(ev["id"], "xquad") if c["lang_q"] == c["lang_c"]}
        out.append(e)
    return out


def paired_delta(a, b) -> tuple[float, float]:
    """Mean of a - b over the cells both have, and the half-width of a 95% interval over cells."""
    d = np.array(list(delta(a, b).values.values()))
    return float(d.mean()), float(1.96 * d.std(ddof=1) / math.sqrt(len(d)))


def curves(store: Store, students: list[dict], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 4, figsize=(20, 4.2))
    colors = {"CE": "tab:blue", "SKD": "tab:orange", "SKD + mAP@k": "tab:green"}
    styles = ["-", "--", ":", "-."]
    seeds = sorted({e["seed"] for e in students})
    for e in students:
        tid, style = e["train"]["id"], styles[seeds.index(e["seed"]) % len(styles)]
        label, color = f"{e['variant']} (seed {e['seed']})", colors.get(e["variant"])
        for ax, key in ((axes[0], "loss_ce"), (axes[1], "loss_kl"), (axes[2], "coef")):
            series = store.metric_series(tid, key)
            if series and not (key != "loss_ce" and e["variant"] == "CE"):
                ax.plot(*zip(*series), style, color=color, label=label)
        dev = store.metric_series(tid, "dev_gxlt_f1")
        if dev:
            axes[3].plot(*zip(*dev), style, marker="o", color=color, label=label)
    titles = ("CE loss (window mean)", "KL term T^2 KL(teacher || student), before w", "coefficient w (window mean)",
              "MLQA-dev G-XLT F1 (per epoch)")
    for ax, title in zip(axes, titles):
        ax.set_title(title)
        ax.set_xlabel("optimizer step")
    axes[3].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--command", default="python benchmarks/reproduce_e5small.py --db /tmp/e5.db",
                    help="the command that filled the database, quoted on the page")
    args = ap.parse_args()
    store = Store(args.db)
    exps = collect(store)
    docs = REPO / "docs"
    docs.mkdir(exist_ok=True)
    done = [e for e in exps if e["done"]]
    n_cell = min(c["n"] for c in store.eval_cells(done[0]["runs"]["evaluate"]["id"], "mlqa-dev")) if done else 0
    n_xq = {l: c["n"] for l, c in done[0]["xquad"].items()} if done else {}
    lines = [
        "# Small-scale reproduction on multilingual-e5-small (issue 6)\n",
        f"Produced by `{args.command}` (queues the jobs through xlqa's configs in `examples/e5small/`, its "
        f"scheduler and database) and `python benchmarks/e5small_report.py --db DB` (this page, the figures). "
        f"2-core CPU, float32. MLQA-dev: {n_cell} questions per cell (49 cells, fixed per cell); XQuAD XLT: "
        + ", ".join(f"{l} {n_xq.get(l, 0)}" for l in XQUAD_LANGS)
        + " questions, without the students' training questions and their paragraphs, scored with the SQuAD v1.1 "
          "script. F1 everywhere.\n",
        "| model | seed | XLT | G-XLT (all cells) | G-XLT (cross cells) | XQuAD " + " | XQuAD ".join(XQUAD_LANGS)
        + " | XQuAD XLT | best dev step | train | evaluate |",
        "|---|---:|---:|---:|---:|" + "---:|" * (len(XQUAD_LANGS) + 1) + "---:|---:|---:|",
    ]
    for e in exps:
        tr, ev = e["train"], e["runs"].get("evaluate")
        if not e["done"]:
            cells = [e["variant"], str(e["seed"])] + [""] * (7 + len(XQUAD_LANGS)) + [ev["status"] if ev else ""]
            lines.append("| " + " | ".join(cells) + " |")
            continue
        s = e["mlqa"].summary()
        xq = [e["xquad"][l]["f1"] for l in XQUAD_LANGS if l in e["xquad"]]
        best = store.summary(tr["id"]).get("dev_gxlt_f1", {}).get("best_step", "") if tr else "(given)"
        lines.append(f"| {e['variant']} | {e['seed']} | {s['xlt']:.2f} | {s['gxlt']:.2f} | {s['gxlt_cross']:.2f} | "
                     + " | ".join(f"{x:.1f}" for x in xq) + f" | {np.mean(xq):.2f} | {best} | "
                     + (f"{minutes(tr):.1f} min" if tr else "(trained before)") + f" | {minutes(ev):.1f} min |")
    students = [e for e in done if e["variant"] in ("CE", "SKD", "SKD + mAP@k")]
    lines += ["", "**Mean over seeds** (students):", "",
              "| model | seeds | XLT | G-XLT (all cells) | G-XLT (cross cells) | XQuAD XLT |", "|---|---:|---:|---:|---:|---:|"]
    for variant in ("CE", "SKD", "SKD + mAP@k"):
        group = [e for e in students if e["variant"] == variant]
        if group:
            sums = [e["mlqa"].summary() for e in group]
            xq = [np.mean([e["xquad"][l]["f1"] for l in XQUAD_LANGS if l in e["xquad"]]) for e in group]
            lines.append(f"| {variant} | {len(group)} | " + " | ".join(f"{np.mean([s[k] for s in sums]):.2f}" for k in ("xlt", "gxlt", "gxlt_cross"))
                         + f" | {np.mean(xq):.2f} |")
    lines += ["", "**Paired differences against the CE student of the same seed** (MLQA-dev, mean over the 49 cells "
              "with a 95% interval over cells; the XQuAD column is the mean over el ru tr th):", "",
              "| model | seed | G-XLT (all cells) | G-XLT (cross cells) | XLT | XQuAD XLT |", "|---|---:|---:|---:|---:|---:|"]
    for e in students:
        ce = next((c for c in students if c["variant"] == "CE" and c["seed"] == e["seed"]), None)
        if ce is None or e is ce:
            continue
        d_all, h_all = paired_delta(e["mlqa"], ce["mlqa"])
        cross = lambda m: build_matrix([{"lang_q": q, "lang_c": c, "f1": v} for (q, c), v in m.values.items() if q != c])
        d_cross, h_cross = paired_delta(cross(e["mlqa"]), cross(ce["mlqa"]))
        d_xlt = e["mlqa"].summary()["xlt"] - ce["mlqa"].summary()["xlt"]
        d_xq = np.mean([e["xquad"][l]["f1"] - ce["xquad"][l]["f1"] for l in XQUAD_LANGS if l in e["xquad"]])
        lines.append(f"| {e['variant']} | {e['seed']} | {d_all:+.2f} ± {h_all:.2f} | {d_cross:+.2f} ± {h_cross:.2f} | "
                     f"{d_xlt:+.2f} | {d_xq:+.2f} |")
    lines += ["", "**The teacher's mAP@k on the sampled data** (k = 10, window 5; per example, at the start of each "
              "generation; from the `coef_generation` histograms of the SKD + mAP@k runs):", "",
              "| seed | generation | mean | p25 | median | p75 | share in the lowest bin |", "|---:|---:|---:|---:|---:|---:|---:|"]
    for e in students:
        if e["variant"] != "SKD + mAP@k":
            continue
        for h in store.histograms(e["train"]["id"], "coef_generation"):
            p, counts = h["percentiles"], np.array(h["counts"], dtype=float)
            zero = counts[0] / counts.sum() if counts.sum() else float("nan")
            lines.append(f"| {e['seed']} | {h['generation']} | {p['mean']:.3f} | {p['p25']:.3f} | {p['p50']:.3f} | "
                         f"{p['p75']:.3f} | {zero:.2f} (w < {h['bin_edges'][1]:.2f}) |")
    figure = docs / "results_curves.png"
    if students:
        curves(store, students, figure)
        lines += ["", f"![CE loss, KL term, coefficient w and dev G-XLT of every student]({figure.name})"]
    discussion = docs / "results_discussion.md"
    if discussion.exists():
        lines += ["", discussion.read_text().rstrip()]
    lines += ["", "## Matrices", "", "MLQA-dev F1 on the best checkpoint; rows: question language, columns: context "
              "language. Each training run's own figure shows its loss, coefficient and matrix.", ""]
    for e in done:
        name = f"{e['name']}-s{e['seed']}"
        lines += [f"### {e['variant']}, seed {e['seed']}", "", md_matrix(e["mlqa"])]
        if e["train"]:
            png = docs / f"results_{name}.png"
            plot_run(store, e["train"]["id"], png, "mlqa-dev")
            lines += [f"![loss, coefficient and matrix of {name}]({png.name})", ""]
    (docs / "results.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {docs / 'results.md'}")


if __name__ == "__main__":
    main()
