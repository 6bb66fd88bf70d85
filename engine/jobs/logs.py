"""A run's worker.log, read as it grows (`xlqa-run logs [-f]`), or its last lines (the dashboard's Compare)."""

from __future__ import annotations

import time
from pathlib import Path

from db.states import LIVE
from db.store import Store


def log_path(run: dict) -> Path:
    return Path(run["output_dir"]) / "worker.log"


def job_log_tail(run: dict, lines: int = 20) -> str:
    """The end of a cluster job's own stderr (submitit's log: what the job printed outside the worker, such
    as a refused start or submitit's error), which the worker's log cannot hold; '' for a local run."""
    logs = sorted((Path(run["output_dir"]) / "submitit").glob(f"{run['external_id']}_*_log.err"))
    return "".join(f"\n--- {path.name}:\n" + "\n".join(tail(path, lines)) for path in logs)


def stream_log(store: Store, run_id: int, write, follow: bool = False, poll: float = 1.0) -> bool:
    """Pass the log's bytes to `write` (decoded); with follow, until the run ends. False: there is no log."""
    from engine.jobs.control import reconcile
    path = log_path(store.get_run(run_id))
    pos = 0

    def read_new() -> None:
        nonlocal pos
        if path.exists():
            with open(path, "rb") as f:
                f.seek(pos)
                chunk = f.read()
            pos += len(chunk)
            write(chunk.decode(errors="replace"))

    while True:
        read_new()
        if not follow:
            break
        reconcile(store)
        if store.get_run(run_id)["status"] not in LIVE:
            read_new()  # the lines written just before the run ended
            break
        time.sleep(poll)
    return path.exists()


def tail(path: Path, lines: int = 20, chunk: int = 64 * 1024) -> list[str]:
    """The last `lines` lines of a log, reading only its end (a long run's log is large); [] without one."""
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - chunk))
            text = f.read().decode(errors="replace")
    except OSError:
        return []
    rows = text.splitlines()
    return rows[-lines:] if size <= chunk else rows[1:][-lines:]   # the first line read may be cut


def why_no_log(status: str) -> str:
    return ("it has not started yet" if status == "queued" else
            "its worker has not written a line yet" if status == "running" else
            "it ended without writing one (its worker never started)")
