"""Results of stored runs: `matrix`, `compare`, `table`, `export`, `plot`, `query`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from engine.cli.base import CONTEXT, InputError, db_option, echo_json, fail_on_bad_input, get_run_or_fail, main, open_store

metric_option = click.option("--metric", type=click.Choice(["f1", "em"]), default="f1", show_default=True)
resamples_option = click.option("--resamples", type=click.IntRange(min=100), default=10_000, show_default=True)


def no_cells(run_id, suite):
    return click.ClickException(f"run {run_id} has no evaluation cells{' for ' + suite if suite else ''} yet")


@main.command(context_settings=CONTEXT)
@click.argument("run_id", type=int)
@click.option("--suite", default=None, help="evaluation suite (default: the first the run has)")
@metric_option
@click.option("--step", type=int, default=None, help="an evaluation step (default: the best checkpoint, else the latest)")
@click.option("--json", "as_json", is_flag=True, help="the cells and the three summary numbers as JSON")
@db_option
def matrix(run_id, suite, metric, step, as_json):
    """The question x context matrix of a run, with XLT, G-XLT (all cells) and G-XLT (cross cells)."""
    from engine.analysis.report import matrix_json, matrix_view
    store = open_store()
    get_run_or_fail(store, run_id)
    column = "exact_match" if metric == "em" else "f1"
    out = (matrix_json if as_json else matrix_view)(store, run_id, suite, column, step)
    if out is None:
        raise no_cells(run_id, suite)
    if as_json:
        return echo_json(out)
    from engine.cli.render.matrices import print_matrix
    print_matrix(out)


@main.command(context_settings=CONTEXT)
@click.argument("run_a", metavar="A")
@click.argument("run_b", metavar="B")
@click.option("--suite", default=None, help="evaluation suite (default: the first of A)")
@click.option("--significance", is_flag=True, help="B - A with a 95%% interval and p-values for G-XLT and XLT")
@metric_option
@click.option("--json", "as_json", is_flag=True, help="print one JSON object (with --significance: the test)")
@resamples_option
@click.option("--seed", type=int, default=0, show_default=True, help="seed of the resampling")
@db_option
@fail_on_bad_input
def compare(run_a, run_b, suite, significance, metric, as_json, resamples, seed):
    """Compare B with A: config diff and matrix delta (B - A); with --significance, whether it is real.

    A and B are runs, or seed groups written as comma lists (`3,6,9`): runs of one configuration that
    differ only in train.seed, paired seed by seed. A training run stands for its evaluate run.
    The interval resamples question ids (a question recurs across the cells of a matrix) and recomputes the
    reported number, the macro mean over cells; p is a paired sign-flip permutation test, p Wilcoxon the
    paper's own test on the per-question differences.

    \b
    Examples:
      xlqa-run compare 3 6 --significance
      xlqa-run compare 3,9,15 6,12,18 --significance --json
    """
    from engine.analysis.report import compare_json, compare_view
    from engine.analysis.tables import evaluation_of, parse_runs, significance as test
    store = open_store()
    ids_a, ids_b = parse_runs(run_a), parse_runs(run_b)
    for r in ids_a + ids_b:
        get_run_or_fail(store, r)
    result = test(store, ids_a, ids_b, suite, metric, resamples, seed) if significance else None
    single = len(ids_a) == 1 and len(ids_b) == 1
    if as_json:
        return echo_json(result if significance else
                         compare_json(store, evaluation_of(store, ids_a[0]), evaluation_of(store, ids_b[0]), suite))
    from rich.console import Console

    from engine.cli.render.matrices import print_compare
    from engine.cli.render.significance import print_significance
    console = Console()
    if single:
        print_compare(compare_view(store, evaluation_of(store, ids_a[0]), evaluation_of(store, ids_b[0]), suite), console)
    if result:
        print_significance(result, console, f"run {run_a}", f"run {run_b}")


@main.command(context_settings=CONTEXT)
@click.argument("runs", nargs=-1, required=True)
@click.option("--by", "by", required=True, help="config key(s) that define a row, e.g. distill.temperature or data.ntl,distill.temperature")
@click.option("--suite", default=None)
@metric_option
@click.option("--baseline", default=None, help="the row the others are tested against (its value(s)); default: the first")
@click.option("--png", type=click.Path(path_type=Path), default=None,
              help="a PNG: G-XLT and XLT against one key as lines with 95%% intervals; with two keys the heatmap")
@click.option("--lines", is_flag=True, help="with two keys and --png: KEY1 on the x-axis, one line per value of KEY2")
@click.option("--json", "as_json", is_flag=True)
@resamples_option
@db_option
@fail_on_bad_input
def table(runs, by, suite, metric, baseline, png, lines, as_json, resamples):
    """One row per value of a config key over many runs: mean ± sd over seeds, and the difference to a
    baseline row with its interval and p-value. Two keys (`--by data.ntl,distill.temperature`) also give the
    paper's heatmap of G-XLT F1, in the terminal and with --png as an image. With one key (or --lines),
    --png draws G-XLT and XLT against it, one line per method; the cost table follows (engine.analysis.costs).

    \b
    Examples:
      xlqa-run table 10-60 --by distill.temperature
      xlqa-run table 10-200 --by data.ntl,distill.temperature --png ntl_T.png
      xlqa-run table 10-200 --by data.ntl,distill.coefficient --png ntl.png --lines
    """
    from engine.analysis.costs import table_costs
    from engine.analysis.tables import heatmap_png, parse_runs, summary_table
    keys = [k.strip() for k in by.split(",") if k.strip()]
    if not 1 <= len(keys) <= 2:
        raise InputError("--by takes one or two config keys")
    store = open_store()
    result = summary_table(store, parse_runs(runs), keys, suite, metric, baseline, resamples)
    table_costs(store, result, metric)
    if as_json:
        echo_json(result, default=str)
    else:
        from rich.console import Console

        from engine.cli.render.costs import cost_table
        from engine.cli.render.significance import print_summary_table
        console = Console()
        print_summary_table(result, console)
        console.print(cost_table(result))
    if png:
        if len(keys) == 2 and not lines:
            heatmap_png(result, png)
        else:
            from engine.analysis.plots import table_png
            table_png(result, png)
        click.echo(f"wrote {png}", err=as_json)


@main.command(context_settings=CONTEXT)
@click.argument("run_id", type=int)
@click.option("--format", "fmt", type=click.Choice(["csv", "json", "parquet"]), default="csv", show_default=True)
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None, help="file (default: stdout; parquet needs one)")
@db_option
def export(run_id, fmt, output):
    """Metrics and evaluation cells of a run as CSV or Parquet (long format: run_id, kind, key, step, value,
    suite, lang_q, lang_c) or JSON; Parquet reads in pandas, polars and DuckDB."""
    from engine.analysis.report import export_parquet, export_run
    store = open_store()
    get_run_or_fail(store, run_id)
    if fmt == "parquet":
        if output is None:
            raise InputError("--format parquet writes a file: give -o FILE.parquet")
        click.echo(f"wrote {output} ({export_parquet(store, run_id, output)} rows)")
        return
    text = export_run(store, run_id, fmt)
    if output:
        output.write_text(text)
        click.echo(f"wrote {output}")
    else:
        click.echo(text)


@main.command(context_settings=CONTEXT)
@click.argument("run_id", type=int)
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path), help="PNG file")
@click.option("--suite", default=None)
@db_option
def plot(run_id, output, suite):
    """F1 heatmap and loss / coefficient curves of a run as a PNG (matplotlib)."""
    from engine.analysis.report import plot_run
    store = open_store()
    get_run_or_fail(store, run_id)
    plot_run(store, run_id, output, suite)
    click.echo(f"wrote {output}")


@main.command(context_settings=CONTEXT)
@click.argument("sql")
@click.option("--json", "as_json", is_flag=True, help="a JSON list of objects")
@click.option("--csv", "as_csv", is_flag=True, help="CSV with a header")
@click.option("--limit", type=int, default=None, help="at most this many rows")
@db_option
def query(sql, as_json, as_csv, limit):
    """Run one read-only SQL statement on the results database and print its rows.

    Read-only by construction: SQLite is opened read-only, PostgreSQL runs it in a READ ONLY transaction;
    a write is refused by the database and changes nothing. Views for the common questions:
    v_runs, v_cells, v_gxlt, v_best_gxlt, v_question_scores (README, examples/queries.sql).

    \b
    Examples:
      xlqa-run query "SELECT ntl, temperature, AVG(gxlt_f1) FROM v_best_gxlt WHERE suite = 'mlqa-dev' GROUP BY 1, 2"
      xlqa-run query "SELECT * FROM v_runs WHERE status = 'failed'" --json
    """
    from db.query import run_query
    from db.session import normalize_url
    from engine.cli.base import resolve_db
    from engine.cli.render import rows
    columns, found = run_query(normalize_url(resolve_db()), sql, limit)
    if as_json:
        echo_json([dict(zip(columns, r)) for r in found], default=str)
    elif as_csv:
        click.echo(rows.as_csv(columns, found), nl=False)
    elif not sys.stdout.isatty():  # piped: every value whole, one line per row, tab-separated
        for line in rows.as_tsv(columns, found):
            click.echo(line)
    else:
        rows.print_rows(columns, found)
