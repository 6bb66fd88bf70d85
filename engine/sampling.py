"""Cross-lingual sampling (the paper's data recipe, as its official sampler does it).

Per qid, among the languages the qid has (of `languages`):
  English-centric  draw `ntl` target languages besides English and add English: (1 + ntl)^2 pairs
  otherwise        draw `ntl` languages among all of them: ntl^2 pairs
then emit every (question language, context language) pair over the drawn set, answers from the context
language: N_seed * (1 + ntl)^2 examples when English-centric. When ntl is 0, or at least the number of
languages there are to draw from, the qid keeps all its languages; ntl = 0 emits the same-language pairs
only (one monolingual example per language: the paper's ntl = 0 point). Each qid draws from its own RNG
seeded by (seed, qid), so the result does not depend on file order, process or Python version (the
official sampler draws from one global RNG in file order: the same distribution, other draws).

`pairs` keeps a subset of the drawn set's pairs (beyond the paper: is the quadratic sampling what helps?), with
the same languages drawn, so per qid, English-centric:
  all               every pair, the paper's: (1 + ntl)^2
  same-language     q = c only: 1 + ntl
  english-question  q = en or c = en: the English question on each drawn context and each drawn question on the
                    English context, en-en once: 1 + 2 ntl
  cross-only        q != c only: ntl (1 + ntl)
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict

PAIRS = ("all", "same-language", "english-question", "cross-only")


def keeps_pair(pairs: str, lang_q: str, lang_c: str) -> bool:
    """Whether data.pairs keeps the (question, context) language pair."""
    if pairs == "all":
        return True
    if pairs == "same-language":
        return lang_q == lang_c
    if pairs == "english-question":
        return "en" in (lang_q, lang_c)
    if pairs == "cross-only":
        return lang_q != lang_c
    raise ValueError(f"pairs {pairs!r}: use one of {PAIRS}")

def draw_languages(qid: str, available: list[str], ntl: int, seed: int, en_centric: bool = True) -> list[str]:
    available = sorted(available)
    if en_centric and "en" not in available:
        return []
    pool = [lang for lang in available if lang != "en"] if en_centric else available
    if ntl == 0 or ntl >= len(pool):
        return available
    drawn = random.Random(f"{seed}:{qid}").sample(pool, ntl)
    return sorted(drawn + ["en"]) if en_centric else sorted(drawn)


def sample_cross_lingual(table, languages: list[str], ntl: int, seed: int = 0, en_centric: bool = True,
                         pairs: str = "all") -> list[dict]:
    """table: monolingual records of several languages sharing qids. Returns the sampled records of the
    drawn pairs that `pairs` keeps."""
    if ntl < 0:
        raise ValueError(f"ntl={ntl}: must be >= 0")
    if en_centric and "en" not in languages:
        raise ValueError("English-centric sampling needs 'en' in the languages (or use non-English-centric)")
    by_qid: dict[str, dict[str, dict]] = defaultdict(dict)
    for r in table:
        if r["lang_q"] == r["lang_c"] and r["lang_c"] in languages:
            by_qid[r["qid"]][r["lang_c"]] = r
    out = []
    for qid in sorted(by_qid):
        rows = by_qid[qid]
        drawn = draw_languages(qid, list(rows), ntl, seed, en_centric)
        for lq in drawn:
            for lc in drawn:
                if (ntl == 0 and lq != lc) or not keeps_pair(pairs, lq, lc):
                    continue
                ctx = rows[lc]
                out.append({**ctx, "id": f"{qid}_{lq}-{lc}", "qid": qid, "lang_q": lq, "lang_c": lc,
                            "question": rows[lq]["question"]})
    return out


def pair_counts(records) -> dict[tuple[str, str], int]:
    return dict(sorted(Counter((r["lang_q"], r["lang_c"]) for r in records).items()))
