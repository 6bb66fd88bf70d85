"""The answer text of the legacy SQuAD pipeline that scored the paper (`eval.answer_text = "legacy"`).

The legacy code never cuts the context at character offsets. For a predicted span of tokens [s, e] it
  1. joins the span's WordPiece tokens with spaces and removes " ##" (the slow BertTokenizer's
     convert_tokens_to_string): the *predicted text*;
  2. takes the whitespace words that hold tokens s and e (split on space, tab, CR, LF and U+202F only, as
     the SQuAD processor splits a context) and joins them with one space: the *original text*;
  3. runs BERT's basic tokenizer over the original text (control characters dropped, Unicode spaces made
     spaces, CJK characters and punctuation split off), finds the predicted text in it, and maps it back
     character by character once spaces are removed from both (`get_final_text`).
Step 3 gives up and returns the original text, whole words, when the predicted text is not found ([UNK],
a span that starts on a ## piece) or the two texts differ in length without spaces (a character the basic
tokenizer drops or turns into a space: NBSP, zero-width space, LRM, soft hyphen...).

Written from that algorithm; the functions of transformers 4.21.1 produced the numbers that pin it
(tests/data/legacy_answer_text.json.gz). Pure Python: decoding stays torch-free.
"""

from __future__ import annotations

import bisect
import unicodedata
from typing import Sequence

SQUAD_WHITESPACE = frozenset(" \t\r\n\u202f")  # the SQuAD processor's word split (NBSP is not in it)


def _is_control(ch: str) -> bool:
    return ch not in "\t\n\r" and unicodedata.category(ch).startswith("C")


def _is_space(ch: str) -> bool:
    return ch in " \t\n\r" or unicodedata.category(ch) == "Zs"


def _is_punctuation(ch: str) -> bool:
    cp = ord(ch)
    # every ASCII symbol counts, also those Unicode does not call punctuation ($, ^, `)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


_CJK = ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F), (0x2B740, 0x2B81F),
        (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F))  # CJK ideographs only: not kana, not hangul


def _is_cjk(ch: str) -> bool:
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in _CJK)


def _strip_accents(word: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", word) if unicodedata.category(c) != "Mn")


def basic_tokenize(text: str, lower: bool = False) -> list[str]:
    """BERT's basic tokenizer: NUL, U+FFFD and control characters (category C*, which holds the zero-width
    space and LRM) dropped, Unicode spaces made spaces, CJK ideographs and punctuation made tokens of their
    own; `lower` lowercases and strips accents (uncased models)."""
    cleaned = []
    for ch in text:
        if ch in "\x00\ufffd" or _is_control(ch):
            continue
        if _is_space(ch):
            cleaned.append(" ")
        elif _is_cjk(ch):
            cleaned.extend((" ", ch, " "))
        else:
            cleaned.append(ch)
    pieces: list[str] = []
    for word in "".join(cleaned).split():  # str.split: the legacy whitespace_tokenize
        if lower:
            word = _strip_accents(word.lower())
        run = ""
        for ch in word:
            if _is_punctuation(ch):
                pieces.extend((run, ch) if run else (ch,))
                run = ""
            else:
                run += ch
        if run:
            pieces.append(run)
    return " ".join(pieces).split()


def _without_spaces(text: str) -> tuple[str, list[int]]:
    """The text without " " (other whitespace stays) and, per kept character, its index in the text."""
    where = [i for i, ch in enumerate(text) if ch != " "]
    return "".join(text[i] for i in where), where


def final_text(pred_text: str, orig_text: str, lower: bool = False) -> str:
    """`pred_text` (normalised tokens) located in `orig_text` (whole words); orig_text when it cannot be."""
    tok_text = " ".join(basic_tokenize(orig_text, lower))
    start = tok_text.find(pred_text)
    if start < 0:
        return orig_text
    end = start + len(pred_text) - 1
    orig_ns, orig_pos = _without_spaces(orig_text)
    tok_ns, tok_pos = _without_spaces(tok_text)
    if len(orig_ns) != len(tok_ns):  # a character was dropped or became a space: no 1:1 alignment
        return orig_text
    to_ns = {pos: i for i, pos in enumerate(tok_pos)}
    if start not in to_ns or end not in to_ns:  # the match starts or ends on a space
        return orig_text
    return orig_text[orig_pos[to_ns[start]]:orig_pos[to_ns[end]] + 1]


def pred_text_of(tokens: Sequence[str]) -> str:
    """The span's tokens as the legacy code writes them: joined, " ##" removed, whitespace collapsed."""
    return " ".join(" ".join(tokens).replace(" ##", "").split())


class Words:
    """A context's whitespace words (the SQuAD processor's split), for char -> word lookups."""

    def __init__(self, context: str):
        self.context = context
        self.starts: list[int] = []
        self.ends: list[int] = []
        prev_space = True
        for i, ch in enumerate(context):
            if ch in SQUAD_WHITESPACE:
                prev_space = True
                continue
            if prev_space:
                self.starts.append(i)
                self.ends.append(i + 1)
            else:
                self.ends[-1] = i + 1
            prev_space = False

    def index(self, char: int) -> int:
        """The word holding character `char` (a token's first character is never whitespace)."""
        return max(0, bisect.bisect_right(self.starts, char) - 1)

    def text(self, first: int, last: int) -> str:
        return " ".join(self.context[self.starts[w]:self.ends[w]] for w in range(first, last + 1))


def legacy_answer(words: Words, tokens: Sequence[str], offsets, start: int, end: int, lower: bool = False) -> str:
    """The legacy answer of the span [start, end] of one window: `tokens` its token strings, `offsets` its
    [L, 2] character offsets into words.context."""
    orig = words.text(words.index(int(offsets[start][0])), words.index(int(offsets[end][1]) - 1))
    return final_text(pred_text_of(tokens[start:end + 1]), orig, lower)
