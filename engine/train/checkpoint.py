"""Checkpoints that resume exactly and survive a kill at any instant.

Layout under a run's output folder:
    checkpoints/step-00000120-epoch-001-micro-000000/   one folder per training position (sorts by time)
    checkpoint -> checkpoints/<newest>                  a symlink, swapped atomically
    best-00000080/  and  best -> best-00000080          the best dev checkpoint, the same way

A checkpoint is written into `<name>.partial`, then renamed (one atomic rename publishes it whole); only
then do the link and the clean-up of older ones follow. A kill at any point leaves the previous complete
checkpoint in place, and `latest_checkpoint` finds the newest complete one by scanning, whatever the link
says. The state file holds only tensors and plain Python values, so it loads with `weights_only=True`.
"""

from __future__ import annotations

import os
import random
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from engine.config import PROVENANCE_FILE

STATE_FILE = "trainer_state.pt"
CHECKPOINTS = "checkpoints"
LINK = "checkpoint"
BEST = "best"
PARTIAL = ".partial"


def _copy_provenance(output_dir: Path, folder: Path) -> None:
    """The run folder's provenance (written by the pipeline) goes into each folder it publishes."""
    source = Path(output_dir) / PROVENANCE_FILE
    if source.is_file():
        shutil.copyfile(source, folder / PROVENANCE_FILE)


@dataclass(frozen=True)
class ResumePoint:
    """Where a run continues from: rows logged after `step`, and generation rows from `generation` on, are
    logged again. (-1, -1): from the start."""
    step: int = -1
    generation: int = -1


def rng_state() -> dict:
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    state = {"python": random.getstate(), "torch": torch.get_rng_state(),
             "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                       "has_gauss": int(has_gauss), "gauss": float(gauss)}}
    if torch.cuda.is_available():  # this process's own device: each DDP rank saves its own stream
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        if isinstance(state["cuda"], torch.Tensor):
            torch.cuda.set_rng_state(state["cuda"])
        elif len(state["cuda"]) == torch.cuda.device_count():  # an older checkpoint: every device's state
            torch.cuda.set_rng_state_all(state["cuda"])


def rank_rng_state(state: dict, rank: int) -> dict:
    """The RNG state rank `rank` resumes from: its own when the checkpoint has one (a run resumed on fewer
    processes takes the first ones'), else rank 0's."""
    ranks = state.get("rng_ranks") or []
    return ranks[rank] if rank < len(ranks) else state["rng"]


def position_name(counters: dict) -> str:
    return f"step-{counters['global_step']:08d}-epoch-{counters['epoch']:03d}-micro-{counters['micro_in_epoch']:06d}"


def _fsync_tree(path: Path) -> None:
    """Flush the files and the folder to disk (a kill keeps the page cache; a power cut does not)."""
    for f in path.rglob("*"):
        if f.is_file():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
    _fsync_dir(path)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _point(link: Path, target: Path) -> None:
    """Make `link` a symlink to `target` in one atomic rename (readers see the old or the new target)."""
    tmp = link.with_name(link.name + ".link-tmp")
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(os.path.relpath(target, link.parent), tmp)
    if link.exists() and not link.is_symlink():  # a folder of the 0.1 layout: keep it aside
        link.rename(link.with_name(link.name + ".v0.1"))
    os.replace(tmp, link)


def write_partial(output_dir: Path, model, tokenizer, optimizer, scheduler, counters: dict, teacher=None,
                  window: dict | None = None, grads: list | None = None, rng_ranks: list | None = None,
                  scaler: dict | None = None) -> Path:
    """Everything of a checkpoint, in `checkpoints/<position>.partial` (not yet visible to resume).
    grads: gradients accumulated but not yet stepped (train.epoch_tail = carry, at an epoch end).
    rng_ranks: every DDP rank's RNG state; scaler: the fp16 GradScaler's state."""
    tmp = Path(output_dir) / CHECKPOINTS / (position_name(counters) + PARTIAL)
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    _copy_provenance(output_dir, tmp)
    torch.save({"format": 2, "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                "rng": rng_state(), "counters": dict(counters),
                "teacher": teacher.state_dict() if teacher is not None else None, "window": window,
                "grads": grads, "rng_ranks": rng_ranks, "scaler": scaler}, tmp / STATE_FILE)
    _fsync_tree(tmp)
    return tmp


def publish(partial: Path, keep: int = 1) -> Path:
    """Rename the partial folder into place, point the `checkpoint` link at it, drop older checkpoints."""
    final = partial.with_name(partial.name[:-len(PARTIAL)])
    if final.exists():  # the same position saved again (identical content)
        shutil.rmtree(final)
    os.rename(partial, final)
    _fsync_dir(final.parent)
    output_dir = final.parent.parent
    _point(output_dir / LINK, final)
    for old in complete_checkpoints(output_dir)[:-max(1, keep)]:
        shutil.rmtree(old, ignore_errors=True)
    for stray in final.parent.glob("*" + PARTIAL):  # left by a kill mid-write
        shutil.rmtree(stray, ignore_errors=True)
    return final


def complete_checkpoints(output_dir: Path) -> list[Path]:
    root = Path(output_dir) / CHECKPOINTS
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir()
                  if p.is_dir() and not p.name.endswith(PARTIAL) and (p / STATE_FILE).exists())


def latest_checkpoint(output_dir: Path) -> Path | None:
    """The newest complete checkpoint (or the single `checkpoint` folder of the 0.1 layout)."""
    found = complete_checkpoints(output_dir)
    if found:
        return found[-1]
    legacy = Path(output_dir) / LINK
    if legacy.is_dir() and not legacy.is_symlink() and (legacy / STATE_FILE).exists():
        return legacy
    return None


def load_state(path: Path) -> dict:
    return torch.load(Path(path) / STATE_FILE, map_location="cpu", weights_only=True)


def resume_point(path: Path | None) -> ResumePoint:
    """The point a run continues from: its step, and the first generation whose teacher is computed again
    (a mid-epoch checkpoint carries its generation's teacher, so that one is not recomputed)."""
    if path is None:
        return ResumePoint()
    state = load_state(path)
    counters = state["counters"]
    generation = counters["epoch"] + (1 if state.get("teacher") is not None else 0)
    return ResumePoint(step=counters["global_step"], generation=generation)


def promote_best(output_dir: Path, model, tokenizer, step: int) -> Path:
    """Save the best model as `best-<step>` and swap the `best` link to it; older best folders go."""
    output_dir = Path(output_dir)
    final = output_dir / f"{BEST}-{step:08d}"
    tmp = final.with_name(final.name + PARTIAL)
    for stale in (tmp, final):
        if stale.exists():
            shutil.rmtree(stale)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    _copy_provenance(output_dir, tmp)
    _fsync_tree(tmp)
    os.rename(tmp, final)
    _point(output_dir / BEST, final)
    for old in output_dir.glob(f"{BEST}-*"):
        if old != final:
            shutil.rmtree(old, ignore_errors=True)
    return output_dir / BEST
