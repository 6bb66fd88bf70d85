"""The teacher's QA head runs in fp32 under bf16 autocast (issue 20 §3); CPU autocast shows it."""
import torch

from engine.modeling import load_model_and_tokenizer
from engine.pipeline import tokenizer_texts
from engine.train.teacher_cache import qa_logits
from tests.helpers import tiny_config


def test_qa_head_logits_are_fp32_and_match_the_model_under_bf16_autocast():
    cfg = tiny_config("distill")
    model, tok = load_model_and_tokenizer(cfg.model.name, tokenizer_texts(cfg), seed=0, vocab_size=cfg.model.vocab_size)
    model.eval()
    b = {"input_ids": torch.randint(5, 50, (3, 20)), "attention_mask": torch.ones(3, 20, dtype=torch.long)}
    with torch.no_grad():
        s, e = qa_logits(model, b, torch.bfloat16, torch.device("cpu"))
        with torch.autocast("cpu", dtype=torch.bfloat16):
            ref = model(**b)
    assert s.dtype == e.dtype == torch.float32
    assert ref.start_logits.dtype == torch.bfloat16  # the model's own head under autocast: bf16 logits
    assert torch.allclose(s, ref.start_logits.float(), atol=0.1) and torch.allclose(e, ref.end_logits.float(), atol=0.1)
