"""Cross-lingual evaluation cells from parallel monolingual data, built like MLQA's official cross files:
only ids present in both languages; the question from Q; title, context and answers from C."""

from __future__ import annotations

import datasets

from engine.data.records import records_to_dataset


def cross_lingual_cell(mono: dict[str, datasets.Dataset], lang_q: str, lang_c: str, id_suffix: bool = False) -> datasets.Dataset:
    return records_to_dataset(cell_records(mono, lang_q, lang_c, id_suffix))


def cell_records(mono: dict[str, datasets.Dataset], lang_q: str, lang_c: str, id_suffix: bool = False) -> list[dict]:
    for lang in (lang_q, lang_c):
        if lang not in mono:
            raise ValueError(f"no data for language {lang!r}; available: {', '.join(sorted(mono))}")
    questions = dict(zip(mono[lang_q]["qid"], mono[lang_q]["question"]))
    out = []
    for r in mono[lang_c]:
        if r["qid"] in questions:
            rid = f"{r['qid']}_{lang_q}-{lang_c}" if id_suffix else r["qid"]
            out.append({**r, "id": rid, "lang_q": lang_q, "question": questions[r["qid"]]})
    return out


def cross_lingual_cells(mono: dict[str, datasets.Dataset], languages: list[str],
                        max_per_cell: int | None = None, seed: int = 0) -> datasets.Dataset:
    """Every (lang_q, lang_c) cell over `languages` in one table, ids `{qid}_{q}-{c}`.

    max_per_cell keeps a fixed random subset of each cell's questions (seeded by seed and the cell, so every
    run evaluates the same questions). MLQA ids are not in all seven languages, so subsets are per cell.
    """
    import random
    records = []
    for q in languages:
        for c in languages:
            cell = cell_records(mono, q, c, id_suffix=True)
            if max_per_cell and len(cell) > max_per_cell:
                keep = set(random.Random(f"{seed}:{q}-{c}").sample(sorted(r["qid"] for r in cell), max_per_cell))
                cell = [r for r in cell if r["qid"] in keep]
            records.extend(cell)
    return records_to_dataset(records)
