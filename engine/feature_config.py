"""The options of engine.features (window length, stride and its mode, padding, labels), apart from the
tokenizing code: engine.config loads a config, and `xlqa-run show` prints one, without numpy."""

from __future__ import annotations

from dataclasses import dataclass, field

STRIDE_MODES = ("overlap", "step")
PADDINGS = ("dynamic", "max_length")
LABELS = ("offsets", "legacy")


@dataclass
class FeatureConfig:
    max_length: int = field(default=384, metadata={"help": "tokens per feature (question + context window)"})
    doc_stride: int = field(default=128, metadata={"help": "window stride in tokens; its meaning: stride_mode"})
    max_query_length: int = field(default=64, metadata={"ge": 0,
        "help": "question tokens kept (0: the whole question, as HF run_qa.py, the paper's teacher)"})
    stride_mode: str = field(default="overlap", metadata={"choices": STRIDE_MODES,
        "help": "overlap: doc_stride tokens shared by two windows (HF run_qa.py, xlqa's default); step: doc_stride "
                "tokens between window starts (the paper's legacy SQuAD features: about twice as many windows)"})
    padding: str = field(default="dynamic", metadata={"choices": PADDINGS,
        "help": "dynamic: pad a batch to its longest feature (xlqa's default, cheaper); max_length: pad every "
                "feature to max_length (the paper's code)"})
    labels: str = field(default="offsets", metadata={"choices": LABELS,
        "help": "offsets: the answer's first and last characters pick the tokens (xlqa's default); legacy: the "
                "paper's converter, whole whitespace words tightened to the answer's own tokens, and an example "
                "whose answer is not found among the whitespace words is dropped"})

    def __post_init__(self):
        if self.max_length < 32:
            raise ValueError(f"max_length={self.max_length}: must be at least 32")
        if self.stride_mode not in STRIDE_MODES:
            raise ValueError(f"stride_mode={self.stride_mode!r}: use one of {STRIDE_MODES}")
        if self.padding not in PADDINGS:
            raise ValueError(f"padding={self.padding!r}: use one of {PADDINGS}")
        if self.labels not in LABELS:
            raise ValueError(f"labels={self.labels!r}: use one of {LABELS}")
        if self.max_query_length < 0:
            raise ValueError(f"max_query_length={self.max_query_length}: must be >= 0 (0: no cut)")
        if not 0 < self.doc_stride < self.max_length - self.max_query_length:
            raise ValueError(f"doc_stride={self.doc_stride}: must be between 1 and max_length - max_query_length - 1")
