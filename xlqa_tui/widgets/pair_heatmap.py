"""The teacher's mean coefficient (mAP@k or the run's distill.coefficient) per (question, context) language pair of the latest generation."""

from __future__ import annotations

from engine.matrix import build_matrix
from xlqa_tui.widgets.matrix_table import MatrixTable


class PairHeatmap(MatrixTable):
    def show_pairs(self, rows: list[dict]) -> None:
        cells = [{"lang_q": r["lang_q"], "lang_c": r["lang_c"], "f1": 100.0 * r["mean"]} for r in rows]
        self.show(build_matrix(cells))
