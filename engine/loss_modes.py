"""The names of the distillation loss's options, without torch: a config checks them when it loads."""

# each coefficient as a batch-level w (the mean over the micro-batch, as the paper's mAP@k) and per example
_BASES = ("map@k", "mrr@k", "entropy", "confidence", "gold-mass")
COEFFICIENTS = ("none",) + tuple(m for base in _BASES for m in (base, f"{base}-example"))
KL_DIRECTIONS = ("forward", "reverse", "symmetric", "symmetric-mean")
_LABELS = {"map@k": "mAP@k", "mrr@k": "MRR@k"}


def coefficient_label(mode: str | None) -> str:
    """How charts name a coefficient: 'map@k-example' -> 'mAP@k', 'entropy' -> 'entropy' (missing: the default's)."""
    base = (mode or "map@k").removesuffix("-example")
    return _LABELS.get(base, base)
