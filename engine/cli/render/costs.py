"""What runs cost, as text: the stages of `show` and the cost columns of `table` (engine.analysis.costs)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # `show` prints lines: only `table` needs rich
    from rich.table import Table


def _num(v, fmt: str) -> str:
    return "" if v is None else format(v, fmt)


def cost_lines(stages: list[dict]) -> list[str]:
    """`show`: one line per stage (summed over attempts) and the total."""
    if not stages:
        return ["cost: not measured (a run of an older xlqa, or not started)"]
    lines = ["cost (summed over attempts):"]
    for t in stages:
        extra = "".join(f"  {k} {t[k]}" for k in ("features", "steps") if t[k] is not None)
        lines.append(f"  {t['stage']:<10} {t['seconds']:9.1f} s  {t['device_seconds']:9.1f} device-s  "
                     f"host {t['peak_host_gb']:.2f} GB" + (f"  device {t['peak_device_gb']:.2f} GB"
                                                           if t["peak_device_gb"] is not None else "")
                     + extra + (f"  ({t['attempts']} attempts)" if t["attempts"] > 1 else ""))
    seconds = sum(t["seconds"] for t in stages)
    device = sum(t["device_seconds"] for t in stages)
    lines.append(f"  {'total':<10} {seconds:9.1f} s  {device:9.1f} device-s  on {stages[0]['device']}")
    return lines


def cost_table(result: dict) -> Table:
    """`table`: the rows' keys with each row's cost (mean over seeds of the whole chain: sample, train, evaluate)."""
    from rich.table import Table
    table = Table(title="cost per row (mean over seeds of sample + train + evaluate); gain: G-XLT over the teacher "
                        "model.init_from names", box=None, padding=(0, 1))
    for k in result["keys"]:
        table.add_column(k, no_wrap=True, min_width=len(k))
    for col in ("device-h", "wall-h", "teacher", "gain", "gain/device-h"):
        table.add_column(col, justify="right", no_wrap=True)
    for row in result["rows"]:
        c = row.get("cost", {})
        table.add_row(*map(str, row["value"]), _num(c.get("device_hours"), ".4f"), _num(c.get("wall_hours"), ".4f"),
                      _num(c.get("teacher_g_xlt"), ".2f"), _num(c.get("gain"), "+.2f"),
                      _num(c.get("gain_per_device_hour"), "+.1f"))
    return table
