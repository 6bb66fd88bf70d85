"""The paper's analyses in a terminal: the coefficient curve, the n-best rank table, the start-position
probabilities (the data of engine.analysis.curves / probes; the same numbers as the PNGs)."""

from __future__ import annotations

from rich.table import Table

BLOCKS = " ▁▂▃▄▅▆▇█"


def sparkline(values: list[float], width: int = 64, lo: float = 0.0, hi: float = 1.0) -> str:
    """values in [lo, hi] as block characters, averaged into at most `width` buckets."""
    if not values:
        return ""
    buckets = min(width, len(values))
    out = []
    for b in range(buckets):
        part = values[b * len(values) // buckets:(b + 1) * len(values) // buckets] or [values[-1]]
        v = (sum(part) / len(part) - lo) / ((hi - lo) or 1.0)
        out.append(BLOCKS[max(0, min(len(BLOCKS) - 1, round(v * (len(BLOCKS) - 1))))])
    return "".join(out)


def curve_view(curve: dict) -> list[str]:
    lines = [f"run {curve['run']}: {curve['key']} ({curve['coefficient'] or 'coefficient'}), {len(curve['values'])} "
             f"logged steps, {curve['window']}-point centred moving average ± rolling std, clipped to [0, 1]",
             f"  {sparkline(curve['mean'])}  (moving average, 0 to 1)"]
    if len(curve["values"]) < curve["window"]:   # the paper's 51 points assume thousands of steps
        lines.insert(1, f"  only {len(curve['values'])} points, fewer than the window: each average spans most of the "
                        f"run; try --window {max(3, len(curve['values']) // 5) | 1}")
    bounds = [curve["steps"][0] - 1, *curve["epoch_steps"], curve["steps"][-1]]
    for epoch, (a, b) in enumerate(zip(bounds, bounds[1:])):
        idx = [i for i, s in enumerate(curve["steps"]) if a < s <= b]
        if not idx:
            continue
        mean = sum(curve["mean"][i] for i in idx) / len(idx)
        std = sum(curve["std"][i] for i in idx) / len(idx)
        lines.append(f"  epoch {epoch}: steps {curve['steps'][idx[0]]}-{curve['steps'][idx[-1]]}  "
                     f"moving average {mean:.3f} (from {curve['mean'][idx[0]]:.3f} to {curve['mean'][idx[-1]]:.3f})  "
                     f"rolling std {std:.3f}")
    return lines


def _groups(n: int) -> list[tuple[str, int, int]]:
    edges = [(1, 1), (2, 2), (3, 3), (4, 5), (6, 10), (11, n)]
    return [(f"@{a}" if a == b else f"@{a}-{b}", a, min(b, n)) for a, b in edges if a <= n]


def ranks_table(ranks: dict) -> Table:
    n = ranks["n_best"]
    table = Table(title=f"{ranks['suite']}: rank of the first exact gold answer in the {n}-best list, per question "
                        f"language ({ranks['questions']} questions)", box=None, padding=(0, 1))
    groups = _groups(n)
    for col in ("q", "n", *(g for g, _, _ in groups), "none", "top-1 %", f"top-{n} %"):
        table.add_column(col, justify="left" if col == "q" else "right", no_wrap=True)
    for lang, counts in ranks["histogram"].items():
        total = sum(counts)
        found = sum(counts[:n])
        table.add_row(lang, str(total), *(str(sum(counts[a - 1:b])) for _, a, b in groups), str(counts[n]),
                      f"{100 * counts[0] / total:.1f}", f"{100 * found / total:.1f}")
    return table


def start_probs_table(probs: dict, top: int = 10) -> Table:
    table = Table(title=f"{probs['example']}: {probs['question']}  (answer: {probs['answer']}); start-position "
                        f"probabilities at T = {probs['temperature']:g} and T = 1, the {top} largest", box=None)
    for col in ("position", "token", f"p (T={probs['temperature']:g})", "p (T=1)", ""):
        table.add_column(col, justify="left" if col in ("token", "") else "right", no_wrap=True)
    order = sorted(range(len(probs["p_t"])), key=lambda i: -probs["p_t"][i])[:top]
    peak = max(probs["p_t"]) or 1.0
    for i in order:
        gold = " gold" if probs["positions"][i] == probs["gold"] else ""
        table.add_row(str(probs["positions"][i]), probs["tokens"][i], f"{probs['p_t'][i]:.4f}", f"{probs['p_1'][i]:.4f}",
                      "█" * max(1, round(20 * probs["p_t"][i] / peak)) + gold)
    return table
