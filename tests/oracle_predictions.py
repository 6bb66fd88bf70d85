"""Deterministic noisy predictions for a SQuAD-format file: the inputs the official evaluation scripts were
run on once to make tests/data/official_scores.json (see tests/data/README.md).

Every choice comes from sha256(seed, question id), so the same predictions come out on any Python version,
platform or hash seed. Kinds: gold, gold with an article of the answer language, a shifted or cut span,
gold wrapped in ASCII or Unicode punctuation, an empty answer, a missing answer, a random span of the
context, the answer of the same question in another language, gold with extra whitespace, and gold
upper-cased with a dash inside.
"""

from __future__ import annotations

import hashlib

ARTICLES = {"en": "The ", "es": "los ", "de": "des ", "vi": "những ", "ar": "ال", "hi": "एक ", "zh": "的",
            "el": "το ", "ru": "это ", "tr": "bir ", "th": "ที่", "ro": "un ", "bn": "এই ", "fi": "se ",
            "id": "sebuah ", "ko": "그 ", "sw": "wa ", "te": "ఒక "}
WRAPPERS = [("«", "»."), ("“", "”"), ("(", ")"), ("", "。"), ("", "।"), ("¿", "?"), ("'", "',")]
KINDS = 10


def _draws(seed: int, qid: str, n: int = 4) -> list[int]:
    digest = hashlib.sha256(f"{seed}:{qid}".encode("utf-8")).digest()
    return [int.from_bytes(digest[4 * i:4 * i + 4], "big") for i in range(n)]


def noisy_predictions(data: list, lang: str, seed: int = 0, parallel: dict[str, str] | None = None) -> dict[str, str]:
    """data: the 'data' list of a SQuAD-format file; lang: its answer language; parallel: {question id:
    the answer of the same question in another language} for the cross-language kind."""
    parallel = parallel or {}
    predictions = {}
    for article in data:
        for para in article["paragraphs"]:
            context = para["context"]
            for qa in para["qas"]:
                gold, start = qa["answers"][0]["text"], qa["answers"][0]["answer_start"]
                kind, a, b, c = _draws(seed, qa["id"])
                kind %= KINDS
                if kind == 0:
                    predictions[qa["id"]] = gold
                elif kind == 1:
                    predictions[qa["id"]] = ARTICLES.get(lang, "the ") + gold
                elif kind == 2:
                    s = max(0, start + a % 26 - 15)
                    predictions[qa["id"]] = context[s:s + max(1, len(gold) + b % 29 - 8)]
                elif kind == 3:
                    left, right = WRAPPERS[a % len(WRAPPERS)]
                    predictions[qa["id"]] = left + gold + right
                elif kind == 4:
                    predictions[qa["id"]] = ""
                elif kind == 5:
                    continue  # missing: the scripts count it as 0
                elif kind == 6:
                    s = a % max(1, len(context))
                    predictions[qa["id"]] = context[s:s + 1 + b % 40]
                elif kind == 7:
                    predictions[qa["id"]] = parallel.get(qa["id"], gold.upper())
                elif kind == 8:
                    predictions[qa["id"]] = "  " + gold.replace(" ", "  \n ", c % 2) + " \t"
                else:
                    half = len(gold) // 2
                    predictions[qa["id"]] = (gold[:half] + "—" + gold[half:]).upper()
    return predictions


def first_answers(data: list) -> dict[str, str]:
    return {qa["id"]: qa["answers"][0]["text"] for a in data for p in a["paragraphs"] for qa in p["qas"]}
