"""xlqa-run: the headless CLI over the engine and the results store.

Exit codes: 0 success, 1 a job or check failed, 2 bad usage or bad input (click's convention)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from engine.data.errors import DataError

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class InputError(click.ClickException):
    exit_code = 2


class XlqaGroup(click.Group):
    """Database problems (bad URL, missing driver, not a database, read-only) end in one line and exit 2."""

    def invoke(self, ctx):
        from db.session import StoreError
        try:
            return super().invoke(ctx)
        except StoreError as e:
            raise InputError(str(e)) from e


def fail_on_bad_input(fn):
    """DataError / ValueError from the engine become a clean message and exit code 2."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (DataError, ValueError, FileNotFoundError) as e:
            raise InputError(str(e)) from e
    return wrapper


@click.group(cls=XlqaGroup, context_settings=CONTEXT)
@click.version_option(package_name="xlqa")
@click.option("--db", "root_db", envvar="XLQA_DB", default=None,
              help="SQLAlchemy URL or SQLite path, for every command (or give --db after the command)")
@click.pass_context
def main(ctx, root_db):
    """xlqa: generalized cross-lingual extractive QA experiments.

    \b
    Examples:
      xlqa-run demo                          # offline end-to-end run, then `xlqa` to browse
      xlqa-run data check ../shared/data/xquad
      xlqa-run score --dataset dev.json --predictions preds.json --metric mlqa --context-language de
    """


# --- data ------------------------------------------------------------------------------------------

@main.group(context_settings=CONTEXT)
def data():
    """Inspect QA files and build cross-lingual evaluation cells."""


@data.command("check", context_settings=CONTEXT)
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
def data_check(paths):
    """Counts, languages and every answer whose answer_start does not point at its text.

    \b
    Example:
      xlqa-run data check ../shared/data/mlqa/dev ../shared/data/squad/dev-v1.1.json.gz
    Exit code 1 when any file has a problem.
    """
    from engine.data.loaders import iter_squad_problems, languages_of_file, qa_files, read_json
    from rich.console import Console
    console = Console(stderr=True)
    bad = 0
    for root in paths:
        files = qa_files(root) if root.is_dir() else [root]
        if not root.exists():
            click.echo(f"{root}: no such file or folder", err=True)
            bad += 1
            continue
        for i, path in enumerate(files, 1):
            try:
                with console.status(f"reading {path.name} ({i}/{len(files)})"):  # a spinner on a terminal only
                    obj = read_json(path)
                q, c = languages_of_file(path)
            except DataError as e:
                click.echo(f"ERROR {e}", err=True)
                bad += 1
                continue
            problems = iter_squad_problems(obj, path)
            n_q = sum(len(p.get("qas", [])) for a in obj.get("data", []) if isinstance(a, dict)
                      for p in a.get("paragraphs", []) if isinstance(p, dict)) if isinstance(obj, dict) else 0
            langs = f"question={q or '?'} context={c or '?'}"
            status = "ok" if not problems else f"{len(problems)} problems"
            click.echo(f"{path}: {n_q} questions, {langs}, {status}")
            for p in problems:
                click.echo(f"  {p}", err=True)
            bad += bool(problems)
    sys.exit(1 if bad else 0)


@data.command("gxlt", context_settings=CONTEXT)
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("-q", "--question-language", required=True, help="language of the questions")
@click.option("-c", "--context-language", required=True, help="language of the contexts and answers")
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path), help="output .json or .json.gz")
@fail_on_bad_input
def data_gxlt(path, question_language, context_language, output):
    """Write the (question, context) cell built from a folder of monolingual files (MLQA or XQuAD layout),
    as MLQA's official cross files are built: ids in both languages, question from Q, the rest from C.

    \b
    Example:
      xlqa-run data gxlt ../shared/data/mlqa/dev -q de -c ar -o dev-context-ar-question-de.json
    """
    from engine.data import cross_lingual_cell, load_monolingual_folder, to_squad_json
    from engine.data.records import write_json
    from engine.languages import check_language
    q, c = check_language(question_language), check_language(context_language)
    mono = load_monolingual_folder(path, [q, c])
    cell = cross_lingual_cell(mono, q, c)
    write_json(to_squad_json(cell, version="1.0"), output)
    click.echo(f"{output}: {len(cell)} questions (question={q}, context={c})")


