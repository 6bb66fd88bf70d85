"""Experiments and their runs: `run`, `launch`, `sweep`, `demo`, `list`, `show`, `logs`, `cancel`, `resume`,
`schedule`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from db.states import COST_TOTALS, RUN_STATUSES
from engine.cli.base import (CONTEXT, InputError, db_option, echo_json, fail_on_bad_input, get_run_or_fail, jsonable,
                             load_config, main, open_store)
from engine.jobs.executors import EXECUTORS

LIST_KEYS = ("id", "experiment", "experiment_id", "kind", "status", "step", "total_steps", "score", "score_suite",
             "best_dev_gxlt_f1", "alerts", "alert_level", "seed", "depends_on", "created_at", "started_at", "ended_at", "output_dir", "error", "hint",
             *COST_TOTALS)


def executor_options(fn):
    """--executor and the Slurm flags, which override the config's [slurm] section."""
    for option in reversed([
        click.option("--executor", type=click.Choice(EXECUTORS), default="local", show_default=True,
                     help="local: a detached scheduler on this machine; slurm: one Slurm job per run through submitit "
                          "(needs a PostgreSQL --db); submitit-local: the Slurm code path on this machine"),
        click.option("--partition", default=None, help="Slurm partition ([slurm] partition)"),
        click.option("--gpus-per-node", type=int, default=None, help="GPUs per node ([slurm] gpus_per_node)"),
        click.option("--nodes", type=int, default=None, help="nodes per training run ([slurm] nodes)"),
        click.option("--time", "time_limit", default=None, help="HH:MM:SS per job ([slurm] time)"),
        click.option("--account", default=None, help="Slurm account ([slurm] account)")]):
        fn = option(fn)
    return fn


def slurm_overrides(partition, gpus_per_node, nodes, time_limit, account) -> tuple[str, ...]:
    values = {"partition": partition, "gpus_per_node": gpus_per_node, "nodes": nodes, "time": time_limit, "account": account}
    return tuple(f"slurm.{k}={v!r}" if isinstance(v, str) else f"slurm.{k}={v}" for k, v in values.items() if v is not None)


def print_dry_run(cfg) -> None:
    from engine.dryrun import dry_run
    try:
        report = dry_run(cfg)
    except ValueError as e:  # DataError, ConfigError, unreachable hub: one line naming the fix, nothing written
        raise InputError(f"dry run: {e}") from e
    for line in report.lines():
        click.echo(line)
    click.echo("dry run: nothing was queued or written")


def check_before_queueing(cfg):
    """Nothing is queued when the config names a missing path or a broken data file (exit 2)."""
    from engine.preflight import preflight
    problems = preflight(cfg)
    if problems:
        raise InputError("nothing was queued:\n  " + "\n  ".join(problems))


config_argument = click.argument("config_path", metavar="CONFIG.toml", type=click.Path(exists=True, path_type=Path))
set_option = click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
                          help="override a config key (repeatable)")


@main.command(context_settings=CONTEXT)
@config_argument
@set_option
@click.option("--dry-run", is_flag=True, help="check, sample, featurize, run one micro-batch and count the evaluation; "
                                              "write nothing")
@db_option
def run(config_path, overrides, dry_run):
    """Run an experiment in the foreground with progress bars (sample, train, evaluate), recorded in the store.

    \b
    Example:
      xlqa-run run examples/quickstart.toml --set train.epochs=1
    """
    from rich.console import Console

    from engine.cli.render.progress import foreground_view
    from engine.jobs.foreground import run_foreground
    cfg = load_config(config_path, overrides)
    check_before_queueing(cfg)
    if dry_run:
        return print_dry_run(cfg)
    store = open_store()
    with foreground_view(Console()) as view:
        status = run_foreground(store, cfg, view=view)
    sys.exit(0 if status == "done" else 1)


@main.command(context_settings=CONTEXT)
@config_argument
@set_option
@click.option("--devices", default="", help="GPU indexes as nvidia-smi numbers them (e.g. 0,1), or cpu; default: any free")
@click.option("--dry-run", is_flag=True, help="check, sample, featurize, run one micro-batch; queue nothing")
@executor_options
@click.option("--no-scheduler", is_flag=True,
              help="queue only: another executor starts the workers (`python -m engine.jobs.worker --db URL --run ID` "
                   "claims a queued run atomically)")
