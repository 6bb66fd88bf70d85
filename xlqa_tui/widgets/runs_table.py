"""The runs table: status with a progress bar and ETA, key hyperparameters, best dev G-XLT F1."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.widgets import DataTable

STATUS_COLORS = {"running": "yellow", "done": "green", "failed": "red", "lost": "red", "cancelled": "grey50", "queued": "cyan"}
COLUMNS = [("id", "run"), ("experiment", "experiment"), ("kind", "kind"), ("status", "status"),
           ("progress", "progress"), ("hparams", "T / ntl / w"), ("best", "dev G-XLT"), ("started", "started")]


def progress_text(run: dict, width: int = 10) -> Text:
    total, step = run.get("total_steps") or 0, run.get("step") or 0
    if not total:
        return Text("")
    frac = min(step / total, 1.0)
    filled = int(frac * width)
    bar = Text("█" * filled + "░" * (width - filled), style="yellow" if run["status"] == "running" else "grey50")
    eta = ""
    if run["status"] == "running" and run.get("started_at") and step:
        elapsed = (datetime.utcnow() - run["started_at"]).total_seconds()
        remaining = elapsed / step * (total - step)
        eta = f" {int(remaining // 60)}m{int(remaining % 60):02d}s"
    return bar + Text(f" {int(frac * 100):3d}%{eta}")


def hparams(run: dict) -> str:
    cfg = run.get("config") or {}
    d, data = cfg.get("distill", {}), cfg.get("data", {})
    if run["kind"] == "teacher":
        return "CE"
    return f"{d.get('temperature', '')} / {data.get('ntl', '')} / {d.get('coefficient', '')}"


def row_cells(run: dict) -> list:
    best = run.get("best_dev_gxlt_f1")
    return [str(run["id"]), run["experiment"], run["kind"], Text(run["status"], style=STATUS_COLORS.get(run["status"], "")),
            progress_text(run), hparams(run), f"{best:.2f}" if best is not None else "",
            run["started_at"].strftime("%m-%d %H:%M") if run.get("started_at") else ""]


class RunsTable(DataTable):
    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        for key, label in COLUMNS:
            self.add_column(label, key=key)

    def show_runs(self, runs: list[dict], marked: set[int]) -> None:
        """Update in place when the rows are the same runs (the cursor stays put), else rebuild."""
        keys = [str(r["id"]) for r in runs]
        current = [rk.value for rk in self.rows]
        if keys == current:
            for r in runs:
                for (col, _), cell in zip(COLUMNS, row_cells(r)):
                    self.update_cell(str(r["id"]), col, self._mark(cell, r["id"], marked) if col == "id" else cell)
            return
        selected = current[self.cursor_row] if current and 0 <= self.cursor_row < len(current) else None
        self.clear()
        for r in runs:
            cells = row_cells(r)
            cells[0] = self._mark(cells[0], r["id"], marked)
            self.add_row(*cells, key=str(r["id"]))
        if selected in keys:
            self.move_cursor(row=keys.index(selected))

    @staticmethod
    def _mark(cell, run_id, marked):
        return Text(f"*{run_id}", style="bold magenta") if run_id in marked else cell

    def selected_run_id(self) -> int | None:
        if not self.row_count:
            return None
        key = list(self.rows)[self.cursor_row].value
        return int(key)
