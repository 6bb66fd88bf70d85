"""One number per matrix: XLT (same-language cells), G-XLT over all cells (the paper's code) and over cross cells."""

from __future__ import annotations

import numpy as np


def summarize(cells: list[dict], metric: str = "f1") -> dict[str, float]:
    """xlt (same-language cells), gxlt (all cells, as the paper's code), gxlt_cross (cross cells only)."""
    same = [c[metric] for c in cells if c["lang_q"] == c["lang_c"]]
    cross = [c[metric] for c in cells if c["lang_q"] != c["lang_c"]]
    mean = lambda xs: float(np.mean(xs)) if xs else float("nan")
    return {"xlt": mean(same), "gxlt": mean(same + cross), "gxlt_cross": mean(cross)}


def format_summary(s: dict[str, float], sep: str = "   ") -> str:
    """`XLT .. G-XLT (all cells) .. G-XLT (cross cells) ..`, leaving out what the cells do not have (an XLT-only
    suite shows XLT alone; a lone cross cell, G-XLT alone)."""
    parts = []
    if s["xlt"] == s["xlt"]:  # NaN without a same-language cell
        parts.append(f"XLT {s['xlt']:.2f}")
    cross = s.get("gxlt_cross", float("nan"))
    if cross == cross:  # NaN without a cross cell
        parts += [f"G-XLT (all cells) {s['gxlt']:.2f}", f"G-XLT (cross cells) {cross:.2f}"]
    return sep.join(parts)
