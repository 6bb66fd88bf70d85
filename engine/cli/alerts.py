"""`alerts`: what about the runs needs the user (docs/alerts.md), as lines or JSON Lines, followed live."""

from __future__ import annotations

import time

import click

from db.states import ALERT_KINDS, ALERT_LEVELS
from engine.analysis.runs import ALERT_COLORS
from engine.cli.base import CONTEXT, db_option, get_run_or_fail, jsonable, main, open_store



def alert_line(alert: dict, color: bool = True) -> str:
    level = f"{alert['level']:<7}"
    return (f"{alert['created_at']:%Y-%m-%d %H:%M:%S}  #{alert['id']:<4} run {alert['run_id']:<4} "
            f"{click.style(level, fg=ALERT_COLORS[alert['level']]) if color else level} "
            f"{alert['kind']:<15} {alert['text']}")


HELP = f"""Alerts of the runs, oldest first: a NaN or inf loss, a stale heartbeat, a lost or failed run, a finished
run or sweep, a collapsing mAP@k coefficient (kinds: {", ".join(ALERT_KINDS)}). A webhook or a command can get
each one as it is raised: docs/alerts.md.

\b
Examples:
  xlqa-run alerts --level warning
  xlqa-run alerts -f --json | jq -r .text
"""


@main.command(context_settings=CONTEXT, help=HELP)
@click.option("-f", "--follow", is_flag=True, help="keep printing new alerts as they are raised (Ctrl-C stops)")
@click.option("--json", "as_json", is_flag=True, help="one JSON object per alert per line (id, run_id, level, kind, "
                                                      "text, created_at)")
@click.option("--run", "run_id", type=int, default=None, help="only this run's alerts")
@click.option("--level", "min_level", type=click.Choice(ALERT_LEVELS), default="info", show_default=True,
              help="this level and above")
@click.option("--limit", type=int, default=50, show_default=True, help="the newest this many (then new ones, with -f)")
@db_option
def alerts(follow, as_json, run_id, min_level, limit):
    import json

    from engine.jobs.control import reconcile
    store = open_store()
    if run_id is not None:
        get_run_or_fail(store, run_id)
    reconcile(store)  # a run whose worker died is marked lost, and says so, before the list is read
    color = not as_json and click.get_text_stream("stdout").isatty()
    shown = store.alerts(run_id, limit=limit, min_level=min_level)
    last = 0
    while True:
        for alert in shown:
            click.echo(json.dumps(jsonable(alert)) if as_json else alert_line(alert, color))
            last = alert["id"]
        if not follow:
            break
        time.sleep(1.0)
        reconcile(store)
        shown = store.alerts(run_id, after_id=last, min_level=min_level)
