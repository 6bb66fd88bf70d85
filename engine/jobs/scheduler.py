"""The detached scheduler: starts ready runs as detached workers (one per free GPU, or on CPU), marks runs
whose worker is gone or silent `lost` (engine.jobs.liveness), fails runs whose dependency failed, and exits
when the queue is empty. At most one scheduler per database: it holds a lease row and stops scheduling the
moment it loses it.

    python -m engine.jobs.scheduler --db URL [--cpu-slots 1] [--poll 1.0]   (or XLQA_CPU_SLOTS, XLQA_SCHEDULER_POLL_S)
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from db.session import StoreError
from db.states import LIVE
from db.store import Store, age_seconds
from engine.jobs import commands
from engine.jobs.devices import DeviceError, Usable, cpu_threads, pick_gpus, usable_gpus, worker_env
from engine.jobs.launch import pythonpath
from engine.jobs.liveness import holder_alive, reap_stale, worker_log_tail
from engine.jobs.logs import job_log_tail


def worker_command(run: dict, db_url: str, gpus: list[int], port: int, attempt: int | None = None) -> list[str]:
    """A detached worker on this machine's `gpus` (engine.jobs.commands builds the line)."""
    return commands.worker_command(run["id"], db_url, attempt, gpus=len(gpus), port=port)


