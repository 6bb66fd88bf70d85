"""Small configs shared by the training, store and job tests (engine.presets, so benchmarks can use them)."""

from engine.presets import tiny_config

__all__ = ["tiny_config"]
