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


@click.group(context_settings=CONTEXT)
@click.version_option(package_name="xlqa")
def main():
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
    bad = 0
    for root in paths:
        files = qa_files(root) if root.is_dir() else [root]
        if not root.exists():
            click.echo(f"{root}: no such file or folder", err=True)
            bad += 1
            continue
        for path in files:
            try:
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
    result = evaluate_squad_json(gold["data"], preds, metric, lang or "en", warn=True)
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


if __name__ == "__main__":
    main()
