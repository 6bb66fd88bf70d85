"""Alerts that watch what training logs, as a sink beside the store's: the mAP@k coefficient collapsing (the
window mean of w under alerts.coef_floor for alerts.coef_windows windows in a row, as when the paper's no-CE
ablation destroys the teacher generation by generation). It reads the window means the loop already logs, so it
costs no device sync; the alert goes into the store sink's next batch."""

from __future__ import annotations

import logging

from engine.sink import NullSink

log = logging.getLogger("xlqa.alerts")


class CoefCollapseWatch(NullSink):
    def __init__(self, raise_alert, floor: float, windows: int, coefficient: str = "map@k"):
        self.raise_alert, self.floor, self.windows, self.coefficient = raise_alert, floor, windows, coefficient
        self.below = 0  # windows in a row under the floor

    def log_metrics(self, step, values, context=""):
        if context or "coef" not in values or self.floor <= 0:
            return
        value = float(values["coef"])
        self.below = self.below + 1 if value < self.floor else 0
        if self.below == self.windows:  # once per collapse: it fires again only after w has recovered
            text = (f"coefficient w ({self.coefficient}) under {self.floor} for {self.windows} logging windows in a "
                    f"row (window mean {value:.4f} at step {step}): the teacher may be collapsing, as without the "
                    "CE term")
            log.warning("alert coef_collapse: %s", text)
            self.raise_alert("coef_collapse", text)