@db_option
def launch(config_path, overrides, devices, dry_run, executor, partition, gpus_per_node, nodes, time_limit, account,
           no_scheduler):
    """Queue an experiment as background jobs and return at once; a detached scheduler runs them.

    Closing the terminal or the SSH session stops nothing. Watch with `xlqa-run list` or `xlqa`.
    The config is checked first (paths, data files, languages): on a problem nothing is queued (exit 2).

    \b
    Example:
      xlqa-run launch examples/paper_xquad_to_mlqa.toml --set distill.temperature=3 --devices 0,1
      xlqa-run --db postgresql+psycopg://me@dbhost/xlqa launch cfg.toml --executor slurm --partition gpu --gpus-per-node 4 --nodes 2
    """
    from engine.jobs.launch import ensure_scheduler, plan
    cfg = load_config(config_path, overrides + slurm_overrides(partition, gpus_per_node, nodes, time_limit, account))
    check_before_queueing(cfg)
    if dry_run:
        return print_dry_run(cfg)
    store = open_store()
    try:
        ids = plan(store, cfg, devices, executor=executor)  # checks the executor against the database first
    except ValueError as e:  # SQLite with slurm, no submitit: one line, nothing queued
        raise InputError(str(e)) from e
    if not no_scheduler:
        ensure_scheduler(store)
    click.echo(f"queued runs {', '.join(map(str, ids))} of experiment {cfg.name!r}")
    click.echo(f"watch: xlqa-run list   logs: xlqa-run logs {ids[min(1, len(ids) - 1)]} -f   dashboard: xlqa")


@main.command(context_settings=CONTEXT)
@config_argument
@click.option("--grid", "grid", multiple=True, required=True, metavar="KEY=V1,V2,...",
              help="a config key and its values (repeatable: the product of all is launched)")
@click.option("--seeds", default=None, help="N (N seeds from the config's train.seed) or a list such as 3,7,42")
@click.option("--name", default=None, help="the sweep's name (default: the config's name); launching it again "
                                          "skips the points done or under way")
@set_option
@click.option("--devices", default="")
@click.option("--dry-run", is_flag=True, help="list the points and what would happen; queue nothing")
@executor_options
@db_option
@fail_on_bad_input
def sweep(config_path, grid, seeds, name, overrides, devices, dry_run, executor, partition, gpus_per_node, nodes,
          time_limit, account):
    """Launch a grid of configs as one sweep: one experiment per point (and seed), each run's config
    recording its point. Run it again to complete a sweep: points done or under way are skipped, failed
    ones resumed. `list` and the dashboard show each sweep's progress; `table` summarizes it.

    \b
    Examples:
      xlqa-run sweep examples/paper_xquad_to_mlqa.toml --grid data.ntl=0,1,2,3,4,5,6 --grid distill.temperature=2,4,8,16 --seeds 3
      xlqa-run table 1-400 --by data.ntl,distill.temperature --png ntl_T.png
    """
    from engine.jobs.launch import ensure_scheduler
    from engine.jobs.sweep import launch_sweep, parse_grid, parse_seeds, point_configs, point_statuses
    base = load_config(config_path, overrides + slurm_overrides(partition, gpus_per_node, nodes, time_limit, account))
    configs = point_configs(base, parse_grid(grid), parse_seeds(seeds, base.train.seed), name or base.name)
    check_before_queueing(base)
    store = open_store()
    if dry_run:
        for point, statuses in point_statuses(store, configs):
            click.echo(f"{point}: " + (", ".join(statuses) if statuses else "new"))
        click.echo(f"{len(configs)} points; dry run: nothing was queued")
        return
    report = launch_sweep(store, configs, devices, executor)
    for point, what, ids in report:
        click.echo(f"{point}: {what} (runs {', '.join(map(str, ids))})")
    queued = sum(1 for _, what, _ in report if what in ("queued", "resumed"))
    if queued:
        ensure_scheduler(store)
    click.echo(f"sweep {configs[0].sweep!r}: {len(report)} points, {queued} queued now")


@main.command(context_settings=CONTEXT)
@click.option("--epochs", type=int, default=None, help="distillation epochs (default: the quickstart's)")
@click.option("--background", is_flag=True, help="queue as jobs instead of running in the foreground")
@db_option
def demo(epochs, background):
    """The whole pipeline offline: synthetic parallel QA in 7 languages, a tiny BERT, teacher CE stage,
    cross-lingual sampling, distillation with mAP@k and the 7x7 G-XLT evaluation, into the default database.

    \b
    Example:
      xlqa-run demo && xlqa
    """
    from engine.cli.render.demo import print_demo
    sys.exit(print_demo(open_store(), epochs=epochs, background=background))


@main.command("list", context_settings=CONTEXT)
@click.option("--status", "statuses", multiple=True, type=click.Choice(RUN_STATUSES))
@click.option("--limit", type=int, default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="one JSON object per run (keys in the README)")
@db_option
def list_runs(statuses, limit, as_json):
    """Runs with status, progress and their G-XLT F1 (an evaluate run's, a training run's best dev), newest
    first, and the progress of every sweep."""
    from engine.jobs.control import overview
    store = open_store()
    runs, waiting = overview(store, statuses, limit)
    if as_json:
        return echo_json([jsonable({k: r[k] for k in LIST_KEYS}) for r in runs])
    from rich.console import Console

    from engine.cli.render.runs import runs_table
    from engine.jobs.sweep import sweep_progress
    console = Console()
    console.print(runs_table(runs, width=console.width))
    for name, counts in sweep_progress(store).items():
        click.echo(f"sweep {name}: " + ", ".join(f"{n} {st}" for st, n in counts.items() if n and st != "total")
                   + f" of {counts['total']} runs")
    if waiting:
        click.echo(f"{waiting} run(s) ready and no scheduler alive: `xlqa-run schedule` starts one", err=True)


