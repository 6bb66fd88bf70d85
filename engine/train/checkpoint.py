"""Checkpoints that resume exactly: weights, optimizer, scheduler, RNG states, counters, and the
generation's teacher cache when saved mid-epoch."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import torch

STATE_FILE = "trainer_state.pt"


def rng_state() -> dict:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: Path, model, tokenizer, optimizer, scheduler, counters: dict, teacher=None) -> Path:
    """Write to a temporary folder, then rename: a crash mid-save never leaves a broken checkpoint."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "rng": rng_state(),
                "counters": counters, "teacher": teacher.state_dict() if teacher is not None else None}, tmp / STATE_FILE)
    if path.exists():
        old = path.with_name(path.name + ".old")
        path.rename(old)
        tmp.rename(path)
        import shutil
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.rename(path)
    return path


def load_state(path: Path) -> dict:
    return torch.load(Path(path) / STATE_FILE, map_location="cpu", weights_only=False)