class Scheduler:
    def __init__(self, store: Store, cpu_slots: int = 1, poll: float = 1.0):
        self.store, self.cpu_slots, self.poll = store, cpu_slots, poll
        self.holder = f"{socket.gethostname()}:{os.getpid()}"
        self.children: dict[int, subprocess.Popen] = {}
        self.jobs: dict[int, object] = {}  # run -> submitit job (slurm, submitit-local)
        self.next_port = 29500 + os.getpid() % 1000

    def reap(self):
        for run_id, proc in list(self.children.items()):
            if proc.poll() is not None:
                del self.children[run_id]

    def mark_lost(self):
        self.sync_jobs()
        for run_id in reap_stale(self.store):
            proc = self.children.pop(run_id, None)
            if proc is not None and proc.poll() is None:  # started but never bound (or hung before binding)
                proc.kill()

    def sync_jobs(self):
        """Runs on Slurm (or submitit-local): a job still waiting (queued, or requeued after its time-limit
        warning) keeps its run alive; a job the executor ended while the run had not ended makes it failed
        (the job failed) or lost (it was stopped), with the executor's state."""
        from engine.jobs.executors import ENDED, ENDED_GRACE_S, FAILED, WAITING, job_states
        runs = [r for r in self.store.runs_with_status("running") if r["executor"] != "local"]
        states = job_states(runs, self.jobs) if runs else {}
        for run in runs:
            state = (states.get(run["id"]) or "").partition(" ")[0]
            if state in WAITING:
                self.store.touch(run["id"], run["attempt"])
            elif state in ENDED and age_seconds(run["heartbeat_at"]) > ENDED_GRACE_S:
                # Slurm calls a job ended at scancel; its worker may still be writing its checkpoint and rows
                error = (f"the {run['executor']} job {run['external_id']} ended {state} before the run did\n"
                         + worker_log_tail(run) + job_log_tail(run))
                hint = f"`xlqa-run resume {run['id']}` submits it again, from its last checkpoint"
                if state in FAILED and run["executor"] == "slurm":
                    ended = self.store.finish(run["id"], "failed", error=error, hint=hint, attempt=run["attempt"])
                else:
                    ended = self.store.mark_lost(run["id"], run["attempt"], error=error, hint=hint)
                if ended:
                    self.jobs.pop(run["id"], None)

    def fail_blocked(self):
        for run in self.store.blocked_runs():
            self.store.finish(run["id"], "failed", error=f"run {run['dep_id']} it depends on is {run['dep_status']}",
                              hint=f"`xlqa-run resume {run['dep_id']}` queues it and every run after it again",
                              alert=False)  # the run it depends on raised its own alert

    def start_ready(self):
        ready = self.store.ready_runs()
        if not ready:
            return
        gpus_now = usable_gpus()  # one reading per poll, not one per ready run
        running = self.store.runs_with_status("running")
        busy_gpus = {int(g) for r in running for g in r["assigned_devices"].split(",") if g.strip().isdigit()}
        cpu_jobs = sum(1 for r in running if not r["assigned_devices"].strip())
        for run in ready:
            if run["executor"] != "local":  # the cluster places it
                self.submit(run)
                continue
            count = max(1, len(run["devices"].split(","))) if run["devices"] not in ("", "cpu") else 1
            try:
                gpus = pick_gpus(run["devices"], busy_gpus, count=count, free=gpus_now.free, uuids=gpus_now.uuids)
            except DeviceError as e:
                self.store.finish(run["id"], "failed", error=str(e), hint="launch it again with --devices naming "
                                  "GPUs the scheduler may use, or none to let it choose")
                continue
            if gpus is None:
                continue
            if not gpus:
                if cpu_jobs >= self.cpu_slots:
                    continue
                cpu_jobs += 1
            self.launch(run, gpus, gpus_now)
            busy_gpus |= set(gpus)

    def submit(self, run: dict):
        from engine.config import from_dict
        from engine.jobs.executors import submit
        cfg = from_dict(run["config"])
        attempt = self.store.claim(run["id"], host="", assigned_devices=f"{run['executor']}")
        if attempt is None:
            return
        try:
            job = submit(run, cfg, self.store.url, attempt, run["executor"])
        except Exception as e:  # sbatch refused it (partition, account, limits): say so on the run
            self.store.finish(run["id"], "failed", error=f"submission to {run['executor']} failed: {e}",
                              hint="change that key in the config's [slurm] section (or its launch flag) and launch "
                              "again", attempt=attempt)
            return
        self.jobs[run["id"]] = job
        self.store.update_run(run["id"], external_id=str(job.job_id))

    def launch(self, run: dict, gpus: list[int], usable: Usable | None = None):
        out = Path(run["output_dir"])
        out.mkdir(parents=True, exist_ok=True)
        port = self.next_port
        self.next_port += 1  # concurrent multi-GPU jobs need distinct rendezvous ports
        attempt = self.store.claim(run["id"], host=socket.gethostname(), assigned_devices=",".join(map(str, gpus)))
        if attempt is None:  # another executor took it
            return
        # the worker runs in its run folder (a stray relative write lands there, not in a checkout); the
        # checkout comes first on its path, and the folder itself never on it (PYTHONSAFEPATH), so nothing
        # a run wrote can shadow a module
        names = usable.names if usable is not None else None
        env = {**worker_env(gpus, port, threads=cpu_threads(self.cpu_slots), names=names), "XLQA_DETACHED": "1",
               "PYTHONPATH": pythonpath(), "PYTHONSAFEPATH": "1"}
        with open(out / "worker.log", "ab") as log:
            proc = subprocess.Popen(worker_command(run, self.store.url, gpus, port, attempt), stdin=subprocess.DEVNULL,
                                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env, cwd=str(out))
        self.children[run["id"]] = proc

    def loop(self, max_seconds: float | None = None):
        if not self.store.acquire_lease(self.holder, os.getpid(), holder_alive=holder_alive):
            print("another scheduler holds the lease; exiting", flush=True)
            return
        started = time.monotonic()
        try:
            while True:
                try:
                    renewed = self.store.acquire_lease(self.holder, os.getpid())
                except StoreError as e:
                    print(f"scheduler: {e}; retrying", flush=True)
                    time.sleep(self.poll)
                    continue
                if not renewed:
                    # another scheduler took over (this one stalled past the lease): two must never schedule at
                    # once; the workers already started go on, heartbeating on their own
                    print("lost the scheduler lease to another scheduler; stopping", flush=True)
                    return
                try:
                    self.reap()
                    self.mark_lost()
                    self.fail_blocked()
                    self.start_ready()
                    if not self.store.runs_with_status(*LIVE) and not self.children:
                        break
                except StoreError as e:  # a locked or briefly unreachable database: try again next poll
                    print(f"scheduler: {e}; retrying", flush=True)
                if max_seconds and time.monotonic() - started > max_seconds:
                    break
                time.sleep(self.poll)
        finally:
            self.store.release_lease(self.holder)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--cpu-slots", type=int, default=int(os.environ.get("XLQA_CPU_SLOTS", "1")))
    ap.add_argument("--poll", type=float, default=float(os.environ.get("XLQA_SCHEDULER_POLL_S", "1.0")))
    args = ap.parse_args(argv)
    Scheduler(Store(args.db), args.cpu_slots, args.poll).loop()


if __name__ == "__main__":
    sys.exit(main())
