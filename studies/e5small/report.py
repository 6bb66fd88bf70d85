"""docs/results.md of the e5-small study, from files anyone can rerun it from.

    python studies/e5small/report.py --db study.db --export   # the study's database -> studies/e5small/scores/
    python studies/e5small/report.py                          # scores/ -> docs/results.md (no database, no model)

--export writes, per evaluated model, its MLQA-dev cells and every question's EM/F1 (`<name>.json.gz`), the
models' configs and provenance (`models.json`), the teacher's mAP@k per generation, and the students' curves
(docs/results_curves.png). The report pairs models with engine.significance, the code behind
`xlqa-run compare --significance` and `xlqa-run table`.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SCORES = HERE / "scores"
SUITE = "mlqa-dev"
LABELS = {"teacher": "teacher", "ce": "CE", "skd": "SKD", "skd_map": "SKD + mAP@k", "skd_map_example": "SKD + per-example mAP@k"}


def variant_of(experiment: str) -> tuple[str, int | None]:
    """'e5small-skd_map-s42' -> ('skd_map', 42); 'e5small-teacher-eval' -> ('teacher', None)."""
    body = experiment.removeprefix("e5small-")
    if body.startswith("teacher"):
        return "teacher", None
    variant, _, seed = body.rpartition("-s")
    return variant, int(seed)


def export(db: str) -> None:
    from db import Store
    store = Store(db, read_only=True)
    evaluations = [r for r in store.list_runs(limit=10_000) if r["kind"] == "evaluate" and r["status"] == "done"
                   and r["experiment"].startswith("e5small-") and store.eval_cells(r["id"], SUITE)]
    if not evaluations:
        sys.exit(f"{db} has no finished e5small evaluation of {SUITE} (studies/e5small/run.py makes them)")
    SCORES.mkdir(exist_ok=True)
    models = {}
    for run in sorted(evaluations, key=lambda r: r["id"]):
        variant, seed = variant_of(run["experiment"])
        name = variant if seed is None else f"{variant}-s{seed}"
        cells = [{k: c[k] for k in ("lang_q", "lang_c", "n", "exact_match", "f1")} for c in store.eval_cells(run["id"], SUITE)]
        questions = store.question_scores(run["id"], SUITE)
        with gzip.open(SCORES / f"{name}.json.gz", "wt", encoding="utf-8") as f:
            json.dump({"cells": cells, "questions": questions}, f)
        train = store.get_run(run["depends_on"]) if run["depends_on"] else None
        models[name] = {"variant": variant, "seed": seed, "evaluate_run": run["id"], "train_run": train and train["id"],
                        "config": run["config"], "git_commit": run["git_commit"], "versions": run["versions"],
                        "train_minutes": _minutes(train), "evaluate_minutes": _minutes(run),
                        "teacher_map": _teacher_map(store, train["id"]) if train else None}
        print(f"{name}: {len(cells)} cells, {len(questions):,} question scores")
    (SCORES / "models.json").write_text(json.dumps(models, indent=1, default=str))
    _commands(db, models)
    _curves(store, [m["train_run"] for m in models.values() if m["train_run"]], REPO / "docs" / "results_curves.png")


def against_ce(models: dict) -> list[tuple[str, list[str], list[str]]]:
    """Each variant against the CE student of the same seed: seed by seed, then as seed groups paired by seed.
    (title, A names, B names), with names as in scores/ ('ce-s42', 'skd_map-s42')."""
    seeds = sorted({m["seed"] for m in models.values() if m["seed"] is not None})
    out = []
    for v in LABELS:
        if v in ("teacher", "ce"):
            continue
        common = [s for s in seeds if f"ce-s{s}" in models and f"{v}-s{s}" in models]
        out += [(f"{LABELS[v]} vs CE, seed {s}", [f"ce-s{s}"], [f"{v}-s{s}"]) for s in common]
        if len(common) > 1:
            out.append((f"{LABELS[v]} vs CE, seeds {', '.join(map(str, common))} (paired by seed)",
                        [f"ce-s{s}" for s in common], [f"{v}-s{s}" for s in common]))
    return out


def cli_commands(models: dict) -> list[list[str]]:
    """The xlqa-run commands whose output the report quotes: the comparisons of against_ce (a seed group is
    comma-separated run ids), and one table of every student."""
    ids = {n: m["evaluate_run"] for n, m in models.items()}
    runs = lambda names: ",".join(str(ids[n]) for n in names)
    out = [["compare", runs(a), runs(b), "--significance"] for _, a, b in against_ce(models)]
    students = [str(i) for n, i in sorted(ids.items(), key=lambda x: x[1]) if models[n]["variant"] != "teacher"]
    if len(students) > 1:
        out.append(["table", *students, "--by", "distill.coefficient", "--baseline", "none"])  # CE: coefficient none
    return out


def _commands(db: str, models: dict) -> None:
    """Run the commands' library calls on the study's database and keep what they print (scores/commands.txt),
    rendered as the CLI renders them."""
    import io

    from rich.console import Console

    from db import Store
    store = Store(db, read_only=True)
    lines = []
    for args in cli_commands(models):
        out = io.StringIO()
        _print_command(store, args, Console(file=out, width=160))
        lines += [f"$ xlqa-run --db study.db {' '.join(args)}", out.getvalue().rstrip(), ""]
    (SCORES / "commands.txt").write_text("\n".join(lines))


def _print_command(store, args: list[str], console) -> None:
    """What `xlqa-run compare A B --significance` or `xlqa-run table RUNS --by KEY --baseline V` prints."""
    from engine.analysis.report import compare_view
    from engine.analysis.tables import evaluation_of, parse_runs, significance, summary_table
    from engine.cli.render.matrices import print_compare
    from engine.cli.render.significance import print_significance, print_summary_table
    if args[0] == "compare":
        a, b = parse_runs(args[1]), parse_runs(args[2])
        if len(a) == 1 and len(b) == 1:
            print_compare(compare_view(store, evaluation_of(store, a[0]), evaluation_of(store, b[0]), None), console)
        print_significance(significance(store, a, b), console, f"run {args[1]}", f"run {args[2]}")
    else:
        runs, by, baseline = args[1:args.index("--by")], args[args.index("--by") + 1], args[args.index("--baseline") + 1]
        print_summary_table(summary_table(store, parse_runs(runs), by.split(","), baseline=baseline), console)


def _minutes(run) -> float | None:
    if not run or not run["ended_at"] or not run["started_at"]:
        return None
    return round((run["ended_at"] - run["started_at"]).total_seconds() / 60, 1)


def _teacher_map(store, run_id: int) -> list[dict]:
    """The teacher's mAP@k on the training features at the start of each generation."""
    out = []
    for h in store.histograms(run_id, "coef_generation"):
        p = h["percentiles"]
        out.append({"generation": h["generation"], "mean": p.get("mean"), "p25": p.get("p25"), "median": p.get("p50"),
                    "p75": p.get("p75"), "zero_share": h["counts"][0] / max(1, sum(h["counts"]))})
    return out


