import numpy as np
import pytest

from engine.data import load_squad_file
from engine.decode import best_spans
from engine.features import FeatureConfig, length_grouped_batches, tokenize


def test_labels_point_at_the_answer(synthetic_small, tiny_tokenizer):
    feats = tokenize(synthetic_small, tiny_tokenizer, FeatureConfig())
    assert len(feats) == len(synthetic_small)  # short contexts: one window each
    for i in range(0, len(feats), 37):
        r = synthetic_small[int(feats.example_index[i])]
        s, e = feats.start_positions[i], feats.end_positions[i]
        assert s > 0
        span = r["context"][feats.offsets[i][s, 0]:feats.offsets[i][e, 1]]
        assert span == r["answers"]["text"][0]


def test_gold_logits_decode_to_gold_text_on_real_xquad(fixture_data, tiny_tokenizer):
    """Long contexts: several windows with stride; one-hot gold logits decode to the gold answer."""
    records = load_squad_file(fixture_data / "xquad/xquad.en.json.gz")
    cfg = FeatureConfig(max_length=96, doc_stride=32, max_query_length=24)
    feats = tokenize(records, tiny_tokenizer, cfg)
    assert len(feats) > len(records)
    assert feats.lengths.max() <= 96
    width = int(feats.lengths.max())
    S = np.zeros((len(feats), width), np.float32)
    E = np.zeros((len(feats), width), np.float32)
    inside = feats.start_positions > 0
    S[np.arange(len(feats)), feats.start_positions] = np.where(inside, 10, 0)
    E[np.arange(len(feats)), feats.end_positions] = np.where(inside, 10, 0)
    ids = [records[int(i)]["id"] for i in feats.example_index]
    answers = best_spans(S, E, feats.padded_offsets(width=width), ids, dict(zip(records["id"], records["context"])))
    # the tokenizer's word pieces can cover a slightly larger span than the gold characters
    hits = sum(records[i]["answers"]["text"][0] in answers[records[i]["id"]] for i in range(len(records)))
    assert hits >= 0.95 * len(records)


def test_question_truncated_to_max_query_length(tiny_tokenizer):
    long_q = " ".join(["Where"] * 200) + "?"
    rec = [{"question": long_q, "context": "Ana was born in Paris.", "answers": {"text": ["Paris"], "answer_start": [16]}}]
    feats = tokenize(rec, tiny_tokenizer, FeatureConfig(max_length=64, doc_stride=16, max_query_length=10))
    sep = tiny_tokenizer.sep_token_id
    assert list(feats.input_ids[0]).index(sep) == 11  # [CLS] + 10 question tokens


def test_dynamic_padding_and_length_groups(synthetic_small, tiny_tokenizer):
    feats = tokenize(synthetic_small, tiny_tokenizer)
    batches = length_grouped_batches(feats.lengths, 16)
    assert sorted(np.concatenate(batches).tolist()) == list(range(len(feats)))
    b = feats.batch(batches[-1])
    assert b["input_ids"].shape[1] == feats.lengths[batches[-1]].max()
    assert (b["attention_mask"].sum(1).numpy() == feats.lengths[batches[-1]]).all()


def test_bad_feature_config():
    with pytest.raises(ValueError, match="doc_stride"):
        FeatureConfig(max_length=128, doc_stride=100, max_query_length=64)
