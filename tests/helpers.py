"""Small configs and models shared by the training, store and job tests."""

from engine.config import from_dict


def tiny_config(stage="teacher", **sections):
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
