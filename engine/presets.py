"""Small ready-made configs: the tiny offline experiment the tests, benchmarks and notebooks start from."""

from __future__ import annotations

from engine.config import ExperimentConfig, from_dict


def tiny_config(stage: str = "teacher", **sections) -> ExperimentConfig:
    """A tiny BERT on the synthetic set (English only for the teacher; en + de sampled for distillation),
    scored on synthetic en/de cells. `sections` update the TOML tables, e.g. train={"epochs": 1}."""
    base = {
        "name": f"test-{stage}",
        "data": {"train": "synthetic", "languages": ["en"] if stage == "teacher" else ["en", "de"],
                 "sample": stage != "teacher", "ntl": 1, "synthetic_paragraphs": 60},
        "model": {"name": "tiny-bert:32:1", "vocab_size": 1500},
        "features": {"max_length": 96, "doc_stride": 32, "max_query_length": 24},
        "train": {"stage": stage, "epochs": 2, "learning_rate": 1e-3, "batch_size": 16, "grad_accum": 1,
                  "log_every": 2, "warmup_ratio": 0.0},
        "eval": {"dev": "synthetic", "suites": ["synthetic"], "languages": ["en", "de"], "max_per_cell": 20},
    }
    for key, values in sections.items():
        base.setdefault(key, {}).update(values)
    return from_dict(base)
