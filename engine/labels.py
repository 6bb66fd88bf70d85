"""Training labels the way the legacy SQuAD feature converter of the paper's code makes them
(transformers 4.21 `squad_convert_example_to_features`, `features.labels = "legacy"`).

The answer is projected onto whitespace words first: its start and end characters select whole words,
and every sub-token of those words is the span. `_improve_answer_span` then tightens the span to the
first (earliest start, then longest) sub-sequence whose tokens equal the tokens of the answer text on its
own. An example whose answer text is not found among its whitespace words is dropped from training.

Where it differs from character offsets (xlqa's `"offsets"`): an answer that starts or ends inside a
whitespace word whose pieces do not split there (Arabic clitics such as و + العرب) is labelled with the
whole word; an answer holding a space-like character that the converter does not split on (NBSP) is not
found and the example is dropped.
"""

from __future__ import annotations

import re

import numpy as np


# the converter's own whitespace: narrower than str.split (no NBSP, no thin spaces) but with U+202F
SPLIT_CHARS = " \t\r\n\u202f"
_WORD = re.compile(f"[^{SPLIT_CHARS}]+")
_SPLIT_CODES = np.array([ord(c) for c in SPLIT_CHARS], dtype=np.uint32)


def whitespace_words(context: str) -> tuple[list[str], np.ndarray]:
    """The context's whitespace words and, for each character, the index of its word (a run of
    whitespace belongs to the word before it; -1 before the first word)."""
    codes = np.frombuffer(context.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)   # one code point per character
    split = np.isin(codes, _SPLIT_CODES)
    starts = ~split & np.concatenate(([True], split[:-1]))
    return _WORD.findall(context), np.cumsum(starts, dtype=np.int64) - 1


def legacy_span(context: str, answer_text: str, answer_start: int, token_starts: np.ndarray,
                tokens: list[str], answer_tokens: list[str]) -> tuple[int, int] | None:
    """(first, last) context-token index of the answer, or None when the example is dropped.

    token_starts: the character where each context token starts (the context tokenized alone);
    tokens: their strings; answer_tokens: the answer text tokenized on its own."""
    words, char_to_word = whitespace_words(context)
    start_word = int(char_to_word[answer_start])
    end_word = int(char_to_word[min(answer_start + len(answer_text) - 1, len(context) - 1)])
    found = " ".join(words[start_word:end_word + 1])
    if found.find(" ".join(answer_text.split())) == -1:
        return None
    token_word = char_to_word[token_starts]  # non-decreasing: tokens never cross whitespace
    first = int(np.searchsorted(token_word, start_word, side="left"))
    last = (int(np.searchsorted(token_word, end_word, side="right")) - 1
            if end_word < len(words) - 1 else len(tokens) - 1)
    return improve_span(tokens, first, last, answer_tokens)


def improve_span(tokens: list[str], first: int, last: int, answer_tokens: list[str]) -> tuple[int, int]:
    """The earliest start, then the latest end, inside [first, last] whose tokens spell the answer's
    tokens; the whole span when none does."""
    target = " ".join(answer_tokens)
    # the joined text of tokens[s:e+1] is ends[e] - starts[s] characters long, strictly growing with e:
    # for each start, at most one end has the target's length, so only that one is joined and compared
    starts, ends, pos = {}, {}, 0
    for i in range(first, last + 1):
        starts[i] = pos
        pos += len(tokens[i]) + 1
        ends[pos - 1] = i
    for s in range(first, last + 1):
        e = ends.get(starts[s] + len(target))
        if e is not None and e >= s and " ".join(tokens[s:e + 1]) == target:
            return s, e
    return first, last


def window_label(span: tuple[int, int], doc_start: int, ctx_first: int, ctx_len: int) -> tuple[int, int]:
    """The span's positions in one window, or (0, 0) (CLS) unless the window holds all of it."""
    first, last = span
    if first < doc_start or last > doc_start + ctx_len - 1:
        return 0, 0
    return ctx_first + first - doc_start, ctx_first + last - doc_start
