"""The states of Slurm jobs, asked of the cluster in one call for all of them. `sacct` first (it knows ended
jobs for as long as accounting keeps them); where it fails (no slurmdbd: "accounting storage is disabled")
or does not know a job yet, `squeue` for jobs still queued or running and `scontrol show job` for jobs that
ended recently (the controller keeps them MinJobAge seconds, 300 by default). A job none of them knows gets
no state: its run is then judged by its heartbeat alone."""

from __future__ import annotations

import re
import subprocess
import time

_cache: dict = {"at": float("-inf"), "ids": (), "states": {}}


def _call(cmd: list[str]) -> str | None:
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return res.stdout if res.returncode == 0 else None


def from_sacct(ids: list[str]) -> dict[str, str]:
    # -X: the allocation only, not its steps; sacct shows the newest record of a requeued job id
    out = _call(["sacct", "-X", "-n", "-P", "-o", "JobID,State", "-j", ",".join(ids)])
    states = {}
    for line in (out or "").splitlines():
        job, _, state = line.partition("|")
        if job in ids and state:
            states[job] = state.split()[0]  # "CANCELLED by 0" -> CANCELLED
    return states


def from_controller(ids: list[str]) -> dict[str, str]:
    states = {}
    out = _call(["squeue", "-h", "-o", "%i %T", "-j", ",".join(ids)]) or ""
    for line in out.splitlines():
        job, _, state = line.partition(" ")
        if job in ids:
            states[job] = state.strip()
    for job in (j for j in ids if j not in states):
        found = re.search(r"JobState=(\S+)", _call(["scontrol", "show", "job", job]) or "")
        if found:
            states[job] = found.group(1)
    return states


def job_states(ids: list[str], max_age_s: float = 0.0) -> dict[str, str]:
    """{job id: Slurm state} for the ids known to the cluster. Answers from the last call when it is younger
    than `max_age_s` and asked about the same ids (a scheduler polls every second; sacct is costly)."""
    ids = sorted(set(ids))
    if not ids:
        return {}
    if tuple(ids) == _cache["ids"] and time.monotonic() - _cache["at"] < max_age_s:
        return _cache["states"]
    states = from_sacct(ids)
    missing = [j for j in ids if states.get(j) in (None, "UNKNOWN")]
    if missing:
        states.update(from_controller(missing))
    _cache.update(at=time.monotonic(), ids=tuple(ids), states=states)
    return states
