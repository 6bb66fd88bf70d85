"""Is a running run's worker still alive? The heartbeat decides.

A run whose heartbeat is older than `stale_after` seconds is marked `lost`; if its detached worker is on
this host and still exists (hung, or stopped with SIGSTOP), its process group is killed first, so it can
never write after a resume (its writes are also fenced by the run's attempt). A worker on this host whose
process is gone is marked lost at once. Anyone can call `reap_stale`: the scheduler every poll, and the
CLI and dashboard before they act, so a run whose worker and scheduler both died does not stay `running`.
Past `warn_after` (half the limit unless $XLQA_HEARTBEAT_WARN_S says) a silent run raises heartbeat_stale
once per attempt, while it may still recover; marking it lost raises run_lost (db.queue.mark_lost).
"""

from __future__ import annotations

import os
import signal
import socket

from db.store import Store, age_seconds

HEARTBEAT_STALE_S = float(os.environ.get("XLQA_HEARTBEAT_STALE_S", "30"))
HEARTBEAT_WARN_S = float(os.environ.get("XLQA_HEARTBEAT_WARN_S", HEARTBEAT_STALE_S / 2))
GONE_GRACE_S = 3.0  # a dead local process: wait this long for its last write before calling it lost


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited, not reaped) is not alive
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def worker_log_tail(run: dict, lines: int = 20) -> str:
    """The last lines of a run's worker.log, for the error of a run that ended without a word."""
    from engine.jobs.logs import log_path, tail
    return "\n".join(tail(log_path(run), lines))


def holder_alive(holder: str, pid: int) -> bool:
    """Whether a scheduler lease holder ("host:pid") still runs; holders on other hosts count as alive
    (their heartbeat decides)."""
    host = holder.rsplit(":", 1)[0]
    return host != socket.gethostname() or pid_alive(pid)


def kill_group(pgid: int) -> bool:
    """SIGKILL a detached worker's process group (works on stopped processes too)."""
    try:
        os.killpg(pgid, signal.SIGKILL)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def reap_stale(store: Store, stale_after: float | None = None, host: str | None = None,
               warn_after: float | None = None) -> list[int]:
    """Mark lost every running run whose worker is gone or silent (warn about the ones going silent); returns
    the ids of the lost."""
    from engine.jobs import notify
    notify.attach(store)
    stale_after = HEARTBEAT_STALE_S if stale_after is None else stale_after
    warn_after = min(HEARTBEAT_WARN_S, stale_after) if warn_after is None else warn_after
    host = host or socket.gethostname()
    lost = []
    for run in store.runs_with_status("running"):
        age = age_seconds(run["heartbeat_at"])
        # a Slurm job's processes are Slurm's: its state (engine.jobs.executors) and the heartbeat decide
        local = run["host"] in ("", host) and run["executor"] != "slurm"
        tail = worker_log_tail(run)
        hint = f"`xlqa-run resume {run['id']}` continues from the last checkpoint"
        if local and run["pid"] and not pid_alive(run["pid"]) and age > GONE_GRACE_S:
            error = f"worker process {run['pid']} is gone (killed or crashed without a word)\n{tail}"
        elif age > stale_after:
            killed = local and run["pgid"] and pid_alive(run["pid"]) and kill_group(run["pgid"])
            error = (f"no heartbeat for {age:.0f} s (limit {stale_after:.0f} s)"
                     + (f"; its process group {run['pgid']} was killed" if killed else "") + f"\n{tail}")
        else:
            if age > warn_after:
                store.add_alert(run["id"], "heartbeat_stale",
                                f"run {run['id']} ({run['kind']}): no heartbeat for {age:.0f} s; it is marked lost "
                                f"at {stale_after:.0f} s (a hung worker, a stopped process or a starved database)",
                                once_since=run["started_at"])
            continue
        if store.mark_lost(run["id"], run["attempt"], error=error, hint=hint):
            lost.append(run["id"])
    return lost
