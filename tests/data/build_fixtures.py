"""Rebuild the small real-data fixtures of tests/data from the full files (see tests/data/README.md).

    python tests/data/build_fixtures.py [--shared ../shared/data]

Every fixture keeps the original layout, file name and JSON of the questions it keeps (contexts whole,
question and answer entries unchanged); only which articles, paragraphs and questions are kept is chosen,
deterministically, here.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
MLQA = ("en", "es", "de", "ar", "hi", "vi", "zh")
XQUAD = ("ar", "de", "el", "en", "es", "hi", "ro", "ru", "th", "tr", "vi", "zh")
TYDIQA = ("arabic", "bengali", "english", "finnish", "indonesian", "korean", "russian", "swahili", "telugu")


def read(path: Path) -> dict:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return json.load(f)


def write(obj: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = json.dumps(obj, ensure_ascii=False).encode("utf-8")
    with open(path, "wb") as f, gzip.GzipFile(fileobj=f, mode="wb", compresslevel=9, mtime=0) as gz:
        gz.write(raw)


def keep(obj: dict, wanted) -> dict:
    """The file with only the questions `wanted(article_index, paragraph_index, qa)` accepts; empty
    paragraphs and articles are dropped, every other key is kept as it is."""
    data = []
    for a, article in enumerate(obj["data"]):
        paragraphs = []
        for p, para in enumerate(article["paragraphs"]):
            qas = [qa for qa in para["qas"] if wanted(a, p, qa)]
            if qas:
                paragraphs.append({**para, "qas": qas})
        if paragraphs:
            data.append({**article, "paragraphs": paragraphs})
    return {**obj, "data": data}


def mlqa_ids(shared: Path, per_pair: int = 4) -> set[str]:
    """Question ids chosen greedily so that every pair of MLQA languages shares at least `per_pair`
    of them (no MLQA-dev id is in all seven languages; each is in English and up to three others)."""
    langs_of: dict[str, set[str]] = {}
    for lang in MLQA:
        for article in read(shared / f"mlqa/dev/dev-context-{lang}-question-{lang}.json.gz")["data"]:
            for para in article["paragraphs"]:
                for qa in para["qas"]:
                    langs_of.setdefault(qa["id"], set()).add(lang)
    need = {pair: per_pair for pair in itertools.combinations(sorted(MLQA), 2)}
    chosen: set[str] = set()
    for qid in sorted(langs_of):  # sorted: the choice does not depend on file order
        covers = [p for p in itertools.combinations(sorted(langs_of[qid]), 2) if need.get(p, 0) > 0]
        if covers:
            chosen.add(qid)
            for p in covers:
                need[p] -= 1
        if not any(need.values()):
            break
    return chosen


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", type=Path, default=HERE.parents[2] / "shared" / "data")
    shared = ap.parse_args().shared

    # XQuAD: the first 6 paragraphs of the first 2 articles, in all 12 languages (parallel by id)
    first = read(shared / "xquad/xquad.en.json.gz")
    xquad_ids = {qa["id"] for article in first["data"][:2] for para in article["paragraphs"][:3] for qa in para["qas"]}
    for lang in XQUAD:
        name = f"xquad.{lang}.json.gz"
        write(keep(read(shared / "xquad" / name), lambda a, p, qa: qa["id"] in xquad_ids), HERE / "xquad" / name)

    # MLQA dev: the chosen ids in each monolingual file
    ids = mlqa_ids(shared)
    for lang in MLQA:
        name = f"dev-context-{lang}-question-{lang}.json.gz"
        write(keep(read(shared / "mlqa/dev" / name), lambda a, p, qa: qa["id"] in ids), HERE / "mlqa/dev" / name)

    # SQuAD v1.1 dev: 3 of the paragraphs XQuAD translated (for the exclusion tests) and 3 others with
    # several reference answers per question
    squad = read(shared / "squad/dev-v1.1.json.gz")
    xquad_contexts = {p["context"] for a in first["data"][:2] for p in a["paragraphs"][:3]}
    picked, others = set(), 0
    for a, article in enumerate(squad["data"]):
        for p, para in enumerate(article["paragraphs"]):
            if para["context"] in xquad_contexts and len([k for k in picked if k[2]]) < 3:
                picked.add((a, p, True))
            elif a >= 5 and p < 2 and others < 3:
                picked.add((a, p, False))
                others += 1
    keys = {(a, p) for a, p, _ in picked}
    write(keep(squad, lambda a, p, qa: (a, p) in keys), HERE / "squad/dev-v1.1.json.gz")

    # TyDiQA-GoldP dev: the first 8 questions of each language
    for lang in TYDIQA:
        name = f"{lang}_tydiqa_dev.json.gz"
        obj = read(shared / "tydiqa/dev" / name)
        first_ids = [qa["id"] for article in obj["data"] for para in article["paragraphs"] for qa in para["qas"]][:8]
        write(keep(obj, lambda a, p, qa, ids=set(first_ids): qa["id"] in ids), HERE / "tydiqa/dev" / name)

    total = sum(f.stat().st_size for f in HERE.rglob("*.gz"))
    print(f"fixtures written under {HERE}: {total:,} bytes in {len(list(HERE.rglob('*.gz')))} files")


if __name__ == "__main__":
    main()