@main.command(context_settings=CONTEXT)
@click.argument("run_id", type=int)
@click.option("--at-step", "at_step", type=int, default=None, metavar="N",
              help="every metric of the run at step N, or at its logged step nearest to N")
@click.option("--json", "as_json", is_flag=True, help="the run row, its config, metric summary and cost as JSON")
@db_option
def show(run_id, at_step, as_json):
    """Config, status, provenance, latest metrics and cost (per stage) of a run; with --at-step N, its
    metrics at one step.

    \b
    Examples:
      xlqa-run show 6
      xlqa-run show 6 --at-step 500 --json
    """
    from engine.analysis.costs import stage_totals
    from engine.jobs.control import reconcile
    store = open_store()
    get_run_or_fail(store, run_id)
    if at_step is not None:
        return show_at_step(store, run_id, at_step, as_json)
    reconcile(store)
    r, summary = store.get_run(run_id), sorted(store.summary(run_id).items())
    stages = stage_totals(store.run_costs(run_id))
    if as_json:
        return echo_json({"run": jsonable(r),
                          "summary": {k: {"last_step": m["last_step"], "last": m["last_value"], "best": m["best_value"],
                                          "best_step": m["best_step"]} for k, m in summary},
                          "evaluations": store.eval_suites(run_id),
                          "cost": {"stages": stages, "total": store.cost_totals([run_id]).get(run_id)}}, default=str)
    click.echo(f"run {r['id']} ({r['kind']}) of {r['experiment']!r}: {r['status']}  step {r['step']}/{r['total_steps']}")
    click.echo(f"output: {r['output_dir']}\ncommit: {r['git_commit']}  seed: {r['seed']}  devices: {r['assigned_devices'] or 'cpu'}")
    if r["error"]:
        click.echo(f"error: {r['error'].strip().splitlines()[-1]}\nhint: {r['hint']}")
    for key, m in summary:
        click.echo(f"  {key:<24} last {m['last_value']:.4f} @ {m['last_step']}   best {m['best_value']:.4f} @ {m['best_step']}")
    from engine.cli.render.costs import cost_lines
    click.echo("\n".join(cost_lines(stages)))
    from engine.config import from_dict
    click.echo(from_dict(r["config"]).to_toml())


def show_at_step(store, run_id: int, step: int, as_json: bool) -> None:
    found = store.metrics_at_step(run_id, step)
    if as_json:
        return echo_json({"run": run_id, "at_step": step,
                          "metrics": {k: {"step": st, "value": v} for k, (st, v) in found.items()}})
    if not found:
        click.echo(f"run {run_id} has logged no metrics yet")
        return
    click.echo(f"run {run_id} at step {step} (a metric not logged at {step}: its nearest step)")
    for key, (st, v) in found.items():
        click.echo(f"  {key:<28} {v:>12.4f} @ {st}{'' if st == step else '  (nearest)'}")


@main.command(context_settings=CONTEXT)
@click.argument("run_id", type=int)
@click.option("-f", "--follow", is_flag=True, help="keep printing new lines until the run ends")
@db_option
def logs(run_id, follow):
    """The log of a run: progress lines (stage, epoch, step, loss, ETA, evaluation) and errors.
    Background runs and foreground runs (`xlqa-run run`) both write `<run dir>/worker.log`."""
    from engine.jobs.logs import log_path, stream_log, why_no_log
    store = open_store()
    get_run_or_fail(store, run_id)

    def write(text):
        sys.stdout.write(text)
        sys.stdout.flush()
    if not stream_log(store, run_id, write, follow):
        run = store.get_run(run_id)
        click.echo(f"run {run_id} has no log at {log_path(run)}: {why_no_log(run['status'])}. "
                   f"Its metrics: xlqa-run show {run_id}", err=True)


@main.command(context_settings=CONTEXT)
@click.argument("run_ids", type=int, nargs=-1, required=True)
@db_option
def cancel(run_ids):
    """Stop runs: a training job checkpoints at its next step and ends `cancelled`; queued runs end at once."""
    from engine.jobs.control import cancel_run
    store = open_store()
    for run_id in run_ids:
        get_run_or_fail(store, run_id)
        click.echo(cancel_run(store, run_id))


@main.command(context_settings=CONTEXT)
@db_option
def schedule():
    """Make sure a scheduler runs the queue (launch and resume start one; this is for a scheduler that died)."""
    from engine.jobs.control import schedule as start
    click.echo(start(open_store()))


@main.command(context_settings=CONTEXT)
@click.argument("run_id", type=int)
@db_option
@fail_on_bad_input
def resume(run_id):
    """Queue a failed, lost or cancelled run again; training continues from its last checkpoint."""
    from engine.jobs.control import resume_run
    store = open_store()
    get_run_or_fail(store, run_id)
    click.echo(resume_run(store, run_id))
