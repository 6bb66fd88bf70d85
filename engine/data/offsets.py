"""Answer offsets that do not point at their text: re-anchor them, or refuse them, with counts.

The hub's parquet conversions of XQuAD, TyDiQA and MLQA were made by loading scripts that stripped each
context but kept `answer_start`, so an answer of a context that began with whitespace points a few characters
off. Scoring compares answer text and barely moves; training learns the wrong span. Local files are refused on
the first bad offset instead (loaders.iter_squad_problems): a file can be fixed, a hub revision cannot.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class AnchorReport:
    source: str
    records: int = 0
    answers: int = 0
    reanchored: int = 0            # answers moved to the occurrence of their text nearest the given offset
    refused_answers: int = 0       # answers whose text does not occur in the context: dropped
    refused_records: list[str] = field(default_factory=list)   # ids left with no answer: dropped

    def message(self) -> str:
        kept = self.records - len(self.refused_records)
        text = (f"{self.source}: {self.reanchored} of {self.answers} answers re-anchored to their text "
                f"(answer_start pointed elsewhere), {self.refused_answers} refused (text not in the context); "
                f"{kept} of {self.records} records kept")
        if self.refused_records:
            shown = ", ".join(self.refused_records[:5]) + (" …" if len(self.refused_records) > 5 else "")
            text += f", refused: {shown}"
        return text

    @property
    def changed(self) -> bool:
        return bool(self.reanchored or self.refused_answers)


def nearest_occurrence(context: str, text: str, start: int) -> int:
    """The start of the occurrence of text nearest to `start` (the earlier one on a tie), or -1."""
    best, at = -1, context.find(text) if text else -1
    while at >= 0:
        if best < 0 or abs(at - start) < abs(best - start):
            best = at
        if at > start:   # later ones are only farther
            break
        at = context.find(text, at + 1)
    return best


def anchor_answers(records, source: str) -> tuple[list[dict], AnchorReport]:
    """Records whose every kept answer holds its text at answer_start. Records are dicts in the record layout."""
    report = AnchorReport(source)
    kept = []
    for r in records:
        report.records += 1
        context = r["context"]
        texts, starts = [], []
        for text, start in zip(r["answers"]["text"], r["answers"]["answer_start"]):
            report.answers += 1
            start = int(start)
            if not (text and context[start:start + len(text)] == text):
                moved = nearest_occurrence(context, text, start)
                if moved < 0:
                    report.refused_answers += 1
                    continue
                report.reanchored += 1
                start = moved
            texts.append(text)
            starts.append(start)
        if not texts:
            report.refused_records.append(r["id"])
            continue
        kept.append({**r, "answers": {"text": texts, "answer_start": starts}})
    return kept, report


def require_spans(records, source: str) -> None:
    """Training labels come from the first answer's offsets: refuse to train when one misses its text."""
    from engine.data.errors import DataError
    bad = []
    for r in records:
        text, start = r["answers"]["text"][0], int(r["answers"]["answer_start"][0])
        if not text or r["context"][start:start + len(text)] != text:
            bad.append(r["id"])
    if bad:
        shown = ", ".join(bad[:3]) + (" …" if len(bad) > 3 else "")
        raise DataError(source, f"{len(bad)} of {len(records)} training answers are not at their answer_start "
                        f"({shown})", "fix the offsets (`xlqa-run data check`), or load hub data through hub:NAME, "
                        "which re-anchors them", bad[0])
