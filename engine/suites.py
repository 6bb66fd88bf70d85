"""The evaluation suites and the answer-text modes: plain data, so that loading a config imports no torch."""

from __future__ import annotations

from dataclasses import dataclass

from engine.languages import MLQA_LANGUAGES

ANSWER_TEXTS = ("offsets", "legacy")


@dataclass(frozen=True)
class Suite:
    name: str
    subdir: str            # under the data dir
    hub: str               # hub:NAME fallback
    cross: bool            # every q x c cell, or the diagonal only
    languages: tuple[str, ...]
    scorer: str            # the official script of the dataset: mlqa (MLQA v1) or squad (SQuAD v1.1)


SUITES = {
    "mlqa-dev": Suite("mlqa-dev", "mlqa/dev", "hub:mlqa:validation", True, MLQA_LANGUAGES, "mlqa"),
    "mlqa-test": Suite("mlqa-test", "mlqa/test", "hub:mlqa:test", True, MLQA_LANGUAGES, "mlqa"),
    "xquad": Suite("xquad", "xquad", "hub:xquad:validation", True,
                   ("en", "es", "de", "ar", "hi", "vi", "zh", "el", "ru", "tr", "th", "ro"), "squad"),
    "tydiqa": Suite("tydiqa", "tydiqa/dev", "hub:tydiqa:validation", False,
                    ("en", "ar", "bn", "fi", "id", "ko", "ru", "sw", "te"), "squad"),
}
