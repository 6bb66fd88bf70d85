"""The names of the distillation loss's options, without torch: a config checks them when it loads."""

COEFFICIENTS = ("none", "map@k", "map@k-example", "mrr@k", "mrr@k-example")
KL_DIRECTIONS = ("forward", "reverse", "symmetric", "symmetric-mean")
