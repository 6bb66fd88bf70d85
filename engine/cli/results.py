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
@click.option("--power", is_flag=True, help="with --significance: the smallest difference this comparison could "
              "detect (80%% power, alpha 0.05)")
@click.option("--data-dir", default="", help="with prediction files: the folder holding mlqa/ xquad/ tydiqa/ "
              "(default: $XLQA_DATA_DIR)")
@db_option
@fail_on_bad_input
def compare(run_a, run_b, suite, significance, metric, as_json, resamples, seed, power, data_dir):
    """Compare B with A: config diff and matrix delta (B - A); with --significance, whether it is real.

    A and B are runs, or seed groups written as comma lists (`3,6,9`): runs of one configuration that
    differ only in train.seed, paired seed by seed. A training run stands for its evaluate run. A and B may
    also be prediction files ({id: answer}, ids `{qid}_{q}-{c}`, as the evaluate job writes
    predictions_<suite>.json) of any two systems: give --suite and the data folder; each question is scored
    by the suite's official script and the same tests follow.
    The interval resamples question ids (a question recurs across the cells of a matrix) and recomputes the
    reported number, the macro mean over cells: it is conditional on these seeds (other test questions, the
    same seeds). p is a paired sign-flip permutation test; p Wilcoxon the paper's own test, which pools a
    question's cells and is overconfident (kept for comparison with the paper). Seed groups also get the
    seed-aware interval and p (other seeds and other questions) and the almost stochastic order over seeds.
    Two single runs get the matrix delta with the cells that differ marked *, corrected for the cells (max-T).

    \b
    Examples:
      xlqa-run compare 3 6 --significance
      xlqa-run compare 3,9,15 6,12,18 --significance --json
    """
    from engine.analysis.report import compare_json, compare_view
    from engine.analysis.tables import evaluation_of, parse_runs, significance as test
    if run_a.endswith(".json") or run_b.endswith(".json"):
        return _compare_files(run_a, run_b, suite, data_dir, metric, as_json, resamples, seed, power)
    store = open_store()
    ids_a, ids_b = parse_runs(run_a), parse_runs(run_b)
    for r in ids_a + ids_b:
        get_run_or_fail(store, r)
    single = len(ids_a) == 1 and len(ids_b) == 1
    result = test(store, ids_a, ids_b, suite, metric, resamples, seed, per_cell=single) if significance else None
    if as_json:
        return echo_json(result if significance else
                         compare_json(store, evaluation_of(store, ids_a[0]), evaluation_of(store, ids_b[0]), suite))
    from rich.console import Console

    from engine.cli.render.matrices import print_compare
    from engine.cli.render.significance import print_significance
    console = Console()
    if single:
        print_compare(compare_view(store, evaluation_of(store, ids_a[0]), evaluation_of(store, ids_b[0]), suite), console,
                      result)
    if result:
        print_significance(result, console, f"run {run_a}", f"run {run_b}", power)


def _compare_files(path_a, path_b, suite, data_dir, metric, as_json, resamples, seed, power):
    from engine.analysis.prediction_files import compare_files
    for p in (path_a, path_b):
        if not Path(p).is_file():
            raise InputError(f"{p}: no such prediction file (A and B are both runs or both prediction files)")
    if not suite:
        raise InputError("prediction files need --suite (e.g. mlqa-dev) to be scored")
    result = compare_files(path_a, path_b, suite, data_dir, metric, resamples, seed, per_cell=True)
    if as_json:
        return echo_json(result)
    from rich.console import Console

    from engine.cli.render.significance import print_significance
    print_significance(result, Console(), Path(path_a).name, Path(path_b).name, power)


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
@click.option("--format", "fmt", type=click.Choice(["terminal", "markdown", "latex"]), default="terminal",
              show_default=True, help="markdown / latex: a paper-ready table with a settings signature")
