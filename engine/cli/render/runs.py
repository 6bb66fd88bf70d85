"""The runs table of `xlqa-run list` and `xlqa --once`: one renderer over engine.analysis.runs.run_row."""

from __future__ import annotations

from rich.table import Table

from engine.analysis.runs import ALERT_COLORS, STATUS_COLORS, run_row

COLUMNS = (("id", "run"), ("experiment", "experiment"), ("point", "point"), ("kind", "kind"), ("status", "status"),
           ("alerts", "!"), ("progress", "progress"), ("score", "G-XLT F1"), ("started", "started"))


def runs_table(runs: list[dict], styled: bool = True, width: int | None = None) -> Table:
    """At 100 columns or fewer, a sweep's grid point takes the place of the start time: a run keeps one line."""
    rows = [run_row(r) for r in runs]
    alerting = any(r["alerts"] for r in rows)
    points = any(r["point"] for r in rows)
    narrow = points and width is not None and width <= 100
    shown = [(key, label) for key, label in COLUMNS
             if (key != "point" or points) and (key != "alerts" or alerting) and not (key == "started" and narrow)]
    table = Table(*[label for _, label in shown], box=None, pad_edge=not narrow)
    for i, (key, _) in enumerate(shown):
        if key == "experiment":
            table.columns[i].overflow = "fold"  # full names, wrapped when the terminal is narrow
        elif key != "point":
            table.columns[i].no_wrap = True
    for run, r in zip(runs, rows):
        if styled and r["status"] in STATUS_COLORS:
            r["status"] = f"[{STATUS_COLORS[r['status']]}]{r['status']}[/]"
        if styled and r["alerts"]:
            r["alerts"] = f"[{ALERT_COLORS[run['alert_level']]}]{r['alerts']}[/]"
        table.add_row(*[r[key] for key, _ in shown])
    return table
