"""The runs table: status, an alert badge (warnings and errors raised), a progress bar and ETA, a sweep run's
grid point, key hyperparameters and the G-XLT F1 a user looks for. On a terminal narrower than the wide layout
(140 columns) it drops the hyperparameters and start time, puts the grid point after the sweep's name and
narrows the rest, so the score always shows at 80x24 and no row scrolls sideways."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.widgets import DataTable

from engine.analysis.runs import ALERT_COLORS, STATUS_COLORS, run_row

# (key, label, width in the wide layout, width in the compact one; 0: left out)
COLUMNS = [("id", "run", 5, 4), ("experiment", "experiment", 24, 20), ("point", "point", 14, 0),
           ("kind", "kind", 8, 8), ("status", "status", 9, 9), ("alerts", "!", 3, 3), ("progress", "progress", 22, 11),
           ("hparams", "T/ntl/w", 16, 0),
           ("score", "G-XLT F1", 8, 8), ("started", "started", 11, 0)]
# the wide layout's width on screen (each cell has a column of padding on either side): narrower terminals get
# the compact layout, so that no run's row scrolls sideways
WIDE_WIDTH = sum(wide + 2 for _, _, wide, _ in COLUMNS)


def compact_for(width: int) -> bool:
    return width < WIDE_WIDTH


def progress_text(run: dict, compact: bool = False) -> Text:
    total, step = run.get("total_steps") or 0, run.get("step") or 0
    if not total:
        return Text("")
    width = 5 if compact else 10
    frac = min(step / total, 1.0)
    filled = int(frac * width)
    bar = Text("█" * filled + "░" * (width - filled), style="yellow" if run["status"] == "running" else "grey50")
    eta = ""
    if run["status"] == "running" and run.get("started_at") and step and not compact:
        elapsed = (datetime.utcnow() - run["started_at"]).total_seconds()
        remaining = elapsed / step * (total - step)
        eta = f" {int(remaining // 60)}m{int(remaining % 60):02d}s"
    return bar + Text(f" {int(frac * 100):3d}%{eta}")


def row_cells(run: dict, compact: bool) -> dict:
    """The text of engine.analysis.runs.run_row (a sweep run: the sweep's name and the compact grid point),
    with the dashboard's styles and progress bar."""
    row = run_row(run)
    name = f"{row['experiment']} {row['point']}".strip() if compact else row["experiment"]  # no point column
    return {**row, "experiment": Text(name, no_wrap=True, overflow="ellipsis"),
            "status": Text(row["status"], style=STATUS_COLORS.get(row["status"], "")),
            "alerts": Text(row["alerts"], style=ALERT_COLORS.get(run.get("alert_level"), "")),
            "progress": progress_text(run, compact), "score": Text(row["score"], justify="right")}


class RunsTable(DataTable):
    compact = False

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        self.set_layout(compact_for(self.app.size.width))

    def set_layout(self, compact: bool) -> None:
        """(Re)build the columns for a narrow or a wide terminal."""
        if self.columns and compact == self.compact:
            return
        self.compact = compact
        self.clear(columns=True)
        for key, label, wide, narrow in COLUMNS:
            width = narrow if compact else wide
            if width:
                self.add_column(label, key=key, width=width)

    def show_runs(self, runs: list[dict], marked: set[int]) -> None:
        """Update in place when the rows are the same runs (the cursor stays put), else rebuild."""
        keys = [str(r["id"]) for r in runs]
        current = [rk.value for rk in self.rows]
        shown = [c.value for c in self.columns]
        if keys == current:
            for r in runs:
                cells = row_cells(r, self.compact)
                for col in shown:
                    self.update_cell(str(r["id"]), col, self._mark(cells[col], r["id"], marked) if col == "id" else cells[col])
            return
        selected = current[self.cursor_row] if current and 0 <= self.cursor_row < len(current) else None
        self.clear()
        for r in runs:
            cells = row_cells(r, self.compact)
            cells["id"] = self._mark(cells["id"], r["id"], marked)
            self.add_row(*[cells[col] for col in shown], key=str(r["id"]))
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