@data.command("fetch", context_settings=CONTEXT)
@click.argument("names", nargs=-1, required=True, type=click.Choice(["mlqa", "xquad", "tydiqa", "squad"]))
@click.option("--to", "to", required=True, type=click.Path(path_type=Path), help="the data folder (eval.data_dir)")
@click.option("--mirror", default=None, help="a base URL serving the same file names (instead of the official hosts)")
@fail_on_bad_input
def data_fetch(names, to, mirror):
    """Download the official release files (MLQA_V1.zip, the XQuAD JSON files, TyDiQA-GoldP v1.1, SQuAD v1.1),
    check their sizes and checksums, and lay them out as eval.data_dir reads them. Files already there are
    kept; DATA/FETCHED.json records what came from where.

    \b
    Example:
      xlqa-run data fetch mlqa xquad tydiqa squad --to ~/xlqa-data   # then eval.data_dir = "~/xlqa-data"
    """
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    from engine.data.fetch import fetch
    if sys.stdout.isatty():
        with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn()) as bar:
            def progress_for(name):
                task = bar.add_task(name, total=None)
                return lambda done, total: bar.update(task, completed=done, total=total)
            lines = fetch(list(names), to, mirror, progress_for)
    else:
        lines = fetch(list(names), to, mirror)
    for line in lines:
        click.echo(line)
    click.echo(f"data in {to}: set eval.data_dir = \"{to}\"")


# --- score -----------------------------------------------------------------------------------------

@main.command(context_settings=CONTEXT)
@click.option("--dataset", required=True, type=click.Path(exists=True, path_type=Path), help="SQuAD-format gold file")
@click.option("--predictions", required=True, type=click.Path(exists=True, path_type=Path), help="JSON {id: answer}")
@click.option("--metric", type=click.Choice(["mlqa", "squad"]), default="mlqa", show_default=True)
@click.option("--context-language", help="answer language for --metric mlqa (default: from the file name)")
@click.option("--question-language", help="recorded only; MLQA scores by the context language")
@fail_on_bad_input
def score(dataset, predictions, metric, context_language, question_language):
    """EM / F1 identical to the official SQuAD v1.1 / MLQA v1 scripts; the last line is one JSON object.

    \b
    Example:
      xlqa-run score --dataset dev-context-de-question-en.json --predictions preds.json --context-language de
    """
    from engine.data.loaders import languages_of_file, read_json
    from engine.scoring import evaluate_squad_json
    lang = context_language or languages_of_file(dataset)[1]
    if metric == "mlqa" and lang is None:
        raise InputError("cannot tell the context language from the file name; pass --context-language")
    preds = read_json(predictions)
    if not isinstance(preds, dict):
        raise InputError(f"{predictions}: predictions must be a JSON object {{question id: answer text}}")
    gold = read_json(dataset)
    if not isinstance(gold, dict) or "data" not in gold:
        raise InputError(f"{dataset}: not a SQuAD-format file (no 'data' list)")
    from engine.scoring.metrics import matching_ids
    matched, total = matching_ids(gold["data"], preds)
    if matched == 0:
        example = next(iter(preds), None)
        raise InputError(f"0 of {total:,} ids match: {predictions.name} holds no prediction for a question of "
                         f"{dataset.name} (e.g. prediction id {example!r}); are they for another dataset?")
    if matched < total:
        click.echo(f"{total - matched:,} of {total:,} questions have no prediction and score 0", err=True)
    result = evaluate_squad_json(gold["data"], preds, metric, lang or "en")
    click.echo(json.dumps(result))


# --- sample ----------------------------------------------------------------------------------------

@main.command(context_settings=CONTEXT)
@click.option("--data", "data_path", required=True, type=click.Path(exists=True, path_type=Path),
              help="folder or file of SQuAD-format JSON (.gz too); the layout tells the languages")
