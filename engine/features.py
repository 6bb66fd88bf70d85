"""Tokenize QA records into model features: max length 384, doc stride 128, question cut to 64 tokens,
offsets kept (-1 outside the context), training labels (CLS when the answer is outside the window).

Windows over a long context (`stride_mode`):
  overlap  `doc_stride` is the number of tokens two windows share (Hugging Face run_qa.py, xlqa's default)
  step     `doc_stride` is the distance between window starts (the legacy squad_convert_examples_to_features
           of the paper's distillation and evaluation code): the overlap is max_length - doc_stride -
           |question| - special tokens, so a long context gets about twice as many windows.
Padding (`padding`): `dynamic` pads each batch to its longest feature; `max_length` pads every feature to
max_length, as the paper's code does (with train.mask_padding_logits = false its softmax then runs over
the padding positions too).
Training labels (`labels`): `offsets` puts the span on the tokens that hold the answer's first and last
characters; `legacy` projects the answer onto whitespace words as the paper's converter does and drops an
example whose answer is not found among them (engine/labels.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from engine import cancel
from engine.feature_config import FeatureConfig
from engine.labels import legacy_span, window_label

if TYPE_CHECKING:  # annotations only: a config loads without torch
    import torch

CHUNK = 1000  # records tokenized per call: a cancel is seen between chunks


@dataclass
class QAFeatures:
    input_ids: list[np.ndarray]
    token_type_ids: list[np.ndarray] | None
    offsets: list[np.ndarray]            # [len, 2] char offsets into the context, -1 elsewhere
    example_index: np.ndarray            # feature -> row of the record table
    start_positions: np.ndarray | None = None
    end_positions: np.ndarray | None = None
    pad_token_id: int = 0
    pad_to: int | None = None            # every batch this wide (padding = max_length), else dynamic
    doc_start: np.ndarray | None = None  # feature -> context-token index (in its example) of its first context token
    dropped: int = 0                     # examples without a feature (labels = legacy: answer not found)

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def lengths(self) -> np.ndarray:
        return np.fromiter((len(x) for x in self.input_ids), dtype=np.int64, count=len(self))

    @property
    def width(self) -> int:
        """The widest batch these features make."""
        return self.pad_to or int(self.lengths.max())

    def batch(self, indices, pad_to: int | None = None) -> dict[str, torch.Tensor]:
        """Padded tensors for the given features (to pad_to, else self.pad_to, else the longest one)."""
        import torch  # here, not at the top: FeatureConfig is part of every config, and a config loads without torch
        indices = np.asarray(indices)
        width = pad_to or self.pad_to or max(len(self.input_ids[i]) for i in indices)
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

    def max_context_mask(self, width: int | None = None) -> np.ndarray:
        """[F, width] bool: the token is a context token and this window gives it its maximum context
        (the legacy `_check_is_max_context`: score min(left, right) + 0.01 * window length, the first
        window wins ties). A context token of a one-window example is always its own max context."""
        width = width or self.width
        out = np.zeros((len(self), width), dtype=bool)
        ctx_first = [int(np.argmax(o[:, 0] >= 0)) if (o[:, 0] >= 0).any() else 0 for o in self.offsets]
        ctx_len = [int((o[:, 0] >= 0).sum()) for o in self.offsets]
        start = self.doc_start if self.doc_start is not None else np.zeros(len(self), dtype=np.int64)
        f = 0
        while f < len(self):
            g = f
            while g + 1 < len(self) and self.example_index[g + 1] == self.example_index[f]:
                g += 1
            windows = range(f, g + 1)
            doc_len = max(start[w] + ctx_len[w] for w in windows)
            best_score = np.full(doc_len, -np.inf)
            best_window = np.full(doc_len, -1)
            for w in windows:  # in window order: a strictly higher score replaces, so the first max wins
                pos = np.arange(start[w], start[w] + ctx_len[w])
                score = np.minimum(pos - start[w], start[w] + ctx_len[w] - 1 - pos) + 0.01 * ctx_len[w]
                better = score > best_score[pos]
                best_score[pos[better]] = score[better]
                best_window[pos[better]] = w
            for w in windows:
                pos = np.arange(start[w], start[w] + ctx_len[w])
                out[w, ctx_first[w]:ctx_first[w] + ctx_len[w]] = best_window[pos] == w
            f = g + 1
        return out


def truncate_questions(questions: list[str], tokenizer, max_query_length: int) -> tuple[list[str], list[int]]:
    """Cut each question after its first max_query_length tokens (on the tokenizer's own offsets; 0: no
    cut); returns the questions and their token counts."""
    enc = tokenizer(questions, add_special_tokens=False, return_offsets_mapping=True)
    if max_query_length == 0:
        return list(questions), [len(offs) for offs in enc["offset_mapping"]]
    out, lengths = [], []
    for q, offs in zip(questions, enc["offset_mapping"]):
        out.append(q[:offs[max_query_length - 1][1]] if len(offs) > max_query_length else q)
        lengths.append(min(len(offs), max_query_length))
    return out, lengths


def tokenize(records, tokenizer, cfg: FeatureConfig | None = None, labels: bool = True) -> QAFeatures:
    """records: a record table (datasets.Dataset or list of dicts); labels=False skips span labels."""
    cfg = cfg or FeatureConfig()
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError("a fast tokenizer is needed (offsets); load it with use_fast=True")
    if tokenizer.padding_side != "right":
        raise ValueError("question-first features need right padding (tokenizer.padding_side='right')")
    questions = [q.lstrip() for q in _column(records, "question")]  # leading spaces waste tokens
    contexts = _column(records, "context")
    answers = _column(records, "answers") if labels else None
    specials = tokenizer.num_special_tokens_to_add(pair=True)
    input_ids, offsets, types, starts, ends, example_index, doc_start = [], [], [], [], [], [], []
    dropped = 0
    for lo in range(0, len(questions), CHUNK):
        cancel.check()
        chunk_q, q_lens = truncate_questions(questions[lo:lo + CHUNK], tokenizer, cfg.max_query_length)
        # one tokenizer call per distinct overlap (in step mode the overlap depends on the question's length)
        overlaps = [_overlap(cfg, q_len, specials) for q_len in q_lens]
        feats_of: dict[int, list] = {}
        for overlap in sorted(set(overlaps)):
            rows = [i for i, o in enumerate(overlaps) if o == overlap]
            enc = tokenizer([chunk_q[i] for i in rows], [contexts[lo + i] for i in rows], truncation="only_second",
                            max_length=cfg.max_length, stride=overlap, return_overflowing_tokens=True,
                            return_offsets_mapping=True)
            for f, sample in enumerate(enc["overflow_to_sample_mapping"]):
                feats_of.setdefault(rows[sample], []).append((enc, f, overlap))
        spans = (_legacy_spans(contexts[lo:lo + CHUNK], answers[lo:lo + CHUNK], tokenizer)
                 if labels and cfg.labels == "legacy" else None)
        for i in range(len(chunk_q)):
            if spans is not None and spans[i] is None:
                dropped += 1  # the converter drops it: no window of it is trained on
                continue
            capacity = cfg.max_length - q_lens[i] - specials
            for w, (enc, f, overlap) in enumerate(feats_of.get(i, [])):
                seq = np.array([-1 if s is None else s for s in enc.sequence_ids(f)])
                off = np.asarray(enc["offset_mapping"][f], dtype=np.int32).reshape(-1, 2)
                off[seq != 1] = -1
                input_ids.append(np.asarray(enc["input_ids"][f], dtype=np.int32))
                offsets.append(off)
                example_index.append(lo + i)
                doc_start.append(w * (capacity - overlap))  # windows advance by capacity - overlap tokens
                if "token_type_ids" in enc:
                    types.append(np.asarray(enc["token_type_ids"][f], dtype=np.int8))
                if spans is not None:
                    ctx = np.nonzero(seq == 1)[0]
                    s, e = window_label(spans[i], doc_start[-1], int(ctx[0]) if len(ctx) else 0, len(ctx))
                    starts.append(s)
                    ends.append(e)
                elif labels:
                    s, e = span_label(off, answers[lo + i])
                    starts.append(s)
                    ends.append(e)
    return QAFeatures(
        input_ids=input_ids, token_type_ids=types or None, offsets=offsets,
        example_index=np.asarray(example_index, dtype=np.int64),
        start_positions=np.asarray(starts, dtype=np.int64) if labels else None,
        end_positions=np.asarray(ends, dtype=np.int64) if labels else None,
        pad_token_id=tokenizer.pad_token_id or 0,
        pad_to=cfg.max_length if cfg.padding == "max_length" else None,
        doc_start=np.asarray(doc_start, dtype=np.int64),
        dropped=dropped,
    )


def _overlap(cfg: FeatureConfig, question_tokens: int, specials: int) -> int:
    """Tokens two consecutive windows share."""
    if cfg.stride_mode == "overlap":
        return cfg.doc_stride
    # legacy: windows start doc_stride tokens apart, each holding max_length - |q| - specials context tokens
    return max(0, cfg.max_length - cfg.doc_stride - question_tokens - specials)


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


def _legacy_spans(contexts: list[str], answers: list[dict], tokenizer) -> list[tuple[int, int] | None]:
    """The legacy converter's context-token span of each record's first answer (None: dropped)."""
    unique = list(dict.fromkeys(contexts))
    enc = tokenizer(unique, add_special_tokens=False, return_offsets_mapping=True)
    doc = {c: (np.asarray([o[0] for o in offs], dtype=np.int64), tokenizer.convert_ids_to_tokens(ids))
           for c, offs, ids in zip(unique, enc["offset_mapping"], enc["input_ids"])}
    texts = [a["text"][0] for a in answers]
    answer_tokens = {t: tokenizer.tokenize(t) for t in dict.fromkeys(texts)}
    return [legacy_span(c, t, a["answer_start"][0], *doc[c], answer_tokens[t])
            for c, t, a in zip(contexts, texts, answers)]


def _column(records, name: str) -> list:
    return list(records[name]) if hasattr(records, "column_names") else [r[name] for r in records]


def length_grouped_batches(lengths: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Evaluation batches of similar length (less padding); every feature exactly once."""
    order = np.argsort(-lengths, kind="stable")
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
