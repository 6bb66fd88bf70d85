"""QA files: `data check | gxlt | fetch`, `score`, `sample` (no store involved)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from engine.cli.base import CONTEXT, fail_on_bad_input, main
from engine.sampling import PAIRS


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
    from rich.console import Console

    from engine.analysis.qafiles import check_qa_files
    console = Console(stderr=True)
    spinner = lambda path, i, n: console.status(f"reading {path.name} ({i}/{n})")  # on a terminal only
    bad = 0
    for f in check_qa_files(paths, spinner):
        if f.error:
            click.echo(f.error, err=True)
        else:
            q, c = f.languages
            status = "ok" if not f.problems else f"{len(f.problems)} problems"
            click.echo(f"{f.path}: {f.questions} questions, question={q or '?'} context={c or '?'}, {status}")
            for p in f.problems:
                click.echo(f"  {p}", err=True)
        bad += bool(f.error or f.problems)
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
    from engine.analysis.qafiles import write_gxlt_cell
    q, c, n = write_gxlt_cell(path, question_language, context_language, output)
    click.echo(f"{output}: {n} questions (question={q}, context={c})")


@data.command("fetch", context_settings=CONTEXT)
@click.argument("names", nargs=-1, required=True, type=click.Choice(["mlqa", "xquad", "tydiqa", "squad"]))
@click.option("--to", "to", required=True, type=click.Path(path_type=Path), help="the data folder (eval.data_dir)")
@click.option("--mirror", default=None, help="a base URL serving the same file names (instead of the official hosts)")
@click.option("--split", "splits", multiple=True, type=click.Choice(["dev", "train"]),
              help="only these splits of SQuAD and TyDiQA (MLQA and XQuAD come whole); repeat for both")
@fail_on_bad_input
def data_fetch(names, to, mirror, splits):
    """Download the official release files (MLQA_V1.zip, the XQuAD JSON files, TyDiQA-GoldP v1.1, SQuAD v1.1),
    check their sizes and checksums, and lay them out as eval.data_dir reads them. Files already there are
    kept; DATA/FETCHED.json records what came from where.

    \b
    Example:
      xlqa-run data fetch mlqa xquad tydiqa squad --to ~/xlqa-data   # then eval.data_dir = "~/xlqa-data"
      xlqa-run data fetch squad --split dev --to ~/xlqa-data          # SQuAD dev alone, not the 30 MB train file
    """
    from engine.cli.render.progress import download_bars
    from engine.data.fetch import fetch
    if sys.stdout.isatty():
        with download_bars() as progress_for:
            lines = fetch(list(names), to, mirror, progress_for, splits=tuple(splits) or None)
    else:
        lines = fetch(list(names), to, mirror, splits=tuple(splits) or None)
    for line in lines:
        click.echo(line)
    click.echo(f"data in {to}: set eval.data_dir = \"{to}\"")


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
    from engine.analysis.qafiles import score_file
    result, warning = score_file(dataset, predictions, metric, context_language)
    if warning:
        click.echo(warning, err=True)
    click.echo(json.dumps(result))


@main.command(context_settings=CONTEXT)
@click.option("--data", "data_path", required=True, type=click.Path(exists=True, path_type=Path),
              help="folder or file of SQuAD-format JSON (.gz too); the layout tells the languages")
@click.option("--languages", required=True, help="comma-separated, e.g. en,es,de,ar,hi,vi,zh")
@click.option("--ntl", type=click.IntRange(min=0), required=True, help="target languages drawn per question id")
@click.option("--seed", type=int, default=42, show_default=True)
@click.option("--non-en-centric", is_flag=True, help="draw among all languages instead of always adding English")
@click.option("--pairs", type=click.Choice(PAIRS), default="all", show_default=True,
              help="which pairs of the drawn languages are kept (data.pairs)")
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path), help="output .json or .json.gz")
@fail_on_bad_input
def sample(data_path, languages, ntl, seed, non_en_centric, pairs, output):
    """Cross-lingual sampling: N_seed * (1 + ntl)^2 examples, ids {qid}_{q}-{c}; prints counts per pair.

    \b
    Example:
      xlqa-run sample --data ../shared/data/xquad --languages en,es,de,ar,hi,vi,zh --ntl 5 --seed 1 -o train.json
    """
    from engine.analysis.qafiles import sample_file
    n, seeds, counts = sample_file(data_path, languages, ntl, seed, not non_en_centric, output, pairs)
    click.echo(f"{output}: {n} examples from {seeds} seed questions")
    for (q, c), k in counts.items():
        click.echo(f"  {q}-{c}\t{k}")
