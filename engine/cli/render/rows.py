"""Rows of a SQL query: CSV, tab-separated lines for a pipe, a rich table on a terminal."""

from __future__ import annotations

import csv
import io


def text(v) -> str:
    return "" if v is None else str(v)


def as_csv(columns, rows) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(columns)
    writer.writerows(rows)
    return buf.getvalue()


def as_tsv(columns, rows):
    yield "\t".join(columns)
    for r in rows:
        yield "\t".join(text(v).replace("\t", " ").replace("\n", " ") for v in r)


def print_rows(columns, rows) -> None:
    import click
    from rich.console import Console
    from rich.table import Table
    table = Table(*columns, box=None)
    for r in rows:
        table.add_row(*map(text, r))
    Console().print(table)
    click.echo(f"{len(rows)} row(s){' (wide: --csv or --json keep every value whole)' if len(columns) > 8 else ''}",
               err=True)
