"""The paper's figures as PNGs (matplotlib, Agg): a `table` as lines with intervals, the coefficient curve, the
n-best rank of the gold answer per question language (cumulative), the teacher's start-position probabilities at a temperature.
Each takes the plain data of engine.analysis.curves / probes, so the terminal views show the same numbers."""

from __future__ import annotations

from pathlib import Path


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _save(fig, path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    _pyplot().close(fig)
    return Path(path)


def table_png(result: dict, path) -> Path:
    """A `table` result (with its cost rows' teacher, when known) drawn by lines_png."""
    from engine.analysis.curves import table_lines
    teachers = [r["cost"]["teacher_g_xlt"] for r in result["rows"] if (r.get("cost") or {}).get("teacher_g_xlt") is not None]
    return lines_png(table_lines(result), path, sum(teachers) / len(teachers) if teachers else None)


def lines_png(lines: dict, path, teacher_g_xlt: float | None = None) -> Path:
    """G-XLT and XLT against the first key, one line per method, 95% intervals over seeds shaded."""
    plt = _pyplot()
    views = [v for v in ("g_xlt", "xlt") if v in lines["lines"]]
    fig, axes = plt.subplots(1, len(views), figsize=(5.6 * len(views), 4.2), squeeze=False)
    numeric = all(isinstance(x, (int, float)) for per in lines["lines"].values() for ln in per.values() for x in ln["x"])
    labels = sorted({str(x) for per in lines["lines"].values() for ln in per.values() for x in ln["x"]})
    for ax, view in zip(axes[0], views):
        for method, ln in lines["lines"][view].items():
            xs = ln["x"] if numeric else [labels.index(str(x)) for x in ln["x"]]
            label = f"{lines['keys'][1]}={method}" if method else None
            (drawn,) = ax.plot(xs, ln["mean"], marker="o", label=label)
            ax.fill_between(xs, ln["lo"], ln["hi"], color=drawn.get_color(), alpha=0.2)
        if view == "g_xlt" and teacher_g_xlt is not None:
            ax.axhline(teacher_g_xlt, color="grey", linestyle="--", label="teacher")
        if not numeric:
            ax.set_xticks(range(len(labels)), labels)
        elif len(labels) <= 12:  # the swept values themselves, not a continuous scale
            ax.set_xticks(sorted({x for ln in lines["lines"][view].values() for x in ln["x"]}))
        ax.set_xlabel(lines["keys"][0])
        ax.set_ylabel(f"{'G-XLT' if view == 'g_xlt' else 'XLT'} {lines['metric'].upper()}")
        ax.set_title(f"{'G-XLT' if view == 'g_xlt' else 'XLT'} (mean, 95% interval over seeds)")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    return _save(fig, path)


def coefficient_png(curve: dict, path) -> Path:
    """The coefficient per logged step, its moving average ± rolling std clipped to [0, 1], epoch boundaries."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot(curve["steps"], curve["values"], color="lightgrey", linewidth=0.8, label=curve["key"])
    ax.plot(curve["steps"], curve["mean"], color="purple", label=f"{curve['window']}-point moving average")
    ax.fill_between(curve["steps"], curve["lower"], curve["upper"], color="purple", alpha=0.2, label="± rolling std")
    for i, step in enumerate(curve["epoch_steps"]):
        ax.axvline(step, color="black", linestyle=":", linewidth=1, label="epoch boundary" if i == 0 else None)
    ax.set_ylim(0, 1)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel(f"coefficient ({curve['coefficient'] or curve['key']})")
    ax.set_title(f"run {curve['run']}: the teacher's coefficient during distillation")
    ax.legend(fontsize=8, loc="lower right")
    return _save(fig, path)


def ranks_png(ranks: dict, path) -> Path:
    """Per question language: the share of questions whose gold answer is within the top k of the n-best list,
    k = 1..n (the step from k = 1 up is what top-1 decoding misses and mAP@k rewards)."""
    import numpy as np
    plt = _pyplot()
    n = ranks["n_best"]
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    k = np.arange(1, n + 1)
    for lang, counts in ranks["histogram"].items():
        total = sum(counts) or 1
        ax.plot(k, 100 * np.cumsum(counts[:n]) / total, marker=".", label=lang)
    ax.set_xticks(k if n <= 20 else k[::max(1, n // 10)])
    ax.set_ylim(0, 100)
    ax.set_xlabel("k")
    ax.set_ylabel("% of questions with the gold answer in the top k")
    ax.set_title(f"{ranks['suite']}: rank of the gold answer in the {n}-best list")
    ax.legend(title="question", fontsize=8)
    return _save(fig, path)


def start_probs_png(probs: dict, path) -> Path:
    """The start-position distribution at T and at T = 1 over the context tokens, the gold start marked."""
    plt = _pyplot()
    n = len(probs["tokens"])
    fig, ax = plt.subplots(figsize=(max(7, 0.22 * n + 2), 4.2))
    x = range(n)
    ax.bar(x, probs["p_t"], color="tab:blue", alpha=0.8, label=f"T = {probs['temperature']:g}")
    ax.plot(x, probs["p_1"], color="tab:orange", marker=".", linewidth=1, label="T = 1")
    if probs["gold"] is not None:
        ax.axvline(probs["positions"].index(probs["gold"]), color="green", linestyle="--", label="gold start")
    ax.set_xticks(list(x), probs["tokens"], rotation=90, fontsize=7)
    ax.set_ylabel("p(start)")
    ax.set_title(f"{probs['example']}: start-position probabilities (answer: {probs['answer']})")
    ax.legend(fontsize=8)
    return _save(fig, path)
