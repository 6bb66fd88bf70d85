"""The paper's analyses, each a terminal view and a PNG: `coef-curve`, `nbest-ranks`, `start-probs` (and
`table --by KEY --png`, drawn as lines, in engine.cli.results). docs/analyses.md shows them."""

from __future__ import annotations

from pathlib import Path

import click

from engine.cli.base import CONTEXT, db_option, echo_json, fail_on_bad_input, get_run_or_fail, main, open_store

png_option = click.option("--png", type=click.Path(path_type=Path), default=None, help="also draw it as a PNG file")
json_option = click.option("--json", "as_json", is_flag=True, help="the numbers as JSON")
model_argument = click.argument("model", metavar="RUN|CHECKPOINT")
suite_option = click.option("--suite", default=None, help="evaluation suite (default: the model's config's first)")
max_per_cell_option = click.option("--max-per-cell", type=click.IntRange(min=0), default=None,
                                   help="questions per cell (default: the config's eval.max_per_cell; 0: all)")


def _emit(result, png, as_json, draw, view) -> None:
    """The one tail of every analysis: the PNG (`draw(result, png)`), then the JSON or the terminal view
    (`view(result)`: lines, or a rich renderable)."""
    if png:
        draw(result, png)
    if as_json:
        echo_json(result)
    else:
        shown = view(result)
        if isinstance(shown, list):
            click.echo("\n".join(shown))
        else:
            from rich.console import Console
            Console().print(shown)
    if png:
        click.echo(f"wrote {png}", err=as_json)


def _model(model: str):
    from engine.analysis.probes import resolve_model
    store = open_store() if model.isdigit() else None
    return resolve_model(store, model)


@main.command("coef-curve", context_settings=CONTEXT)
@click.argument("run_id", type=int)
@click.option("--key", default="coef", show_default=True, help="the metric: coef (per logging window) or another")
@click.option("--window", type=click.IntRange(min=1), default=51, show_default=True, help="moving-average points")
@png_option
@json_option
@db_option
@fail_on_bad_input
def coef_curve(run_id, key, window, png, as_json):
    """The coefficient curve as the paper draws it: a centred moving average (51 points) ± the rolling
    standard deviation, clipped to [0, 1], with the epoch boundaries marked, from the run's stored rows.
    Log every step (train.log_every = 1) for the paper's per-step curve.

    \b
    Example:
      xlqa-run coef-curve 5 --png coef.png
    """
    from engine.analysis.curves import coefficient_curve
    from engine.analysis.plots import coefficient_png
    from engine.cli.render.analyses import curve_view
    store = open_store()
    get_run_or_fail(store, run_id)
    _emit(coefficient_curve(store, run_id, key, window), png, as_json, coefficient_png, curve_view)


@main.command("nbest-ranks", context_settings=CONTEXT)
@model_argument
@suite_option
@click.option("--n-best", type=click.IntRange(min=1), default=20, show_default=True)
@max_per_cell_option
@png_option
@json_option
@db_option
@fail_on_bad_input
def nbest_ranks(model, suite, n_best, max_per_cell, png, as_json):
    """At which rank of a model's n-best list the gold answer first appears, per question language (the
    paper's reason for mAP@k: the right span is often in the top-k, not the top-1). The model runs again on
    the suite (evaluations keep each question's top answer only). RUN: a training or evaluate run.

    \b
    Example:
      xlqa-run nbest-ranks 3 --suite mlqa-dev --max-per-cell 200 --png ranks.png
    """
    from engine.analysis.plots import ranks_png
    from engine.analysis.probes import nbest_ranks as compute
    from engine.cli.render.analyses import ranks_table
    folder, cfg = _model(model)
    result = compute(folder, cfg, suite or (cfg.eval.suites or [cfg.eval.dev])[0], n_best, max_per_cell)
    _emit(result, png, as_json, ranks_png, ranks_table)


@main.command("start-probs", context_settings=CONTEXT)
@model_argument
@suite_option
@click.option("--example", default="0", show_default=True, help="a record id ({qid}_{q}-{c}) or an index")
@click.option("--temperature", "-T", type=click.FloatRange(min=0, min_open=True), default=4.0, show_default=True)
@max_per_cell_option
@png_option
@json_option
@db_option
@fail_on_bad_input
def start_probs(model, suite, example, temperature, max_per_cell, png, as_json):
    """The teacher's start-position probabilities for one example at temperature T (the paper's T = 4
    figure), beside T = 1, the gold start marked.

    \b
    Example:
      xlqa-run start-probs RUNS/exp0001-paper-teacher/teacher/checkpoint --suite xquad --example 0 -T 4 --png t4.png
    """
    from engine.analysis.plots import start_probs_png
    from engine.analysis.probes import teacher_start_probs
    from engine.cli.render.analyses import start_probs_table
    folder, cfg = _model(model)
    result = teacher_start_probs(folder, cfg, suite or (cfg.eval.suites or [cfg.eval.dev])[0], example, temperature,
                                 max_per_cell)
    _emit(result, png, as_json, start_probs_png, start_probs_table)
