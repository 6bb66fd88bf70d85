"""Tokenize QA records into model features: max length 384, doc stride 128, question cut to 64 tokens,
offsets kept (-1 outside the context), training labels (CLS when the answer is outside the window).
Features keep their own length; `QAFeatures.batch` pads dynamically."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch


@dataclass
class FeatureConfig:
    max_length: int = field(default=384, metadata={"help": "tokens per feature (question + context window)"})
    doc_stride: int = field(default=128, metadata={"help": "overlap between context windows"})
    max_query_length: int = field(default=64, metadata={"help": "question tokens kept"})

    def __post_init__(self):
        if self.max_length < 32:
            raise ValueError(f"max_length={self.max_length}: must be at least 32")
        if not 0 < self.doc_stride < self.max_length - self.max_query_length:
            raise ValueError(f"doc_stride={self.doc_stride}: must be between 1 and max_length - max_query_length - 1")


@dataclass
class QAFeatures:
    input_ids: list[np.ndarray]
    token_type_ids: list[np.ndarray] | None
    offsets: list[np.ndarray]            # [len, 2] char offsets into the context, -1 elsewhere
    example_index: np.ndarray            # feature -> row of the record table
    start_positions: np.ndarray | None = None
    end_positions: np.ndarray | None = None
    pad_token_id: int = 0

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def lengths(self) -> np.ndarray:
        return np.fromiter((len(x) for x in self.input_ids), dtype=np.int64, count=len(self))

    def batch(self, indices, pad_to: int | None = None) -> dict[str, torch.Tensor]:
        """Padded tensors for the given features (dynamic padding: to the longest one, or pad_to)."""
        indices = np.asarray(indices)
        width = pad_to or max(len(self.input_ids[i]) for i in indices)
        ids = np.full((len(indices), width), self.pad_token_id, dtype=np.int64)
        mask = np.zeros((len(indices), width), dtype=np.int64)
        types = np.zeros((len(indices), width), dtype=np.int64) if self.token_type_ids is not None else None
        for row, i in enumerate(indices):
            n = len(self.input_ids[i])
            ids[row, :n] = self.input_ids[i]
            mask[row, :n] = 1
            if types is not None:
                types[row, :n] = self.token_type_ids[i]
        out = {"input_ids": torch.from_numpy(ids), "attention_mask": torch.from_numpy(mask)}
        if types is not None:
            out["token_type_ids"] = torch.from_numpy(types)
        if self.start_positions is not None:
            out["start_positions"] = torch.from_numpy(self.start_positions[indices])
            out["end_positions"] = torch.from_numpy(self.end_positions[indices])
        out["feature_index"] = torch.from_numpy(indices.astype(np.int64))
        return out

    def padded_offsets(self, indices=None, width: int | None = None) -> np.ndarray:
        indices = np.arange(len(self)) if indices is None else np.asarray(indices)
        width = width or max(len(self.offsets[i]) for i in indices)
        out = np.full((len(indices), width, 2), -1, dtype=np.int32)
        for row, i in enumerate(indices):
            out[row, :len(self.offsets[i])] = self.offsets[i]
        return out


def truncate_questions(questions: list[str], tokenizer, max_query_length: int) -> list[str]:
    """Cut each question after its first max_query_length tokens (on the tokenizer's own offsets)."""
    enc = tokenizer(questions, add_special_tokens=False, return_offsets_mapping=True)
    return [q[:offs[max_query_length - 1][1]] if len(offs) > max_query_length else q
            for q, offs in zip(questions, enc["offset_mapping"])]


def tokenize(records, tokenizer, cfg: FeatureConfig | None = None, labels: bool = True) -> QAFeatures:
    """records: a record table (datasets.Dataset or list of dicts); labels=False skips span labels."""
    cfg = cfg or FeatureConfig()
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError("a fast tokenizer is needed (offsets); load it with use_fast=True")
    if tokenizer.padding_side != "right":
        raise ValueError("question-first features need right padding (tokenizer.padding_side='right')")
    questions = [q.lstrip() for q in _column(records, "question")]  # leading spaces waste tokens
    questions = truncate_questions(questions, tokenizer, cfg.max_query_length)
    contexts = _column(records, "context")
    enc = tokenizer(questions, contexts, truncation="only_second", max_length=cfg.max_length,
                    stride=cfg.doc_stride, return_overflowing_tokens=True, return_offsets_mapping=True)
    example_index = np.asarray(enc["overflow_to_sample_mapping"], dtype=np.int64)
    input_ids, offsets, types = [], [], []
    starts, ends = [], []
    answers = _column(records, "answers") if labels else None
    for f in range(len(enc["input_ids"])):
        seq = np.array([-1 if s is None else s for s in enc.sequence_ids(f)])
        off = np.asarray(enc["offset_mapping"][f], dtype=np.int32).reshape(-1, 2)
        off[seq != 1] = -1
        input_ids.append(np.asarray(enc["input_ids"][f], dtype=np.int32))
        offsets.append(off)
        if "token_type_ids" in enc:
            types.append(np.asarray(enc["token_type_ids"][f], dtype=np.int8))
        if labels:
            s, e = span_label(off, answers[example_index[f]])
            starts.append(s)
            ends.append(e)
    return QAFeatures(
        input_ids=input_ids, token_type_ids=types or None, offsets=offsets, example_index=example_index,
        start_positions=np.asarray(starts, dtype=np.int64) if labels else None,
        end_positions=np.asarray(ends, dtype=np.int64) if labels else None,
        pad_token_id=tokenizer.pad_token_id or 0,
    )


def span_label(off: np.ndarray, answers: dict) -> tuple[int, int]:
    """Token start/end of the first gold answer in this window, or (0, 0) (CLS) when it is not inside."""
    start_char = answers["answer_start"][0]
    end_char = start_char + len(answers["text"][0])
    ctx = np.nonzero(off[:, 0] >= 0)[0]
    if len(ctx) == 0 or off[ctx[0], 0] > start_char or off[ctx[-1], 1] < end_char:
        return 0, 0
    start_tok = ctx[off[ctx, 0] <= start_char][-1]
    end_tok = ctx[off[ctx, 1] >= end_char][0]
    return int(start_tok), int(end_tok)


def _column(records, name: str) -> list:
    return list(records[name]) if hasattr(records, "column_names") else [r[name] for r in records]


def length_grouped_batches(lengths: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Evaluation batches of similar length (less padding); every feature exactly once."""
    order = np.argsort(-lengths, kind="stable")
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