@click.option("--languages", required=True, help="comma-separated, e.g. en,es,de,ar,hi,vi,zh")
@click.option("--ntl", type=click.IntRange(min=0), required=True, help="target languages drawn per question id")
@click.option("--seed", type=int, default=42, show_default=True)
@click.option("--non-en-centric", is_flag=True, help="draw among all languages instead of always adding English")
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path), help="output .json or .json.gz")
@fail_on_bad_input
def sample(data_path, languages, ntl, seed, non_en_centric, output):
    """Cross-lingual sampling: N_seed * (1 + ntl)^2 examples, ids {qid}_{q}-{c}; prints counts per pair.

    \b
    Example:
      xlqa-run sample --data ../shared/data/xquad --languages en,es,de,ar,hi,vi,zh --ntl 5 --seed 1 -o train.json
    """
    from engine.data import load_path, to_squad_json
    from engine.data.records import write_json
    from engine.languages import parse_language_list
    from engine.sampling import pair_counts, sample_cross_lingual
    langs = parse_language_list(languages, "--languages")
    table = load_path(data_path, langs)
    records = sample_cross_lingual(table, langs, ntl, seed, en_centric=not non_en_centric)
    # one paragraph per example: each record gets its own title so contexts never merge
    write_json(to_squad_json([{**r, "title": r["id"]} for r in records]), output)
    counts = pair_counts(records)
    seeds = len({r["qid"] for r in records})
    click.echo(f"{output}: {len(records)} examples from {seeds} seed questions")
    for (q, c), n in counts.items():
        click.echo(f"  {q}-{c}\t{n}")


# --- experiments and jobs --------------------------------------------------------------------------

db_option = click.option("--db", "db_url", default=None,
                         help="SQLAlchemy URL or SQLite path (default: --db before the command, $XLQA_DB, "
                              "or ~/.local/share/xlqa/xlqa.db)")


def open_store(db_url):
    from db import Store
    return Store(resolve_db(db_url))


def resolve_db(db_url):
    """--db after the command, else --db before it (xlqa-run --db X list), else $XLQA_DB / the default."""
    if db_url:
        return db_url
    ctx = click.get_current_context(silent=True)
    return ctx.find_root().params.get("root_db") if ctx else None


def jsonable(row: dict) -> dict:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}


def load_config(config_path, overrides):
    from engine.config import ConfigError, load_toml
    try:
        return load_toml(config_path, overrides)
    except ConfigError as e:
        raise InputError(str(e)) from e


def executor_options(fn):
    """--executor and the Slurm flags, which override the config's [slurm] section."""
    for option in reversed([
        click.option("--executor", type=click.Choice(["local", "slurm", "submitit-local"]), default="local", show_default=True,
                     help="local: a detached scheduler on this machine; slurm: one Slurm job per run through submitit "
                          "(needs a PostgreSQL --db); submitit-local: the Slurm code path on this machine"),
        click.option("--partition", default=None, help="Slurm partition ([slurm] partition)"),
        click.option("--gpus-per-node", type=int, default=None, help="GPUs per node ([slurm] gpus_per_node)"),
        click.option("--nodes", type=int, default=None, help="nodes per training run ([slurm] nodes)"),
        click.option("--time", "time_limit", default=None, help="HH:MM:SS per job ([slurm] time)"),
        click.option("--account", default=None, help="Slurm account ([slurm] account)")]):
        fn = option(fn)
    return fn


def slurm_overrides(partition, gpus_per_node, nodes, time_limit, account) -> list[str]:
    values = {"partition": partition, "gpus_per_node": gpus_per_node, "nodes": nodes, "time": time_limit, "account": account}
    return [f"slurm.{k}={v!r}" if isinstance(v, str) else f"slurm.{k}={v}" for k, v in values.items() if v is not None]


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


def get_run_or_fail(store, run_id):
    run = store.get_run(run_id)
    if run is None:
        raise InputError(f"no run {run_id}; `xlqa-run list` shows the runs")
    return run


@main.command(context_settings=CONTEXT)
@click.argument("config_path", metavar="CONFIG.toml", type=click.Path(exists=True, path_type=Path))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="override a config key (repeatable)")
@click.option("--dry-run", is_flag=True, help="check, sample, featurize, run one micro-batch and count the evaluation; "
                                              "write nothing")
@db_option
def run(config_path, overrides, dry_run, db_url):
    """Run an experiment in the foreground with progress bars (sample, train, evaluate), recorded in the store.

    \b
    Example:
      xlqa-run run examples/quickstart.toml --set train.epochs=1
    """
    from engine.jobs.foreground import run_foreground
    cfg = load_config(config_path, overrides)
    check_before_queueing(cfg)
    if dry_run:
        return print_dry_run(cfg)
    status = run_foreground(open_store(db_url), cfg)
    sys.exit(0 if status == "done" else 1)