def _curves(store, run_ids: list[int], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.2))
    for run_id in run_ids:
        label = store.get_run(run_id)["experiment"].removeprefix("e5small-")
        for ax, key in zip(axes, ("loss_ce", "loss_kl", "coef")):
            series = store.metric_series(run_id, key)
            if series:
                ax.plot(*zip(*series), label=label)
    for ax, title in zip(axes, ("CE loss", "KL term (x T², before w)", "coefficient w (batch mAP@k)")):
        ax.set_title(title)
        ax.set_xlabel("optimizer step")
        if ax.lines:
            ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# --- the report, from scores/ ----------------------------------------------------------------------------

def load() -> tuple[dict, dict]:
    models = json.loads((SCORES / "models.json").read_text())
    data = {}
    for name in models:
        with gzip.open(SCORES / f"{name}.json.gz", "rt", encoding="utf-8") as f:
            raw = json.load(f)
        data[name] = {"cells": raw["cells"], "questions": [tuple(q) for q in raw["questions"]]}
    return models, data


def test(data, a: list[str], b: list[str], resamples: int = 10_000) -> dict:
    from engine.significance import compare, pair
    return compare(pair([data[x]["questions"] for x in a], [data[x]["questions"] for x in b], "f1",
                        [data[x]["cells"] for x in a], [data[x]["cells"] for x in b]), resamples, seed=0)


