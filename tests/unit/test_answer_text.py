"""The legacy answer text (eval.answer_text = "legacy") against what transformers 4.21.1 produced on fixture
spans (tests/data/legacy_answer_text.json.gz, made by tests/legacy_answer_cases.py), and end to end on
real fixture contexts through a WordPiece tokenizer."""

import gzip
import json

import numpy as np
import pytest

from engine.answer_text import Words, basic_tokenize, final_text, legacy_answer, pred_text_of
from engine.data import load_squad_file
from engine.evaluate import legacy_texts
from engine.features import FeatureConfig, tokenize

ORACLE = json.loads(gzip.decompress((__import__("pathlib").Path(__file__).parents[1] / "data/legacy_answer_text.json.gz")
                                    .read_bytes()))


def test_the_oracle_holds_every_kind_of_case():
    cases = ORACLE["cases"]
    assert {"ru", "es", "ko", "zh", "ar", "th"} <= {c["lang"] for c in cases}
    assert {"span", "subword", "unk"} == {c["kind"] for c in cases}
    fallbacks = [c for c in cases if c["final_text"] == c["orig_text"] and c["kind"] == "span"]
    aligned = [c for c in cases if c["final_text"] != c["orig_text"]]
    assert len(aligned) >= 15 and len(fallbacks) >= 30
    assert any("\u00a0" in c["orig_text"] for c in fallbacks) and any("\u200b" in c["orig_text"] for c in fallbacks)


@pytest.mark.parametrize("case", ORACLE["cases"], ids=lambda c: f"{c['lang']}-{c['why']}-{c['kind']}")
def test_final_text_equals_transformers_4_21_1(case):
    assert final_text(case["pred_text"], case["orig_text"], case["lower"]) == case["final_text"]


def test_basic_tokenizer_equals_transformers_4_21_1():
    wrong = {key: (basic_tokenize(key.split("\t", 1)[1], key[0] == "1"), want)
             for key, want in ORACLE["basic_tokenize"].items()
             if basic_tokenize(key.split("\t", 1)[1], key[0] == "1") != want}
    assert not wrong, next(iter(wrong.items()))


def test_hand_cases():
    assert basic_tokenize("Steve\u00a0Smith's\u200b 北京") == ["Steve", "Smith", "'", "s", "北", "京"]
    assert final_text("Steve Smith", "Steve Smith's") == "Steve Smith"
    assert final_text("Smith", "(Smith)") == "Smith"
    assert final_text("Steve", "Steve\u00a0Smith") == "Steve\u00a0Smith"      # NBSP: lengths differ, whole words
    assert final_text("[UNK] Smith", "Ĳ Smith") == "Ĳ Smith"                  # not found: whole words
    assert pred_text_of(["Smi", "##th", "'", "s"]) == "Smith ' s"
    assert pred_text_of(["##th", "is"]) == "##th is"                           # a ## start is never found


def test_words_split_like_the_squad_processor():
    w = Words(" a\u00a0b\tc\u202fd  ")
    assert [w.context[s:e] for s, e in zip(w.starts, w.ends)] == ["a\u00a0b", "c", "d"]
    assert w.index(3) == 0 and w.index(5) == 1 and w.text(0, 2) == "a\u00a0b c d"


def _gold_spans(records, tokenizer):
    """Each record's gold span as (feature, start token, end token) in its first window that holds it."""
    feats = tokenize(records, tokenizer, FeatureConfig(max_length=384, doc_stride=128, max_query_length=64))
    spans = {}
    for f, i in enumerate(feats.example_index):
        ex = records[int(i)]["id"]
        if ex not in spans and feats.start_positions[f] > 0:
            spans[ex] = (f, int(feats.start_positions[f]), int(feats.end_positions[f]))
    return feats, spans


@pytest.fixture(scope="module")
def ru_tokenizer(fixture_data):
    from engine.modeling import train_wordpiece
    records = load_squad_file(fixture_data / "tydiqa/dev/russian_tydiqa_dev.json.gz")
    return records, train_wordpiece(list(records["context"]) + list(records["question"]), vocab_size=3000)


def test_legacy_answer_gives_whole_words_where_nbsp_breaks_the_alignment(ru_tokenizer):
    records, tok = ru_tokenizer
    feats, spans = _gold_spans(records, tok)
    contexts = dict(zip(records["id"], records["context"]))
    legacy = legacy_texts(spans, feats, tok, contexts)
    nbsp = 0
    for r in records:
        f, s, e = spans[r["id"]]
        cut = r["context"][feats.offsets[f][s, 0]:feats.offsets[f][e, 1]]
        words = Words(r["context"])
        whole = words.text(words.index(int(feats.offsets[f][s, 0])), words.index(int(feats.offsets[f][e, 1]) - 1))
        if "\u00a0" in whole:
            nbsp += 1
            assert legacy[r["id"]] == whole != cut
        else:
            assert legacy[r["id"]] == cut
    assert nbsp == 2


def test_legacy_answer_of_a_span_starting_inside_a_word_is_the_word(ru_tokenizer):
    records, tok = ru_tokenizer
    ctx = records[0]["context"]
    enc = tok(ctx, return_offsets_mapping=True, add_special_tokens=False)
    tokens = tok.convert_ids_to_tokens(enc["input_ids"])
    offsets = np.asarray(enc["offset_mapping"])
    words = Words(ctx)
    # a ## piece right after the first piece of its word: [t] starts inside the word, [t-1, t] at its start
    t = next(i for i, x in enumerate(tokens) if i and x.startswith("##") and not tokens[i - 1].startswith("##")
             and offsets[i - 1, 0] in words.starts)
    w = words.index(int(offsets[t, 0]))
    assert legacy_answer(words, tokens, offsets, t, t) == ctx[words.starts[w]:words.ends[w]]
    assert legacy_answer(words, tokens, offsets, t - 1, t) == ctx[offsets[t - 1, 0]:offsets[t, 1]]
