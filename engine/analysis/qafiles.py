"""QA files outside the store: check them, score predictions against them, build cells and samples from them
(`xlqa-run data check | data gxlt | score | sample`). Errors are ValueErrors (DataError) naming the fix."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class FileCheck:
    path: Path
    questions: int = 0
    languages: tuple[str | None, str | None] = (None, None)
    problems: list[str] = field(default_factory=list)
    error: str | None = None  # the file could not be read at all


def check_qa_files(paths, reading=lambda path, i, n: contextlib.nullcontext()):
    """A FileCheck per file of each path (a folder holds many); `reading` wraps each read (a spinner)."""
    from engine.data.errors import DataError
    from engine.data.loaders import iter_squad_problems, languages_of_file, qa_files, read_json
    for root in map(Path, paths):
        if not root.exists():
            yield FileCheck(root, error=f"{root}: no such file or folder")
            continue
        files = qa_files(root) if root.is_dir() else [root]
        for i, path in enumerate(files, 1):
            try:
                with reading(path, i, len(files)):
                    obj = read_json(path)
                langs = languages_of_file(path)
            except DataError as e:
                yield FileCheck(path, error=f"ERROR {e}")
                continue
            n_q = sum(len(p.get("qas", [])) for a in obj.get("data", []) if isinstance(a, dict)
                      for p in a.get("paragraphs", []) if isinstance(p, dict)) if isinstance(obj, dict) else 0
            yield FileCheck(path, n_q, langs, iter_squad_problems(obj, path))


def write_gxlt_cell(path, question_language: str, context_language: str, output) -> tuple[str, str, int]:
    """The (question, context) cell of a folder of monolingual files, written as MLQA's cross files are."""
    from engine.data import cross_lingual_cell, load_monolingual_folder, to_squad_json
    from engine.data.records import write_json
    from engine.languages import check_language
    q, c = check_language(question_language), check_language(context_language)
    cell = cross_lingual_cell(load_monolingual_folder(path, [q, c]), q, c)
    write_json(to_squad_json(cell, version="1.0"), output)
    return q, c, len(cell)


def score_file(dataset: Path, predictions: Path, metric: str, context_language: str | None) -> tuple[dict, str | None]:
    """The official EM / F1 of a predictions file, and a warning when some questions have no prediction."""
    from engine.data.loaders import languages_of_file, read_json
    from engine.scoring import evaluate_squad_json
    from engine.scoring.metrics import matching_ids
    lang = context_language or languages_of_file(dataset)[1]
    if metric == "mlqa" and lang is None:
        raise ValueError("cannot tell the context language from the file name; pass --context-language")
    preds = read_json(predictions)
    if not isinstance(preds, dict):
        raise ValueError(f"{predictions}: predictions must be a JSON object {{question id: answer text}}")
    gold = read_json(dataset)
    if not isinstance(gold, dict) or "data" not in gold:
        raise ValueError(f"{dataset}: not a SQuAD-format file (no 'data' list)")
    matched, total = matching_ids(gold["data"], preds)
    if matched == 0:
        example = next(iter(preds), None)
        raise ValueError(f"0 of {total:,} ids match: {predictions.name} holds no prediction for a question of "
                         f"{dataset.name} (e.g. prediction id {example!r}); are they for another dataset?")
    warning = f"{total - matched:,} of {total:,} questions have no prediction and score 0" if matched < total else None
    return evaluate_squad_json(gold["data"], preds, metric, lang or "en"), warning


def sample_file(data_path, languages: str, ntl: int, seed: int, en_centric: bool, output,
                pairs: str = "all") -> tuple[int, int, dict]:
    """Cross-lingual sampling of a data folder into one file: (examples, seed questions, counts per pair)."""
    from engine.data import load_path, to_squad_json
    from engine.data.records import write_json
    from engine.languages import parse_language_list
    from engine.sampling import pair_counts, sample_cross_lingual
    langs = parse_language_list(languages, "--languages")
    records = sample_cross_lingual(load_path(data_path, langs), langs, ntl, seed, en_centric=en_centric, pairs=pairs)
    # one paragraph per example: each record gets its own title so contexts never merge
    write_json(to_squad_json([{**r, "title": r["id"]} for r in records]), output)
    return len(records), len({r["qid"] for r in records}), pair_counts(records)