@main.command(context_settings=CONTEXT)
@click.argument("config_path", metavar="CONFIG.toml", type=click.Path(exists=True, path_type=Path))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="override a config key (repeatable)")
@click.option("--devices", default="", help="GPU indexes as nvidia-smi numbers them (e.g. 0,1), or cpu; default: any free")
@click.option("--dry-run", is_flag=True, help="check, sample, featurize, run one micro-batch; queue nothing")
@executor_options
@click.option("--no-scheduler", is_flag=True,
              help="queue only: another executor starts the workers (`python -m engine.jobs.worker --db URL --run ID` "
                   "claims a queued run atomically)")
@db_option
def launch(config_path, overrides, devices, dry_run, executor, partition, gpus_per_node, nodes, time_limit, account,
           no_scheduler, db_url):
    """Queue an experiment as background jobs and return at once; a detached scheduler runs them.

    Closing the terminal or the SSH session stops nothing. Watch with `xlqa-run list` or `xlqa`.
    The config is checked first (paths, data files, languages): on a problem nothing is queued (exit 2).

    \b
    Example:
      xlqa-run launch examples/paper_xquad_to_mlqa.toml --set distill.temperature=3 --devices 0,1
      xlqa-run --db postgresql+psycopg://me@dbhost/xlqa launch cfg.toml --executor slurm --partition gpu --gpus-per-node 4 --nodes 2
    """
    from engine.jobs.launch import ensure_scheduler, plan
    cfg = load_config(config_path, tuple(overrides) + tuple(slurm_overrides(partition, gpus_per_node, nodes, time_limit, account)))
    check_before_queueing(cfg)
    if dry_run:
        return print_dry_run(cfg)
    store = open_store(db_url)
    try:
        ids = plan(store, cfg, devices, executor=executor)  # checks the executor against the database first
    except ValueError as e:  # SQLite with slurm, no submitit: one line, nothing queued
        raise InputError(str(e)) from e
    if not no_scheduler:
        ensure_scheduler(store)
    click.echo(f"queued runs {', '.join(map(str, ids))} of experiment {cfg.name!r}")
    click.echo(f"watch: xlqa-run list   logs: xlqa-run logs {ids[min(1, len(ids) - 1)]} -f   dashboard: xlqa")


@main.command(context_settings=CONTEXT)
@click.argument("config_path", metavar="CONFIG.toml", type=click.Path(exists=True, path_type=Path))
@click.option("--grid", "grid", multiple=True, required=True, metavar="KEY=V1,V2,...",
              help="a config key and its values (repeatable: the product of all is launched)")
@click.option("--seeds", default=None, help="N (N seeds from the config's train.seed) or a list such as 3,7,42")
@click.option("--name", default=None, help="the sweep's name (default: the config's name); launching it again "
                                          "skips the points done or under way")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="override a config key (repeatable)")
@click.option("--devices", default="")
@click.option("--dry-run", is_flag=True, help="list the points and what would happen; queue nothing")
@executor_options
@db_option
@fail_on_bad_input
def sweep(config_path, grid, seeds, name, overrides, devices, dry_run, executor, partition, gpus_per_node, nodes,
          time_limit, account, db_url):
    """Launch a grid of configs as one sweep: one experiment per point (and seed), each run's config
    recording its point. Run it again to complete a sweep: points done or under way are skipped, failed
    ones resumed. `list` and the dashboard show each sweep's progress; `table` summarizes it.

    \b
    Examples:
      xlqa-run sweep examples/paper_xquad_to_mlqa.toml --grid data.ntl=0,1,2,3,4,5,6 --grid distill.temperature=2,4,8,16 --seeds 3
      xlqa-run table 1-400 --by data.ntl,distill.temperature --png ntl_T.png
    """
    from engine.config import ConfigError
    from engine.jobs.launch import ensure_scheduler
    from engine.jobs.sweep import launch_sweep, parse_grid, parse_seeds, point_configs, sweep_runs
    base = load_config(config_path, tuple(overrides) + tuple(slurm_overrides(partition, gpus_per_node, nodes, time_limit, account)))
    try:
        configs = point_configs(base, parse_grid(grid), parse_seeds(seeds, base.train.seed), name or base.name)
    except ConfigError as e:
        raise InputError(str(e)) from e
    check_before_queueing(base)
    store = open_store(db_url)
    if dry_run:
        existing = sweep_runs(store, configs[0].sweep)
        for cfg in configs:
            runs = existing.get(cfg.grid_point, [])
            click.echo(f"{cfg.grid_point}: " + (", ".join(sorted({r['status'] for r in runs})) if runs else "new"))
        click.echo(f"{len(configs)} points; dry run: nothing was queued")
        return
    report = launch_sweep(store, configs, devices, executor)
    for point, what, ids in report:
        click.echo(f"{point}: {what} (runs {', '.join(map(str, ids))})")
    queued = sum(1 for _, what, _ in report if what in ("queued", "resumed"))
    if queued:
        ensure_scheduler(store)
    click.echo(f"sweep {configs[0].sweep!r}: {len(report)} points, {queued} queued now")