def fmt_p(p: float) -> str:
    return "<0.0001" if p < 1e-4 else f"{p:.4f}"


def report() -> str:
    from engine.scoring.summary import G_XLT, G_XLT_CROSS, VIEWS, XLT, macro_mean
    models, data = load()
    names = sorted(models, key=lambda n: (list(LABELS).index(models[n]["variant"]), models[n]["seed"] or 0))
    seeds = sorted({m["seed"] for m in models.values() if m["seed"] is not None})
    out = ["# The e5-small study: does self-distillation beat cross-entropy on G-XLT?", "",
           "Made by `python studies/e5small/report.py` from `studies/e5small/scores/` (per-question scores of every "
           "model, exported from the study's database by `--export`); `docs/results_discussion.md` is the hand-written "
           "part. Every interval and p-value comes from `engine.significance`, the code of "
           "`xlqa-run compare --significance` and `xlqa-run table`.", ""]
    per_cell = {models[n]["config"]["eval"].get("max_per_cell", 0) for n in names}
    total = {sum(c["n"] for c in data[n]["cells"]) for n in names}
    scope = ("every question of every cell" if per_cell == {0} else
             f"{' / '.join(str(p) for p in sorted(per_cell))} questions per cell, drawn once per cell and the same for "
             f"every model ({' / '.join(f'{t:,}' for t in sorted(total))} of the 15,747 question-cells)")
    out += [f"## MLQA-dev, {scope}", "",
            f"| model | seed | {' | '.join(v.label for v in (XLT, G_XLT, G_XLT_CROSS))} | question-cells | train | evaluate |",
            "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for n in names:
        m, cells = models[n], data[n]["cells"]
        views = [macro_mean(cells, v, "f1") for v in (XLT, G_XLT, G_XLT_CROSS)]
        out.append(f"| {LABELS[m['variant']]} | {m['seed'] if m['seed'] is not None else ''} | "
                   + " | ".join(f"{v:.2f}" for v in views)
                   + f" | {sum(c['n'] for c in cells):,} | {_mins(m['train_minutes'])} | {_mins(m['evaluate_minutes'])} |")
    out.append("")
    comparisons = against_ce(models)
    variants = [v for v in LABELS if v != "teacher" and any(models[n]["variant"] == v for n in names)]
    if "teacher" in data:
        for v in variants:
            for s in seeds:
                if f"{v}-s{s}" in data:
                    comparisons.append((f"{LABELS[v]} (seed {s}) vs the teacher", ["teacher"], [f"{v}-s{s}"]))
    if comparisons:
        out += ["## Is the difference real?", "",
                "B − A of the reported numbers (macro means over the 49 cells), a 95% interval from 10,000 bootstrap "
                f"resamples of question ids ({_recurrence(data)}), p from a paired sign-flip "
                "permutation test over question ids, and the Wilcoxon signed-rank test of the paper's own script (it pools "
                "a question's cells as if independent, so it is overconfident; kept to compare with the paper). The "
                "interval is conditional on these seeds; the seed groups get a seed-aware one in the next section.", "",
                "| comparison (B vs A) | view | A | B | delta | 95% interval | p | p Wilcoxon | n |",
                "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
        for title, a, b in comparisons:
            result = test(data, a, b)
            for view in VIEWS:
                r, label = result[view.name], view.short
                sd = lambda side, r=r: f" ± {r[side + '_sd']:.2f}" if side + "_sd" in r else ""
                out.append(f"| {title if view is G_XLT else ''} | {label} | {r['a']:.2f}{sd('a')} | {r['b']:.2f}{sd('b')} | "
                           f"{r['delta']:+.2f} | [{r['ci95'][0]:+.2f}, {r['ci95'][1]:+.2f}] | {fmt_p(r['p'])} | "
                           f"{fmt_p(r['p_wilcoxon'])} | {r['n']:,} |")
        out.append("")
    out += seed_section(data, against_ce(models))
    commands = SCORES / "commands.txt"
    if commands.exists() and commands.read_text().strip():
        out += ["## The same comparisons through the CLI", "",
                "What `xlqa-run compare --significance` and `xlqa-run table` print on the study's database (run ids "
                "as in `studies/e5small/scores/models.json`; `--export` ran them and kept their output, so they show the "
                "CLI of the export: it predates the seed-aware table and the Wilcoxon label, which the sections above "
                "give):", "",
                "```", commands.read_text().rstrip(), "```", ""]
    maps = [(n, models[n]) for n in names if models[n].get("teacher_map")]
    if maps:
        out += ["## The teacher's mAP@k on the sampled data", "",
                "Per training feature at the start of each generation (k = 10, hits within ±5 tokens), from the "
                "`coef_generation` histograms.", "",
                "| student | generation | mean | p25 | median | p75 | share in the lowest bin (w < 0.05) |",
                "|---|---:|---:|---:|---:|---:|---:|"]
        for _, m in maps:
            for g in m["teacher_map"]:
                out.append(f"| {LABELS[m['variant']]} s{m['seed']} | {g['generation']} | {g['mean']:.3f} | {g['p25']:.3f} | "
                           f"{g['median']:.3f} | {g['p75']:.3f} | {g['zero_share']:.2f} |")
        out.append("")
    decoding = HERE / "decoding.json"
    if decoding.exists():
        d = json.loads(decoding.read_text())
        out += ["## Max-context decoding", "",
                f"`python studies/e5small/decoding.py --model {d['model']} --max-per-cell {d['max_per_cell']}` on "
                f"{d['questions']:,} questions of the same-language MLQA-dev cells ({d['max_per_cell']} per cell; "
                f"{100 * d['multi_window_share']:.1f}% span several windows at 192 tokens, the stride as the legacy step), "
                "the teacher's logits decoded twice: every window may start an answer (run_qa.py, xlqa's default) and "
                "the legacy max-context rule (`eval.max_context = true`, the official evaluation). MLQA v1 script.", "",
                "| cell | questions | answers that differ | F1 every window | F1 max context | EM every window | EM max context |",
                "|---|---:|---:|---:|---:|---:|---:|"]
        for c in d.get("cells", []):
            out.append(f"| {c['cell']} | {c['n']} | {c['differ']} | {c['f1_run_qa']:.2f} | {c['f1_legacy']:.2f} | "
                       f"{c['em_run_qa']:.2f} | {c['em_legacy']:.2f} |")
        out += [f"| **mean over cells** | {d['questions']:,} | {d['answers_changed']:,} "
                f"({100 * d['answers_changed'] / d['questions']:.2f}%) | {d['f1_run_qa']:.2f} | {d['f1_legacy']:.2f} | "
                f"{d['em_run_qa']:.2f} | {d['em_legacy']:.2f} |", ""]
    out += ["![CE loss, KL term and coefficient of the students](results_curves.png)", ""]
    discussion = REPO / "docs" / "results_discussion.md"
    if discussion.exists():
        out += [discussion.read_text().strip(), ""]
    return "\n".join(out)


FULL_MLQA_DEV = 15_747   # question-cells of all 49 MLQA-dev cells


def seed_section(data, comparisons) -> list[str]:
    """The seed groups again, with what the question-only interval leaves out: the seed-aware interval, the
    two-level bootstrap, almost stochastic order over seeds, and power (engine.power)."""
    from engine.analysis.tables import with_aso_and_power
    from engine.power import design_needed, detectable, from_result
    from engine.scoring.summary import VIEWS
    groups = [(t, a, b) for t, a, b in comparisons if len(a) > 1]
    if not groups:
        return []
    out = ["## Over seeds: the seed-aware interval, almost stochastic order and power", "",
           "The interval above is conditional on these seeds: it says how the result would move on other test "
           "questions with the very models that were trained. The seed-aware interval says how it would move with "
           "other seeds and other questions: a random-effects interval over the per-seed differences (t with "
           "seeds − 1 degrees of freedom for the seed part) that also carries the question error "
           "(`engine.significance.seed_aware`). The two-level bootstrap resamples seeds and questions (too narrow "
           "with few seeds). ASO: ε_min of B over A across seeds (Dror et al. 2019; < 0.5 reads as B almost "
           "stochastically better), the violation ratio ε̂ in brackets. Detectable: the smallest difference this "
           "design finds with 80% power at α = 0.05; seeds needed: for the observed difference, at 100 questions "
           "per cell and on all 15,747 question-cells of MLQA-dev.", "",
           "| comparison | view | per-seed delta | delta | conditional 95% | p | seed-aware 95% | p | two-level 95% "
           "| ASO ε_min (ε̂) | detectable | seeds needed (100/cell; all) |",
           "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for title, a, b in groups:
        result = with_aso_and_power(test(data, a, b))
        for view in VIEWS:
            r = result[view.name]
            s, c = r["seeds"], from_result(r)
            seeds = s["components"]["seeds"]
            need = [design_needed(c, r["delta"]), design_needed(c, r["delta"], round(FULL_MLQA_DEV * c.items / 4900))]
            out.append(
                f"| {title if view is VIEWS[0] else ''} | {view.short} | {' / '.join(f'{d:+.2f}' for d in s['deltas'])} | "
                f"{r['delta']:+.2f} | {_ci(r['ci95'])} | {fmt_p(r['p'])} | {_ci(s['ci95'])} | {fmt_p(s['p'])} | "
                f"{_ci(s['ci95_hierarchical'])} | {r['aso']['eps_min']:.2f} ({r['aso']['violation_ratio']:.2f}) | "
                f"±{detectable(c, seeds):.2f} | {' ; '.join(str(n) if n else '> 1000' for n in need)} |")
    out.append("")
    return out


def _ci(ci) -> str:
    return f"[{ci[0]:+.2f}, {ci[1]:+.2f}]"


def _recurrence(data) -> str:
    """How the question-cells cluster: why the bootstrap resamples question ids, not question-cells."""
    from collections import Counter
    first = next(iter(data.values()))["questions"]
    per_qid = Counter(q[2] for q in first)
    return (f"the {len(first):,} question-cells of a model hold {len(per_qid):,} question ids, each in up to "
            f"{max(per_qid.values())} cells")


def _mins(m) -> str:
    return f"{m:.0f} min" if m else ""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", help="the study's database (with --export)")
    ap.add_argument("--export", action="store_true", help="write scores/ (and the curves figure) from --db first")
    args = ap.parse_args()
    if args.export:
        if not args.db:
            sys.exit("--export reads the study's database: give --db")
        export(args.db)
    if not (SCORES / "models.json").exists():
        sys.exit(f"no exported scores in {SCORES}: run with --db STUDY.db --export first")
    (REPO / "docs" / "results.md").write_text(report())
    print(f"wrote {REPO / 'docs' / 'results.md'}")


if __name__ == "__main__":
    main()
