"""Messages posted from worker threads back to the UI."""

from dataclasses import dataclass

from textual.message import Message


@dataclass
class RunsLoaded(Message):
    rows: list[dict]
    total: int = 0


@dataclass
class RunDetailLoaded(Message):
    data: dict


@dataclass
class SignificanceLoaded(Message):
    """Paired tests computed off the UI thread: one result per compared run (or an error text)."""
    results: dict


@dataclass
class LogsLoaded(Message):
    """The tail of each compared run's log: run id -> (lines, log path, status); live: a run may still write."""
    tails: dict
    live: bool = False
