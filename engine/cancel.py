"""One cancellation flag per process, set by SIGTERM or by the store's cancel flag and checked at every
batch of every stage (featurization, the teacher pass, training steps, evaluation), so `cancel` stops a
job within seconds wherever it is. Training checkpoints first; other stages just stop."""

from __future__ import annotations

import threading

_requested = threading.Event()


class Cancelled(Exception):
    """The job was asked to stop."""


def request() -> None:
    _requested.set()


def requested() -> bool:
    return _requested.is_set()


def check() -> None:
    """Raise Cancelled if a stop was asked for (call between batches)."""
    if _requested.is_set():
        raise Cancelled("cancelled")


def reset() -> None:
    _requested.clear()
