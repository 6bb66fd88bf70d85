"""Question-language x context-language matrices from evaluation cells (shared by the CLI and the TUI)."""

from __future__ import annotations

from dataclasses import dataclass

from engine.scoring.summary import summarize
from engine.languages import MLQA_LANGUAGES


@dataclass
class Matrix:
    languages_q: list[str]
    languages_c: list[str]
    values: dict[tuple[str, str], float]      # (lang_q, lang_c) -> score
    metric: str

    def get(self, q, c):
        return self.values.get((q, c))

    def row_mean(self, q):
        vals = [self.values[(q, c)] for c in self.languages_c if (q, c) in self.values]
        return sum(vals) / len(vals) if vals else None

    def col_mean(self, c):
        vals = [self.values[(q, c)] for q in self.languages_q if (q, c) in self.values]
        return sum(vals) / len(vals) if vals else None

    def summary(self) -> dict[str, float]:
        return summarize([{"lang_q": q, "lang_c": c, self.metric: v} for (q, c), v in self.values.items()], self.metric)


def _order(langs):
    known = [l for l in MLQA_LANGUAGES if l in langs]
    return known + sorted(l for l in langs if l not in known)


def build_matrix(cells: list[dict], metric: str = "f1") -> Matrix:
    values = {(c["lang_q"], c["lang_c"]): float(c[metric]) for c in cells}
    return Matrix(_order({q for q, _ in values}), _order({c for _, c in values}), values, metric)


def delta(a: Matrix, b: Matrix) -> Matrix:
    """a - b on the cells both have."""
    values = {k: a.values[k] - b.values[k] for k in a.values if k in b.values}
    return Matrix(_order({q for q, _ in values}), _order({c for _, c in values}), values, a.metric)
