"""Paper-ready tables of `table` (engine.analysis.tables.summary_table) in Markdown and LaTeX: mean ± sd over
seeds, B - baseline with its interval(s), the p-value corrected for the rows (Holm), and one settings line that
says how the numbers were made (as sacrebleu prints a signature)."""

from __future__ import annotations

from engine import __version__
from engine.scoring.summary import VIEWS


def signature(result: dict) -> str:
    s = result.get("settings", {})
    seeds = sorted({r["seeds"] for r in result["rows"]})
    return "|".join([
        f"xlqa:{__version__}", f"metric:{result['metric']}", f"suite:{result.get('suite') or '+'.join(s.get('suites', ['first']))}",
        "test:sign-flip+cluster-bootstrap", "unit:question-id", f"resamples:{s.get('resamples')}",
        f"seed:{s.get('seed')}", "pairing:seed" if max(seeds) > 1 else "pairing:question",
        "interval:conditional" + ("+seed-aware-t" if max(seeds) > 1 else ""), "correction:holm-rows"])


def _rows(result: dict) -> tuple[list[str], list[list[str]]]:
    seed_aware = any("seeds" in r.get("vs_baseline", {}).get("g_xlt", {}) for r in result["rows"])
    header = [*result["keys"], "seeds", *(v.label for v in VIEWS), "Δ G-XLT", "95% interval (questions)"]
    header += ["95% interval (seeds)"] if seed_aware else []
    header += ["p (Holm)"]
    body = []
    for row in result["rows"]:
        cells = [str(v) for v in row["value"]] + [str(row["seeds"])]
        for view in VIEWS:
            m = row.get(view.name)
            cells.append("" if m is None else f"{m['mean']:.2f} ± {m['sd']:.2f}" if row["seeds"] > 1 else f"{m['mean']:.2f}")
        vs = row.get("vs_baseline")
        g = vs.get("g_xlt") if vs else None
        if g is None:
            cells += ["baseline" if vs is None else "n/a", ""] + ([""] if seed_aware else []) + [""]
        else:
            cells += [f"{g['delta']:+.2f}", f"[{g['ci95'][0]:+.2f}, {g['ci95'][1]:+.2f}]"]
            if seed_aware:
                cells.append(f"[{g['seeds']['ci95'][0]:+.2f}, {g['seeds']['ci95'][1]:+.2f}]" if "seeds" in g else "")
            p = g.get("p_holm", g["p"])
            cells.append("<0.0001" if p < 1e-4 else f"{p:.4f}")
        body.append(cells)
    return header, body


def to_markdown(result: dict) -> str:
    header, body = _rows(result)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" if i < len(result["keys"]) else "---:"
                                                           for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in body]
    return "\n".join(lines + ["", f"`{signature(result)}`", ""])


def _tex(text: str) -> str:
    for a, b in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("_", r"\_"), ("#", r"\#"),
                 ("±", r"$\pm$"), ("Δ", r"$\Delta$"), ("<", r"$<$")):
        text = text.replace(a, b)
    return text


def to_latex(result: dict) -> str:
    header, body = _rows(result)
    spec = "l" * len(result["keys"]) + "r" * (len(header) - len(result["keys"]))
    lines = [r"\begin{tabular}{" + spec + "}", r"\toprule", " & ".join(map(_tex, header)) + r" \\", r"\midrule"]
    lines += [" & ".join(map(_tex, r)) + r" \\" for r in body]
    lines += [r"\bottomrule", r"\end{tabular}", f"% {signature(result)}", ""]
    return "\n".join(lines)