@main.command("list", context_settings=CONTEXT)
@click.option("--status", "statuses", multiple=True, type=click.Choice(["queued", "running", "done", "failed", "cancelled", "lost"]))
@click.option("--limit", type=int, default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="one JSON object per run (keys in the README)")
@db_option
def list_runs(statuses, limit, as_json, db_url):
    """Runs with status, progress and their G-XLT F1 (an evaluate run's, a training run's best dev), newest
    first, and the progress of every sweep."""
    from rich.console import Console
    from rich.table import Table
    from engine.jobs.control import reconcile, waiting_without_scheduler
    store = open_store(db_url)
    reconcile(store)
    waiting = 0 if store.read_only else waiting_without_scheduler(store)
    runs = store.list_runs(statuses=tuple(statuses), limit=limit)
    if as_json:
        keys = ("id", "experiment", "experiment_id", "kind", "status", "step", "total_steps", "score", "score_suite",
                "best_dev_gxlt_f1", "seed", "depends_on", "created_at", "started_at", "ended_at", "output_dir", "error", "hint")
        click.echo(json.dumps([jsonable({k: r[k] for k in keys}) for r in runs], indent=1))
        return
    table = Table("run", "experiment", "kind", "status", "progress", "G-XLT F1", "started", box=None)
    table.columns[1].overflow = "fold"  # full names, wrapped when the terminal is narrow
    for r in runs:
        progress = f"{r['step']}/{r['total_steps']}" if r["total_steps"] else ""
        score = f"{r['score']:.2f}" if r["score"] is not None else ""
        table.add_row(str(r["id"]), r["experiment"], r["kind"], STATUS_STYLE.get(r["status"], r["status"]), progress, score,
                      r["started_at"].strftime("%m-%d %H:%M") if r["started_at"] else "")
    Console().print(table)
    from engine.jobs.sweep import sweep_progress
    for name, counts in sweep_progress(store).items():
        click.echo(f"sweep {name}: " + ", ".join(f"{n} {st}" for st, n in counts.items() if n and st != "total")
                   + f" of {counts['total']} runs")
    if waiting:
        click.echo(f"{waiting} run(s) ready and no scheduler alive: `xlqa-run schedule` starts one", err=True)


STATUS_STYLE = {"running": "[yellow]running[/]", "done": "[green]done[/]", "failed": "[red]failed[/]",
                "lost": "[red]lost[/]", "cancelled": "[dim]cancelled[/]", "queued": "[cyan]queued[/]"}


