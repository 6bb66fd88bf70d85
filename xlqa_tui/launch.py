"""`xlqa`: the dashboard. `xlqa --db URL` opens another database; `xlqa --once` (or any stdout that is not a
terminal, e.g. `xlqa | cat`) prints the runs table as plain text and exits, without importing Textual;
`xlqa serve` serves the dashboard to a browser (xlqa_tui.serve)."""

from __future__ import annotations

import os
import sys

import click


def print_runs(store, limit: int = 40) -> None:
    """The runs table as plain text (no colour when stdout is not a terminal), for pipes and scripts: the
    table of `xlqa-run list`."""
    from rich.console import Console

    from engine.cli.render.runs import runs_table
    tty = sys.stdout.isatty()
    Console(width=200 if not tty else None).print(runs_table(store.list_runs(limit=limit), styled=tty))


def driven_by_textual() -> bool:
    """A Textual driver named in the environment: the app talks to a client other than a terminal on its piped
    stdout. textual-serve (and `textual serve`) start the app with TEXTUAL_DRIVER set to its web driver."""
    return bool(os.environ.get("TEXTUAL_DRIVER"))


def open_store(db_url):
    from db import Store
    from db.session import StoreError
    try:
        return Store(db_url)
    except StoreError as e:
        raise click.ClickException(str(e)) from e


db_option = click.option("--db", "db_url", envvar="XLQA_DB", default=None, help="SQLAlchemy URL or SQLite path")


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@db_option
@click.option("--once", is_flag=True, help="print the runs table as plain text and exit")
@click.pass_context
def main(ctx, db_url, once):
    """Open the xlqa dashboard on the results database (default ~/.local/share/xlqa/xlqa.db)."""
    ctx.obj = db_url
    if ctx.invoked_subcommand:
        return
    store = open_store(db_url)
    if once or not (sys.stdout.isatty() or driven_by_textual()):
        print_runs(store)
        return
    from xlqa_tui.app import XlqaApp
    XlqaApp(store).run()


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--public-unauthenticated", is_flag=True,
              help="allow a non-loopback --host: anyone who reaches the port gets the dashboard, with no password "
                   "(it can launch, cancel and delete runs)")
@click.option("--public-url", default=None, help="the URL browsers reach the server at (behind a proxy)")
@db_option
@click.pass_context
def serve(ctx, host, port, public_unauthenticated, public_url, db_url):
    """Serve the dashboard to a browser through textual-serve, on localhost by default: forward the port
    (`ssh -L 8000:localhost:8000 gpubox`) and open http://localhost:8000. Every browser tab gets its own app."""
    from xlqa_tui.serve import ServeRefused, ServeUnavailable, serve_dashboard
    db_url = db_url or ctx.obj
    open_store(db_url)  # a bad --db fails here, in one line, not in every browser tab
    try:
        serve_dashboard(host, port, db_url, public_unauthenticated, public_url)
    except ServeRefused as e:
        raise click.UsageError(str(e)) from e
    except ServeUnavailable as e:
        raise click.ClickException(str(e)) from e


if __name__ == "__main__":
    main()