@resamples_option
@db_option
@fail_on_bad_input
def table(runs, by, suite, metric, baseline, png, lines, as_json, fmt, resamples):
    """One row per value of a config key over many runs: mean ± sd over seeds, and the difference to a
    baseline row with its interval and p-value. Two keys (`--by data.ntl,distill.temperature`) also give the
    paper's heatmap of G-XLT F1, in the terminal and with --png as an image. With one key (or --lines),
    --png draws G-XLT and XLT against it, one line per method; the cost table follows (engine.analysis.costs).
    On a narrow terminal columns are left out (and named), never cut. --format markdown / latex writes the
    paper's table: mean ± sd, the interval (and the seed-aware one), p against the baseline corrected over the
    rows (Holm), and a one-line signature of the settings.

    \b
    Examples:
      xlqa-run table 10-60 --by distill.temperature
      xlqa-run table 10-60 --by distill.temperature --format latex > table.tex
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
    elif fmt != "terminal":
        from engine.analysis.paper_tables import to_latex, to_markdown
        click.echo((to_markdown if fmt == "markdown" else to_latex)(result), nl=False)
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


def _ints(text: str) -> list[int]:
    try:
        out = [int(x) for x in str(text).split(",") if x.strip()]
    except ValueError:
        raise InputError(f"{text!r}: give whole numbers separated by commas") from None
    if not out or min(out) < 1:
        raise InputError(f"{text!r}: give numbers of at least 1")
    return out


@main.command(context_settings=CONTEXT)
@click.argument("run_a", metavar="[A]", required=False)
@click.argument("run_b", metavar="[B]", required=False)
@click.option("--suite", default=None, help="evaluation suite (default: the first of A)")
@metric_option
@click.option("--view", type=click.Choice(["g_xlt", "g_xlt_cross", "xlt"]), default="g_xlt", show_default=True)
@click.option("--seeds", default="2,3,5,10,20", show_default=True, help="seeds per side of the designs")
@click.option("--questions-per-cell", default=None, help="questions per cell of the designs (default: A's)")
@click.option("--cells", type=click.IntRange(min=1), default=None, help="cells of the view (default: A's)")
@click.option("--difference", type=float, default=None, help="also say how many seeds detect this difference")
@click.option("--seed-sd", type=float, default=None, help="without A B: sd of the per-seed difference (points)")
@click.option("--question-se", type=float, default=None,
              help="without A B: standard error of one seed's difference from its questions (points)")
@click.option("--items", type=click.IntRange(min=1), default=None,
              help="without A B: question-cells behind --question-se")
@click.option("--json", "as_json", is_flag=True)
@resamples_option
@db_option
@fail_on_bad_input
def power(run_a, run_b, suite, metric, view, seeds, questions_per_cell, cells, difference, seed_sd, question_se,
          items, as_json, resamples):
    """The smallest difference a design can detect at 80% power and alpha 0.05, before spending GPU-hours.

    The variance components (between seeds, questions, seed x question) come from a stored comparison A B
    (seed groups, as for compare: `3,9 6,12`), or are given (--seed-sd, --question-se, --items).

    \b
    Examples:
      xlqa-run power 11,12 14,15 --seeds 2,5,10,20 --questions-per-cell 100,322 --difference 0.19
      xlqa-run power --seed-sd 0.3 --question-se 0.2 --items 4900 --seeds 3,5
    """
    from engine.analysis.tables import power_table
    if run_a and run_b:
        from engine.analysis.tables import parse_runs
        source = {"store": open_store(), "a": parse_runs(run_a), "b": parse_runs(run_b), "suite": suite,
                  "metric": metric, "resamples": resamples}
    elif seed_sd is not None and question_se is not None and items:
        source = {"seed_sd": seed_sd, "question_se": question_se, "items": items}
    else:
        raise InputError("give two runs or seed groups A B, or --seed-sd, --question-se and --items")
    result = power_table(source, view, _ints(seeds), _ints(questions_per_cell) if questions_per_cell else None,
                         cells, difference)
    if as_json:
        return echo_json(result)
    from rich.console import Console

    from engine.cli.render.significance import print_power
    print_power(result, Console())


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
        try:
            n = export_parquet(store, run_id, output)
        except ImportError as e:
            raise InputError("--format parquet needs pyarrow: pip install 'xlqa[parquet]'") from e
        click.echo(f"wrote {output} ({n} rows)")
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