@main.command(context_settings=CONTEXT)
@click.argument("run_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="the run row, its config and metric summary as JSON")
@db_option
def show(run_id, as_json, db_url):
    """Config, status, provenance and latest metrics of a run."""
    from engine.jobs.control import reconcile
    store = open_store(db_url)
    get_run_or_fail(store, run_id)
    reconcile(store)
    r = store.get_run(run_id)
    if as_json:
        summary = {k: {"last_step": m["last_step"], "last": m["last_value"], "best": m["best_value"], "best_step": m["best_step"]}
                   for k, m in sorted(store.summary(run_id).items())}
        click.echo(json.dumps({"run": jsonable(r), "summary": summary,
                               "evaluations": store.eval_suites(run_id)}, indent=1, default=str))
        return
    click.echo(f"run {r['id']} ({r['kind']}) of {r['experiment']!r}: {r['status']}  step {r['step']}/{r['total_steps']}")
    click.echo(f"output: {r['output_dir']}\ncommit: {r['git_commit']}  seed: {r['seed']}  devices: {r['assigned_devices'] or 'cpu'}")
    if r["error"]:
        click.echo(f"error: {r['error'].strip().splitlines()[-1]}\nhint: {r['hint']}")
    for key, m in sorted(store.summary(run_id).items()):
        click.echo(f"  {key:<24} last {m['last_value']:.4f} @ {m['last_step']}   best {m['best_value']:.4f} @ {m['best_step']}")
    from engine.config import from_dict
    click.echo(from_dict(r["config"]).to_toml())


@main.command(context_settings=CONTEXT)
@click.argument("run_id", type=int)
@click.option("-f", "--follow", is_flag=True, help="keep printing new lines until the run ends")
@db_option
def logs(run_id, follow, db_url):
    """The log of a run: progress lines (stage, epoch, step, loss, ETA, evaluation) and errors.
    Background runs and foreground runs (`xlqa-run run`) both write `<run dir>/worker.log`."""
    import time
    from engine.jobs.control import reconcile
    store = open_store(db_url)
    run_row = get_run_or_fail(store, run_id)
    path = Path(run_row["output_dir"]) / "worker.log"
    pos = 0

    def read_new() -> None:
        nonlocal pos
        if path.exists():
            with open(path, "rb") as f:
                f.seek(pos)
                chunk = f.read()
            pos += len(chunk)
            sys.stdout.write(chunk.decode(errors="replace"))
            sys.stdout.flush()

    while True:
        read_new()
        if not follow:
            break
        reconcile(store)
        if store.get_run(run_id)["status"] not in ("queued", "running"):
            read_new()  # the lines written just before the run ended
            break
        time.sleep(1)
    if not path.exists():
        status = store.get_run(run_id)["status"]
        reason = ("it has not started yet" if status == "queued" else
                  "it ran in the foreground with an xlqa older than 0.2, which printed to its terminal only"
                  if status != "running" else "its worker has not written a line yet")
        click.echo(f"run {run_id} has no log at {path}: {reason}. Its metrics: xlqa-run show {run_id}", err=True)


@main.command(context_settings=CONTEXT)
@click.argument("run_ids", type=int, nargs=-1, required=True)
@db_option
def cancel(run_ids, db_url):
    """Stop runs: a training job checkpoints at its next step and ends `cancelled`; queued runs end at once."""
    from engine.jobs.control import cancel_run
    store = open_store(db_url)
    for run_id in run_ids:
        get_run_or_fail(store, run_id)
        click.echo(cancel_run(store, run_id))


@main.command(context_settings=CONTEXT)
@db_option
def schedule(db_url):
    """Make sure a scheduler runs the queue (launch and resume start one; this is for a scheduler that died)."""
    from engine.jobs.control import schedule as start
    click.echo(start(open_store(db_url)))


@main.command(context_settings=CONTEXT)
@click.argument("run_id", type=int)
@db_option
@fail_on_bad_input
def resume(run_id, db_url):
    """Queue a failed, lost or cancelled run again; training continues from its last checkpoint."""
    from engine.jobs.control import resume_run
    store = open_store(db_url)
    get_run_or_fail(store, run_id)
    click.echo(resume_run(store, run_id))


@main.command(context_settings=CONTEXT)
@click.argument("run_id", type=int)
@click.option("--suite", default=None, help="evaluation suite (default: the first the run has)")
@click.option("--metric", type=click.Choice(["f1", "em"]), default="f1", show_default=True)
@click.option("--step", type=int, default=None, help="an evaluation step (default: the best checkpoint, else the latest)")
@click.option("--json", "as_json", is_flag=True, help="the cells and the three summary numbers as JSON")
@db_option
def matrix(run_id, suite, metric, step, as_json, db_url):
    """The question x context matrix of a run, with XLT, G-XLT (all cells) and G-XLT (cross cells)."""
    from engine.jobs.report import matrix_json, print_matrix
    store = open_store(db_url)
    get_run_or_fail(store, run_id)
    if as_json:
        out = matrix_json(store, run_id, suite, "exact_match" if metric == "em" else "f1", step)
        if out is None:
            raise click.ClickException(f"run {run_id} has no evaluation cells{' for ' + suite if suite else ''} yet")
        click.echo(json.dumps(out, indent=1))
        return
    if not print_matrix(store, run_id, suite, "exact_match" if metric == "em" else "f1", step):
        raise click.ClickException(f"run {run_id} has no evaluation cells{' for ' + suite if suite else ''} yet")


@main.command(context_settings=CONTEXT)
@click.argument("run_a", metavar="A")
@click.argument("run_b", metavar="B")
@click.option("--suite", default=None, help="evaluation suite (default: the first of A)")
@click.option("--significance", is_flag=True, help="B - A with a 95%% interval and p-values for G-XLT and XLT")
@click.option("--metric", type=click.Choice(["f1", "em"]), default="f1", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="print one JSON object (with --significance: the test)")
@click.option("--resamples", type=click.IntRange(min=100), default=10_000, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="seed of the resampling")
@db_option
@fail_on_bad_input
def compare(run_a, run_b, suite, significance, metric, as_json, resamples, seed, db_url):
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
    from rich.console import Console

    from engine.jobs.report import print_compare
    from engine.jobs.tables import evaluation_of, parse_runs, print_significance, significance as test
    store = open_store(db_url)
    ids_a, ids_b = parse_runs(run_a), parse_runs(run_b)
    for r in ids_a + ids_b:
        get_run_or_fail(store, r)
    result = test(store, ids_a, ids_b, suite, metric, resamples, seed) if significance else None
    if as_json:
        out = result or {}
        if not significance:
            from engine.jobs.report import compare_json
            out = compare_json(store, evaluation_of(store, ids_a[0]), evaluation_of(store, ids_b[0]), suite)
        click.echo(json.dumps(out, indent=1))
        return
    console = Console()
    if len(ids_a) == 1 and len(ids_b) == 1:
        print_compare(store, evaluation_of(store, ids_a[0]), evaluation_of(store, ids_b[0]), suite, console)
    if result:
        print_significance(result, console, f"run {run_a}", f"run {run_b}")


@main.command(context_settings=CONTEXT)
@click.argument("runs", nargs=-1, required=True)
@click.option("--by", "by", required=True, help="config key(s) that define a row, e.g. distill.temperature or data.ntl,distill.temperature")
@click.option("--suite", default=None)
@click.option("--metric", type=click.Choice(["f1", "em"]), default="f1", show_default=True)
@click.option("--baseline", default=None, help="the row the others are tested against (its value(s)); default: the first")
@click.option("--png", type=click.Path(path_type=Path), default=None, help="with two keys: the heatmap as a PNG")
@click.option("--json", "as_json", is_flag=True)
@click.option("--resamples", type=click.IntRange(min=100), default=10_000, show_default=True)
@db_option
@fail_on_bad_input
def table(runs, by, suite, metric, baseline, png, as_json, resamples, db_url):
    """One row per value of a config key over many runs: mean ± sd over seeds, and the difference to a
    baseline row with its interval and p-value. Two keys (`--by data.ntl,distill.temperature`) also give the
    paper's heatmap of G-XLT F1, in the terminal and with --png as an image.

    \b
    Examples:
      xlqa-run table 10-60 --by distill.temperature
      xlqa-run table 10-200 --by data.ntl,distill.temperature --png ntl_T.png
    """
    from rich.console import Console

    from engine.jobs.tables import heatmap_png, parse_runs, print_summary_table, summary_table
    keys = [k.strip() for k in by.split(",") if k.strip()]
    if not 1 <= len(keys) <= 2:
        raise InputError("--by takes one or two config keys")
    store = open_store(db_url)
    result = summary_table(store, parse_runs(runs), keys, suite, metric, baseline, resamples)
    if as_json:
        click.echo(json.dumps(result, indent=1, default=str))
    else:
        print_summary_table(result, Console())
    if png:
        if len(keys) != 2:
            raise InputError("--png draws the heatmap of two keys: --by KEY1,KEY2")
        heatmap_png(result, png)
        click.echo(f"wrote {png}", err=as_json)


@main.command(context_settings=CONTEXT)
@click.argument("run_id", type=int)
@click.option("--format", "fmt", type=click.Choice(["csv", "json", "parquet"]), default="csv", show_default=True)
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None, help="file (default: stdout; parquet needs one)")
@db_option
def export(run_id, fmt, output, db_url):
    """Metrics and evaluation cells of a run as CSV or Parquet (long format: run_id, kind, key, step, value,
    suite, lang_q, lang_c) or JSON; Parquet reads in pandas, polars and DuckDB."""
    from engine.jobs.report import export_parquet, export_run
    store = open_store(db_url)
    get_run_or_fail(store, run_id)
    if fmt == "parquet":
        if output is None:
            raise InputError("--format parquet writes a file: give -o FILE.parquet")
        rows = export_parquet(store, run_id, output)
        click.echo(f"wrote {output} ({rows} rows)")
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
def plot(run_id, output, suite, db_url):
    """F1 heatmap and loss / coefficient curves of a run as a PNG (matplotlib)."""
    from engine.jobs.report import plot_run
    store = open_store(db_url)
    get_run_or_fail(store, run_id)
    plot_run(store, run_id, output, suite)
    click.echo(f"wrote {output}")


