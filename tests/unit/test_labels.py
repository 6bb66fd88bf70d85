"""features.labels = "legacy": the training labels of the paper's converter (transformers 4.21), on real data."""

import gzip
import hashlib
import json
import random

import pytest

from engine.data import load_path
from engine.features import FeatureConfig, tokenize
from engine.labels import improve_span, whitespace_words
from engine.modeling import train_wordpiece
from tests.conftest import FIXTURES

PAPER = dict(max_length=384, doc_stride=128, max_query_length=64, stride_mode="step", padding="max_length")
FOLDERS = ("xquad", "mlqa/dev", "tydiqa/dev", "squad")


@pytest.fixture(scope="module")
def fixture_records():
    return [{**r, "key": f"{folder}/{r['lang_c']}/{r['id']}"} for folder in FOLDERS
            for r in load_path(FIXTURES / folder)]


@pytest.fixture(scope="module")
def fixture_tokenizer(fixture_records):
    """The vocabulary the oracle numbers were made with (tests/data/README.md, legacy_labels)."""
    return train_wordpiece([r["context"] for r in fixture_records] + [r["question"] for r in fixture_records], 8000)


def labels_by_key(records, feats):
    out = {}
    for f, ex in enumerate(feats.example_index):
        out.setdefault(records[int(ex)]["key"], []).append([int(feats.start_positions[f]), int(feats.end_positions[f])])
    return out


def test_legacy_labels_equal_the_4_21_converter_on_every_fixture_window(fixture_records, fixture_tokenizer):
    oracle = json.load(gzip.open(FIXTURES / "legacy_labels.json.gz", "rt"))
    vocab = [t for t, _ in sorted(fixture_tokenizer.get_vocab().items(), key=lambda kv: kv[1])]
    assert hashlib.sha256("\n".join(vocab).encode()).hexdigest() == oracle["vocab_sha256"], \
        "train_wordpiece changed: the oracle labels were made with another vocabulary (regenerate them)"
    feats = tokenize(fixture_records, fixture_tokenizer, FeatureConfig(**PAPER, labels="legacy"))
    ours = labels_by_key(fixture_records, feats)
    expected = {k: v for k, v in oracle["labels"].items() if v is not None}
    assert len(fixture_records) == len(oracle["labels"]) == 986 and sum(map(len, expected.values())) == 1355
    assert ours == expected
    assert feats.dropped == 1 and [k for k, v in oracle["labels"].items() if v is None] == \
        ["tydiqa/dev/ru/russian-6554139835408946778-6"]


def one(records, key):
    return next(r for r in records if r["key"] == key)


def span_tokens(tok, records, cfg):
    feats = tokenize(records, tok, cfg)
    f = next(i for i in range(len(feats)) if feats.start_positions[i] > 0)
    return tok.convert_ids_to_tokens(feats.input_ids[f][feats.start_positions[f]:feats.end_positions[f] + 1])


def test_an_answer_starting_inside_a_whitespace_word_gets_the_whole_word(fixture_records, fixture_tokenizer):
    # TyDiQA-sw: "... neo kadiriwakm² 390,757": the answer "km² 390,757" starts inside the word "kadiriwakm²"
    record = one(fixture_records, "tydiqa/dev/sw/swahili--5911962092436324011-0")
    words, char_to_word = whitespace_words(record["context"])
    start = record["answers"]["answer_start"][0]
    assert record["answers"]["text"][0] == "km² 390,757" and words[char_to_word[start]] == "kadiriwakm²"
    offsets = span_tokens(fixture_tokenizer, [record], FeatureConfig(**PAPER))
    legacy = span_tokens(fixture_tokenizer, [record], FeatureConfig(**PAPER, labels="legacy"))
    # the answer's own tokens ("km", ...) never equal in-word pieces ("##k", ...): no tightening, the whole word
    assert offsets == ["##k", "##m", "##²", "39", "##0", ",", "75", "##7"]
    assert legacy == ["ka", "##di", "##ri", "##wa"] + offsets


