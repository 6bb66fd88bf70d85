"""Messages posted from worker threads back to the UI."""

from dataclasses import dataclass

from textual.message import Message


@dataclass
class RunsLoaded(Message):
    rows: list[dict]


@dataclass
class RunDetailLoaded(Message):
    data: dict
