"""Models and tokenizers: any HF encoder by hub id or local path, or a tiny BERT built from a config
with a WordPiece tokenizer trained on the fly (the offline default)."""

from __future__ import annotations

from typing import Iterable

from transformers import AutoModelForQuestionAnswering, AutoTokenizer, BertConfig, BertForQuestionAnswering, PreTrainedTokenizerFast
from transformers.utils import logging as hf_logging

from engine.config import TINY_PREFIX

hf_logging.disable_progress_bar()  # shard-writing bars would garble logs and the TUI


def train_wordpiece(texts: Iterable[str], vocab_size: int = 4000) -> PreTrainedTokenizerFast:
    """A WordPiece tokenizer built deterministically from `texts`: every character (as a word start and
    as a ##continuation) plus the most frequent words, ties broken alphabetically. (The `tokenizers`
    trainer breaks frequency ties in hash order, so two processes could get different vocabularies.)"""
    from collections import Counter

    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    # handle_chinese_chars puts spaces around CJK ideographs so each becomes its own word
    normalizer = normalizers.BertNormalizer(lowercase=False, strip_accents=False, handle_chinese_chars=True)
    pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    words = Counter(w for text in texts for w, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(text)))
    chars = sorted({ch for w in words for ch in w})
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab = specials + chars + ["##" + ch for ch in chars]
    # candidates: whole words, word-start prefixes and ##continuations of 2-4 characters, by frequency
    pieces: Counter = Counter()
    for word, n in words.items():
        pieces[word] += n
        for size in range(2, min(5, len(word))):
            pieces[word[:size]] += n
            for i in range(1, len(word) - size + 1):
                pieces["##" + word[i:i + size]] += n
    taken = set(vocab)
    for piece, _ in sorted(pieces.items(), key=lambda kv: (-kv[1], kv[0])):
        if len(vocab) >= vocab_size:
            break
        if piece not in taken:
            vocab.append(piece)
            taken.add(piece)
    tok = Tokenizer(models.WordPiece({w: i for i, w in enumerate(vocab)}, unk_token="[UNK]"))
    tok.normalizer = normalizer
    tok.pre_tokenizer = pre_tokenizer
    cls, sep = vocab.index("[CLS]"), vocab.index("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    tok.decoder = decoders.WordPiece()
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                                   sep_token="[SEP]", mask_token="[MASK]", padding_side="right",
                                   model_input_names=["input_ids", "token_type_ids", "attention_mask"])


def tiny_bert(vocab_size: int, hidden: int = 64, layers: int = 2, heads: int = 2, max_positions: int = 512,
              seed: int = 0) -> BertForQuestionAnswering:
    import torch
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=vocab_size, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
                        intermediate_size=hidden * 4, max_position_embeddings=max_positions)
    return BertForQuestionAnswering(config)


def parse_tiny(name: str) -> tuple[int, int] | None:
    if not name.startswith(TINY_PREFIX):
        return None
    parts = name.split(":")[1:]
    hidden, layers = (int(parts[0]), int(parts[1])) if len(parts) == 2 else (64, 2)
    return hidden, layers


def load_model_and_tokenizer(name: str, train_texts: Iterable[str] | None = None, seed: int = 0, vocab_size: int = 4000):
    """Hub id / local checkpoint, or `tiny-bert[:hidden:layers]` (needs train_texts for its tokenizer).
    seed: the initial weights of whatever the checkpoint lacks (a base encoder's QA head) or of a tiny-bert."""
    tiny = parse_tiny(name)
    if tiny is not None:
        if train_texts is None:
            raise ValueError("a tiny-bert model needs texts to train its tokenizer on")
        tokenizer = train_wordpiece(train_texts, vocab_size)
        hidden, layers = tiny
        return tiny_bert(len(tokenizer), hidden, layers, heads=max(1, hidden // 32), seed=seed), tokenizer
    import torch
    tokenizer = AutoTokenizer.from_pretrained(name)
    torch.manual_seed(seed)  # a new QA head is drawn from train.seed, as run_qa.py seeds before loading
    model = AutoModelForQuestionAnswering.from_pretrained(name, dtype=torch.float32)
    return model, tokenizer