def test_an_answer_not_found_among_whitespace_words_is_dropped(fixture_records, fixture_tokenizer):
    # TyDiQA-ru: NBSP inside the answer; str.split splits on it, the converter's whitespace does not
    record = one(fixture_records, "tydiqa/dev/ru/russian-6554139835408946778-6")
    assert "глубина\xa0—" in record["answers"]["text"][0]
    other = one(fixture_records, "tydiqa/dev/sw/swahili--5911962092436324011-0")
    legacy = tokenize([record, other], fixture_tokenizer, FeatureConfig(**PAPER, labels="legacy"))
    offsets = tokenize([record, other], fixture_tokenizer, FeatureConfig(**PAPER))
    assert legacy.dropped == 1 and set(legacy.example_index) == {1}        # no window of it is left
    assert offsets.dropped == 0 and set(offsets.example_index) == {0, 1}


def test_tightening_takes_the_earliest_start_then_the_longest_end():
    tokens = ["a", "b", "c", "b", "c", "d"]
    assert improve_span(tokens, 0, 5, ["b", "c"]) == (1, 2)
    assert improve_span(tokens, 2, 5, ["b", "c"]) == (3, 4)
    assert improve_span(tokens, 0, 5, ["x"]) == (0, 5)                     # not found: the whole span
    assert improve_span(["b", "", "c", "b c"], 0, 3, ["b", "c"]) == (3, 3)  # the joined text decides, as in 4.21
    rng = random.Random(0)
    for _ in range(300):                                                 # the 4.21 double loop, by brute force
        toks = [rng.choice(["a", "b", "ab", "", "a b"]) for _ in range(rng.randint(1, 9))]
        first = rng.randrange(len(toks))
        last, answer = rng.randrange(first, len(toks)), [rng.choice(["a", "b", "ab"]) for _ in range(rng.randint(1, 3))]
        expected = next(((s, e) for s in range(first, last + 1) for e in range(last, s - 1, -1)
                         if " ".join(toks[s:e + 1]) == " ".join(answer)), (first, last))
        assert improve_span(toks, first, last, answer) == expected, (toks, first, last, answer)
    words, char_to_word = whitespace_words("ab  c\u202fd\xa0e")             # U+202F splits, NBSP does not
    assert words == ["ab", "c", "d\xa0e"] and list(char_to_word) == [0, 0, 0, 0, 1, 1, 2, 2, 2]


@pytest.mark.slow  # the full training files
def test_label_differences_on_the_full_xquad_training_languages(full_data):
    """The closing note's count: the 7 training languages of XQuAD, the paper's windows, a vocabulary built
    on these texts (mBERT's is not available offline)."""
    records = list(load_path(full_data / "xquad", ["en", "es", "de", "ar", "vi", "hi", "zh"]))
    tok = train_wordpiece([r["context"] for r in records] + [r["question"] for r in records], 30000)
    offsets = tokenize(records, tok, FeatureConfig(**PAPER))
    legacy = tokenize(records, tok, FeatureConfig(**PAPER, labels="legacy"))
    dropped = sorted(set(range(len(records))) - set(legacy.example_index.tolist()))
    assert [(records[i]["id"], records[i]["lang_c"]) for i in dropped] == [("572920d73f37b31900478056", "es")]
    keep = offsets.example_index != dropped[0]
    assert (len(records), len(offsets), len(legacy)) == (8330, 9571, 9570)
    differ = ((offsets.start_positions[keep] != legacy.start_positions)
              | (offsets.end_positions[keep] != legacy.end_positions))
    langs = [records[i]["lang_c"] for i in legacy.example_index[differ]]
    assert (int(differ.sum()), langs.count("ar")) == (28, 18)


def test_the_dry_run_counts_the_dropped_examples(monkeypatch):
    """TyDiQA-ru's fixture holds the NBSP answer: training on it as it is drops exactly that example."""
    from engine.dryrun import dry_run
    from tests.helpers import tiny_config
    cfg = tiny_config("distill", data={"train": str(FIXTURES / "tydiqa/dev/russian_tydiqa_dev.json.gz"),
                                       "languages": ["ru"], "sample": False},
                      features={"max_length": 384, "doc_stride": 128, "max_query_length": 64, "labels": "legacy"},
                      eval={"dev": "", "suites": []})
    lines = dry_run(cfg).lines()
    assert "1 examples dropped: answer not among their whitespace words" in lines[1], lines[1]
