"""What every command group shares: the root group, errors that exit 2, the one --db option, the store.

Nothing heavy is imported at module level: `--help` and the store-reading commands must start fast."""

from __future__ import annotations

import functools
import importlib
import json

import click

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
DB_KEY = "xlqa.db"  # where --db is kept in the root context, whichever side of the command it was given

# the module of each command (it registers them on `main` when imported): a command imports its own module
# only, so `list` loads none of the analyses' or the data commands' code; --help, listing them all, imports all
COMMAND_MODULES = {
    "engine.cli.runs": ("run", "launch", "sweep", "demo", "list", "show", "logs", "cancel", "resume", "schedule"),
    "engine.cli.results": ("matrix", "compare", "table", "power", "export", "plot", "query"),
    "engine.cli.data": ("data", "score", "sample"),
    "engine.cli.analyses": ("coef-curve", "nbest-ranks", "start-probs"),
    "engine.cli.alerts": ("alerts",),
    "engine.cli.db": ("db",),
}


class InputError(click.ClickException):
    exit_code = 2


class XlqaGroup(click.Group):
    """Commands come from their modules on first use (COMMAND_MODULES). Database problems (bad URL, missing
    driver, not a database, read-only) end in one line and exit 2."""

    def get_command(self, ctx, cmd_name):
        if cmd_name not in self.commands:
            modules = [m for m, names in COMMAND_MODULES.items() if cmd_name in names]
            for module in modules or COMMAND_MODULES:   # an unknown name: all, for click's "did you mean"
                importlib.import_module(module)
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx):
        for module in COMMAND_MODULES:
            importlib.import_module(module)
        return super().list_commands(ctx)

    def invoke(self, ctx):
        from db.session import StoreError
        try:
            return super().invoke(ctx)
        except StoreError as e:
            raise InputError(str(e)) from e


def fail_on_bad_input(fn):
    """DataError (a ValueError) and ValueError / FileNotFoundError from the library become one line, exit 2."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (ValueError, FileNotFoundError) as e:
            raise InputError(str(e)) from e
    return wrapper


def _remember_db(ctx, _param, value):
    # --db after the command wins over --db before it; both land in one place
    if value:
        ctx.find_root().meta[DB_KEY] = value


db_option = click.option("--db", expose_value=False, callback=_remember_db, metavar="URL",
                         help="SQLAlchemy URL or SQLite path (default: $XLQA_DB or ~/.local/share/xlqa/xlqa.db); "
                              "before or after the command")


def resolve_db() -> str | None:
    """The --db given anywhere on the command line, else None ($XLQA_DB / the default, as the store resolves it)."""
    ctx = click.get_current_context(silent=True)
    return ctx.find_root().meta.get(DB_KEY) if ctx else None


def open_store():
    from db import Store
    return Store(resolve_db())


def get_run_or_fail(store, run_id):
    run = store.get_run(run_id)
    if run is None:
        raise InputError(f"no run {run_id}; `xlqa-run list` shows the runs")
    return run


def jsonable(row: dict) -> dict:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}


def echo_json(obj, **kw) -> None:
    click.echo(json.dumps(obj, indent=1, **kw))


def load_config(config_path, overrides):
    from engine.config import ConfigError, load_toml
    try:
        return load_toml(config_path, overrides)
    except ConfigError as e:
        raise InputError(str(e)) from e


@click.group(cls=XlqaGroup, context_settings=CONTEXT)
@click.version_option(package_name="xlqa")
@db_option
def main():
    """xlqa: generalized cross-lingual extractive QA experiments.

    \b
    Examples:
      xlqa-run demo                          # offline end-to-end run, then `xlqa` to browse
      xlqa-run data check ../shared/data/xquad
      xlqa-run score --dataset dev.json --predictions preds.json --metric mlqa --context-language de
    """