@main.command(context_settings=CONTEXT)
@click.argument("sql")
@click.option("--json", "as_json", is_flag=True, help="a JSON list of objects")
@click.option("--csv", "as_csv", is_flag=True, help="CSV with a header")
@click.option("--limit", type=int, default=None, help="at most this many rows")
@db_option
def query(sql, as_json, as_csv, limit, db_url):
    """Run one read-only SQL statement on the results database and print its rows.

    Read-only by construction: SQLite is opened read-only, PostgreSQL runs it in a READ ONLY transaction;
    a write is refused by the database and changes nothing. Views for the common questions:
    v_runs, v_cells, v_gxlt, v_best_gxlt, v_question_scores (README, examples/queries.sql).

    \b
    Examples:
      xlqa-run query "SELECT ntl, temperature, AVG(gxlt_f1) FROM v_best_gxlt WHERE suite = 'mlqa-dev' GROUP BY 1, 2"
      xlqa-run query "SELECT * FROM v_runs WHERE status = 'failed'" --json
    """
    import csv
    import io

    from db.query import run_query
    from db.session import normalize_url
    columns, rows = run_query(normalize_url(resolve_db(db_url)), sql, limit)
    text = lambda v: "" if v is None else str(v)
    if as_json:
        click.echo(json.dumps([dict(zip(columns, r)) for r in rows], indent=1, default=str))
    elif as_csv:
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(columns)
        writer.writerows(rows)
        click.echo(buf.getvalue(), nl=False)
    elif not sys.stdout.isatty():  # piped: every value whole, one line per row, tab-separated
        click.echo("\t".join(columns))
        for r in rows:
            click.echo("\t".join(text(v).replace("\t", " ").replace("\n", " ") for v in r))
    else:
        from rich.console import Console
        from rich.table import Table
        table = Table(*columns, box=None)
        for r in rows:
            table.add_row(*map(text, r))
        Console().print(table)
        click.echo(f"{len(rows)} row(s){' (wide: --csv or --json keep every value whole)' if len(columns) > 8 else ''}",
                   err=True)


