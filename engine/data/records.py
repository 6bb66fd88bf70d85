"""The one record table every loader produces, and its way back to SQuAD JSON."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Iterable

import datasets

datasets.disable_progress_bars()  # library progress bars would garble the TUI and the CLI's rich output

RECORD_FEATURES = datasets.Features({
    "id": datasets.Value("string"),
    "qid": datasets.Value("string"),
    "lang_q": datasets.Value("string"),
    "lang_c": datasets.Value("string"),
    "title": datasets.Value("string"),
    "question": datasets.Value("string"),
    "context": datasets.Value("string"),
    "answers": {"text": datasets.Sequence(datasets.Value("string")),
                "answer_start": datasets.Sequence(datasets.Value("int32"))},
})


def records_to_dataset(records: Iterable[dict]) -> datasets.Dataset:
    records = list(records)
    if not records:  # from_list cannot infer an empty table's columns
        return datasets.Dataset.from_dict({name: [] for name in RECORD_FEATURES}, features=RECORD_FEATURES)
    return datasets.Dataset.from_list(records, features=RECORD_FEATURES)


def to_squad_json(records, version: str = "1.1") -> dict:
    """One article per title, one paragraph per distinct context, questions kept in order."""
    articles: dict[str, dict[str, list]] = {}
    for r in records:
        paragraphs = articles.setdefault(r["title"], {})
        paragraphs.setdefault(r["context"], []).append({
            "id": r["id"], "question": r["question"],
            "answers": [{"text": t, "answer_start": int(s)}
                        for t, s in zip(r["answers"]["text"], r["answers"]["answer_start"])],
        })
    return {"version": version, "data": [
        {"title": title, "paragraphs": [{"context": c, "qas": qas} for c, qas in paragraphs.items()]}
        for title, paragraphs in articles.items()
    ]}


def write_json(obj, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False)
    return path
