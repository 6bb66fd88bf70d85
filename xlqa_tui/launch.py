"""`xlqa`: the dashboard. `xlqa --db URL` opens another database; `xlqa --once` (or any stdout that is not a
terminal, e.g. `xlqa | cat`) prints the runs table as plain text and exits, without importing Textual."""

from __future__ import annotations

import sys

import click


def print_runs(store, limit: int = 40) -> None:
    """The runs table as plain text (no colour when stdout is not a terminal), for pipes and scripts: the
    table of `xlqa-run list`."""
    from rich.console import Console

    from engine.cli.render.runs import runs_table
    tty = sys.stdout.isatty()
    Console(width=200 if not tty else None).print(runs_table(store.list_runs(limit=limit), styled=tty))


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", "db_url", envvar="XLQA_DB", default=None, help="SQLAlchemy URL or SQLite path")
@click.option("--once", is_flag=True, help="print the runs table as plain text and exit")
def main(db_url, once):
    """Open the xlqa dashboard on the results database (default ~/.local/share/xlqa/xlqa.db)."""
    from db import Store
    from db.session import StoreError
    try:
        store = Store(db_url)
    except StoreError as e:
        raise click.ClickException(str(e)) from e
    if once or not sys.stdout.isatty():
        print_runs(store)
        return
    from xlqa_tui.app import XlqaApp
    XlqaApp(store).run()


if __name__ == "__main__":
    main()
