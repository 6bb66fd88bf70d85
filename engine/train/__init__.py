"""Training stages: teacher (CE) and distill (CE + w * KL, teacher frozen per generation)."""

from engine.train.loop import TrainResult, train

__all__ = ["TrainResult", "train"]
