"""The teacher stage as run_qa.py runs it: whole questions, and a QA head drawn from train.seed."""

import torch
from transformers import BertConfig, BertModel

from engine.config import load_toml
from engine.features import FeatureConfig, tokenize
from engine.modeling import load_model_and_tokenizer
from tests.conftest import REPO


def test_max_query_length_0_keeps_the_whole_question(tiny_tokenizer):
    question = " ".join(["Where"] * 40) + "?"
    rec = [{"question": question, "context": "Ana was born in Paris.",
            "answers": {"text": ["Paris"], "answer_start": [16]}}]
    whole = len(tiny_tokenizer(question, add_special_tokens=False)["input_ids"])
    sep = tiny_tokenizer.sep_token_id
    cut = tokenize(rec, tiny_tokenizer, FeatureConfig(max_length=128, doc_stride=16, max_query_length=10))
    kept = tokenize(rec, tiny_tokenizer, FeatureConfig(max_length=128, doc_stride=16, max_query_length=0))
    assert whole == 41 and list(cut.input_ids[0]).index(sep) == 11 and list(kept.input_ids[0]).index(sep) == 1 + whole
    assert load_toml(REPO / "examples/paper_teacher.toml").features.max_query_length == 0
    # step windows count the whole question: window 2 starts doc_stride context tokens after window 1
    rec[0]["context"] = " ".join(f"w{i}" for i in range(150))
    step = tokenize(rec, tiny_tokenizer, FeatureConfig(max_length=128, doc_stride=16, max_query_length=0,
                                                       stride_mode="step"))
    doc = tiny_tokenizer(rec[0]["context"], add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    firsts = [tuple(o[o[:, 0] >= 0][0]) for o in step.offsets]
    assert len(firsts) > 2 and firsts[1] == tuple(doc[16]) and firsts[2] == tuple(doc[32])


def test_a_new_qa_head_is_drawn_from_the_seed(tmp_path, tiny_tokenizer):
    """A base encoder without a QA head (as mBERT on the hub): the head is the same for the same seed."""
    BertModel(BertConfig(vocab_size=len(tiny_tokenizer), hidden_size=32, num_hidden_layers=1, num_attention_heads=1,
                         intermediate_size=64)).save_pretrained(tmp_path)
    tiny_tokenizer.save_pretrained(tmp_path)
    heads = []
    for seed in (3, 3, 4):
        torch.manual_seed(1000 + len(heads))  # whatever the process did before
        model, _ = load_model_and_tokenizer(str(tmp_path), seed=seed)
        heads.append(model.qa_outputs.weight.detach().clone())
    assert torch.equal(heads[0], heads[1]) and not torch.equal(heads[0], heads[2])
