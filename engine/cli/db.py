"""The results database itself: `db upgrade`, `db current`."""

from __future__ import annotations

import click

from engine.cli.base import CONTEXT, InputError, db_option, main, resolve_db


@main.group(context_settings=CONTEXT)
def db():
    """The results database: its schema version and upgrades."""


@db.command("upgrade", context_settings=CONTEXT)
@db_option
def db_upgrade():
    """Bring a database made by an older xlqa to this version's schema (SQLite: a copy is kept beside it)."""
    from db.migrate import upgrade
    from db.session import make_engine, normalize_url
    url = normalize_url(resolve_db())
    engine, read_only = make_engine(url)
    if read_only:
        raise InputError(f"{url} cannot be written: copy it somewhere writable first")
    before, after = upgrade(url, engine)
    click.echo(f"{url}: schema {before or 'new'} -> {after}" if before != after else f"{url}: already at {after}")


@db.command("current", context_settings=CONTEXT)
@db_option
def db_current():
    """The schema version of a database (without changing it)."""
    from db.migrate import current_revision, head_revision
    from db.session import make_engine, normalize_url
    engine, _ = make_engine(normalize_url(resolve_db()), read_only=None)
    click.echo(f"{current_revision(engine) or 'empty'} (this xlqa: {head_revision()})")