@main.group(context_settings=CONTEXT)
def db():
    """The results database: its schema version and upgrades."""


@db.command("upgrade", context_settings=CONTEXT)
@db_option
def db_upgrade(db_url):
    """Bring a database made by an older xlqa to this version's schema (SQLite: a copy is kept beside it)."""
    from db.migrate import upgrade
    from db.session import make_engine, normalize_url
    url = normalize_url(resolve_db(db_url))
    engine, read_only = make_engine(url)
    if read_only:
        raise InputError(f"{url} cannot be written: copy it somewhere writable first")
    before, after = upgrade(url, engine)
    click.echo(f"{url}: schema {before or 'new'} -> {after}" if before != after else f"{url}: already at {after}")


@db.command("current", context_settings=CONTEXT)
@db_option
def db_current(db_url):
    """The schema version of a database (without changing it)."""
    from db.migrate import current_revision, head_revision
    from db.session import make_engine, normalize_url
    engine, _ = make_engine(normalize_url(resolve_db(db_url)), read_only=None)
    revision = current_revision(engine)
    click.echo(f"{revision or 'empty'} (this xlqa: {head_revision()})")


@main.command(context_settings=CONTEXT)
@click.option("--epochs", type=int, default=None, help="distillation epochs (default: the quickstart's)")
@click.option("--background", is_flag=True, help="queue as jobs instead of running in the foreground")
@db_option
def demo(epochs, background, db_url):
    """The whole pipeline offline: synthetic parallel QA in 7 languages, a tiny BERT, teacher CE stage,
    cross-lingual sampling, distillation with mAP@k and the 7x7 G-XLT evaluation, into the default database.

    \b
    Example:
      xlqa-run demo && xlqa
    """
    from engine.jobs.demo import run_demo
    sys.exit(run_demo(open_store(db_url), epochs=epochs, background=background))


if __name__ == "__main__":
    main()
