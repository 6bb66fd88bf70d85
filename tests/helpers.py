"""Small configs shared by the training, store and job tests (engine.testing, so benchmarks can use them)."""

from engine.testing import tiny_config

__all__ = ["tiny_config"]
