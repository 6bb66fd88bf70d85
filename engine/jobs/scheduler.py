"""The detached scheduler: starts ready runs as detached workers (one per free GPU, or on CPU), marks runs
whose worker died `lost`, fails runs whose dependency failed, and exits when the queue is empty.

    python -m engine.jobs.scheduler --db URL [--cpu-slots 1] [--poll 1.0]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from db.store import Store, age_seconds
from engine.jobs.devices import pick_gpus, worker_env

HEARTBEAT_STALE_S = 20.0


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie (exited, not reaped) is not alive
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return True


def log_tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def worker_command(run: dict, db_url: str, gpus: list[int], port: int) -> list[str]:
    base = ["-m", "engine.jobs.worker", "--db", db_url, "--run", str(run["id"])]
    if len(gpus) > 1:  # DDP across the job's GPUs; rank 0 writes the store
        return [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", f"--num_processes={len(gpus)}",
                f"--main_process_port={port}", *base]
    return [sys.executable, *base]


class Scheduler:
    def __init__(self, store: Store, cpu_slots: int = 1, poll: float = 1.0):
        self.store, self.cpu_slots, self.poll = store, cpu_slots, poll
        self.holder = f"{socket.gethostname()}:{os.getpid()}"
        self.children: dict[int, subprocess.Popen] = {}
        self.next_port = 29500 + os.getpid() % 1000

    def reap(self):
        for run_id, proc in list(self.children.items()):
            if proc.poll() is not None:
                del self.children[run_id]

    def mark_lost(self):
        host = socket.gethostname()
        for run in self.store.runs_with_status("running"):
            if run["host"] not in ("", host):
                continue  # another machine's worker: only its own scheduler can tell
            if not pid_alive(run["pid"]) and age_seconds(run["heartbeat_at"]) > 2 * self.poll:
                tail = log_tail(Path(run["output_dir"]) / "worker.log")
                self.store.finish(run["id"], "lost", error=f"worker process {run['pid']} is gone\n{tail}",
                                  hint=f"`xlqa-run resume {run['id']}` continues from the last checkpoint")
            elif age_seconds(run["heartbeat_at"]) > HEARTBEAT_STALE_S and not pid_alive(run["pid"]):
                self.store.finish(run["id"], "lost", error="heartbeat stopped", hint=f"xlqa-run resume {run['id']}")

    def fail_blocked(self):
        for run in self.store.blocked_runs():
            self.store.finish(run["id"], "failed", error=f"run {run['dep_id']} it depends on is {run['dep_status']}",
                              hint=f"fix and `xlqa-run resume {run['dep_id']}`, then `xlqa-run resume {run['id']}`")

    def start_ready(self):
        running = self.store.runs_with_status("running")
        busy_gpus = {int(g) for r in running for g in r["assigned_devices"].split(",") if g.strip().isdigit()}
        cpu_jobs = sum(1 for r in running if not r["assigned_devices"].strip())
        for run in self.store.ready_runs():
            gpus = pick_gpus(run["devices"], busy_gpus, count=max(1, len(run["devices"].split(","))) if run["devices"] not in ("", "cpu") else 1)
            if gpus is None:
                continue
            if not gpus:
                if cpu_jobs >= self.cpu_slots:
                    continue
                cpu_jobs += 1
            self.launch(run, gpus)
            busy_gpus |= set(gpus)

    def launch(self, run: dict, gpus: list[int]):
        out = Path(run["output_dir"])
        out.mkdir(parents=True, exist_ok=True)
        port = self.next_port
        self.next_port += 1  # concurrent multi-GPU jobs need distinct rendezvous ports
        if not self.store.claim(run["id"], host=socket.gethostname(), assigned_devices=",".join(map(str, gpus))):
            return
        with open(out / "worker.log", "ab") as log:
            proc = subprocess.Popen(worker_command(run, self.store.url, gpus, port), stdin=subprocess.DEVNULL,
                                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                    env=worker_env(gpus, port), cwd=str(Path(__file__).resolve().parents[2]))
        self.store.update_run(run["id"], pid=proc.pid)
        self.children[run["id"]] = proc

    def loop(self, max_seconds: float | None = None):
        if not self.store.acquire_lease(self.holder, os.getpid()):
            print("another scheduler holds the lease; exiting", flush=True)
            return
        started = time.monotonic()
        try:
            while True:
                self.store.acquire_lease(self.holder, os.getpid())
                self.reap()
                self.mark_lost()
                self.fail_blocked()
                self.start_ready()
                if not self.store.runs_with_status("queued", "running") and not self.children:
                    break
                if max_seconds and time.monotonic() - started > max_seconds:
                    break
                time.sleep(self.poll)
        finally:
            self.store.release_lease(self.holder)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--cpu-slots", type=int, default=int(os.environ.get("XLQA_CPU_SLOTS", "1")))
    ap.add_argument("--poll", type=float, default=1.0)
    args = ap.parse_args(argv)
    Scheduler(Store(args.db), args.cpu_slots, args.poll).loop()


if __name__ == "__main__":
    sys.exit(main())
