"""The three views of a question-language x context-language matrix, defined once: XLT (same-language cells),
G-XLT over all cells (the paper's code) and G-XLT over the cross cells, each the macro mean of its cells. The
summary, the significance test, the CLI and the dashboard all read them from here.

A view has two spellings, both interfaces kept as they shipped: `name` in JSON output and significance results
(g_xlt, g_xlt_cross, xlt) and `key` in summaries and stored metric keys (`<suite>_<key>_f1`: gxlt, gxlt_cross,
xlt). The database's SQL views (v_gxlt) compute the same means in SQL."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class View:
    name: str       # JSON output, significance results
    key: str        # summaries, metric keys
    label: str      # tables and log lines
    short: str      # narrow table headers
    same: bool | None  # True: same-language cells only; False: cross cells only; None: every cell

    def selects(self, lang_q: str, lang_c: str) -> bool:
        return self.same is None or (lang_q == lang_c) == self.same


G_XLT = View("g_xlt", "gxlt", "G-XLT (all cells)", "G-XLT (all)", None)
G_XLT_CROSS = View("g_xlt_cross", "gxlt_cross", "G-XLT (cross cells)", "G-XLT (cross)", False)
XLT = View("xlt", "xlt", "XLT", "XLT", True)
VIEWS = (G_XLT, G_XLT_CROSS, XLT)   # the order tables show them in
BY_NAME = {v.name: v for v in VIEWS}
BY_KEY = {v.key: v for v in VIEWS}


def _column(metric: str) -> str:
    return "exact_match" if metric in ("em", "exact_match") else metric


def _pairwise_sum(vals: list[float], start: int, n: int) -> float:
    """numpy's float64 pairwise summation (numpy/_core/src/umath/loops_utils.h.src, PW_BLOCKSIZE 128), step
    for step: under 8 values in order; up to 128 in 8 interleaved accumulators, added as a tree, then the rest;
    above that the two halves (cut at a multiple of 8) summed alone. A plain sum() can differ in the last bit."""
    if n < 8:
        total = 0.0
        for i in range(start, start + n):
            total += vals[i]
        return total
    if n <= 128:
        acc = vals[start:start + 8]
        end = start + n - n % 8
        for i in range(start + 8, end, 8):
            for j in range(8):
                acc[j] += vals[i + j]
        total = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))
        for i in range(end, start + n):
            total += vals[i]
        return total
    half = n // 2
    half -= half % 8
    return _pairwise_sum(vals, start, half) + _pairwise_sum(vals, start + half, n - half)


def mean(values) -> float:
    """float(np.mean(values)) bit for bit (np.add.reduce starts from 0.0, then adds the pairwise sum), without
    importing numpy: the store-reading commands (`matrix`, `show`) start in a fraction of numpy's import.
    NaN for no values, as np.mean gives (without its warning)."""
    vals = [float(v) for v in values]
    return (0.0 + _pairwise_sum(vals, 0, len(vals))) / len(vals) if vals else float("nan")


def macro_mean(cells: list[dict], view: View, metric: str = "f1") -> float:
    """The unweighted mean over the view's cells of each cell's score (NaN without such a cell)."""
    column = _column(metric)
    return mean(c[column] for c in cells if view.selects(c["lang_q"], c["lang_c"]))


def summarize(cells: list[dict], metric: str = "f1") -> dict[str, float]:
    """{view.key: macro mean}: xlt, gxlt (all cells, as the paper's code), gxlt_cross."""
    return {v.key: macro_mean(cells, v, metric) for v in (XLT, G_XLT, G_XLT_CROSS)}


def by_name(summary: dict[str, float]) -> dict[str, float]:
    """A summary keyed as the JSON output is: {g_xlt, g_xlt_cross, xlt}."""
    return {v.name: summary[v.key] for v in VIEWS if v.key in summary}


def format_summary(s: dict[str, float], sep: str = "   ") -> str:
    """`XLT .. G-XLT (all cells) .. G-XLT (cross cells) ..`, leaving out what the cells do not have (an XLT-only
    suite shows XLT alone; a lone cross cell, G-XLT alone)."""
    parts = []
    if s["xlt"] == s["xlt"]:  # NaN without a same-language cell
        parts.append(f"{XLT.label} {s['xlt']:.2f}")
    cross = s.get("gxlt_cross", float("nan"))
    if cross == cross:  # NaN without a cross cell
        parts += [f"{G_XLT.label} {s['gxlt']:.2f}", f"{G_XLT_CROSS.label} {cross:.2f}"]
    return sep.join(parts)
