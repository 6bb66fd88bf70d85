"""What a Slurm job runs: submitit pickles a `WorkerJob` and calls it inside the job (once per node).

The worker's environment is the job's own, with xlqa's few variables added there, at run time: Slurm's
SLURM_* variables and the CUDA_VISIBLE_DEVICES of the GPUs it allocated must reach the worker, and a
environment built on the scheduler's host would replace them.

A `WorkerJob` is checkpointable. At the time-limit warning, and at preemption, submitit's signal handler
calls `checkpoint()`: the worker is told to stop (SIGUSR2), writes its checkpoint and its rows, and hands
its run back (still running, no process); submitit then requeues the same Slurm job, whose new start binds
the same attempt and resumes from that checkpoint."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from engine.jobs.liveness import pid_alive
from engine.jobs.worker import EXIT_HANDED_BACK

REPO = Path(__file__).resolve().parents[2]


class WorkerJob:
    def __init__(self, command: list[str], db_url: str, run_id: int, attempt: int, log: str, gpus: int,
                 grace_s: float = 60.0):
        self.command, self.db_url, self.run_id, self.attempt = command, db_url, run_id, attempt
        self.log, self.gpus, self.grace_s = log, gpus, grace_s
        self.proc: subprocess.Popen | None = None

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        env["PYTHONSAFEPATH"] = "1"  # the worker runs in its run folder: nothing there may shadow a module
        env["XLQA_WORKER_LOG"] = self.log
        env["XLQA_HAND_BACK"] = "1"  # a stop that no `cancel` asked for hands the run back instead of ending it
        env.pop("XLQA_DETACHED", None)
        if self.gpus == 0:  # no GPU allocated: hide any the submitting host's variables would name
            env["CUDA_VISIBLE_DEVICES"] = ""
        if env.get("SLURM_CPUS_PER_TASK"):
            env.setdefault("OMP_NUM_THREADS", env["SLURM_CPUS_PER_TASK"])
        return env

    def __call__(self) -> int:
        # in its run folder, as a local worker: whatever it writes relative lands there, never in the checkout
        self.proc = subprocess.Popen(self.command, cwd=str(Path(self.log).parent), env=self.environment())
        # poll, not wait(): checkpoint() runs in a signal handler on this thread, and a wait() it interrupts
        # holds the lock that any wait or poll in the handler needs
        while self.proc.poll() is None:
            time.sleep(0.2)
        rc = self.proc.returncode
        if rc not in (0, EXIT_HANDED_BACK):  # a non-zero exit makes the Slurm job FAILED, as it should be
            raise RuntimeError(f"the worker exited with status {rc}")
        return rc

    def checkpoint(self, *args, **kwargs):
        """Called by submitit at USR2 (time limit or preemption): stop the worker, let it save, and requeue
        only if it handed its run back (a run that ended meanwhile, or was cancelled, is not run again)."""
        import submitit
        proc, self.proc = self.proc, None
        if proc is None:
            return None
        if pid_alive(proc.pid):  # a zombie counts as gone: this thread's poll may be the one interrupted
            proc.send_signal(signal.SIGUSR2)
            deadline = time.monotonic() + self.grace_s
            while pid_alive(proc.pid) and time.monotonic() < deadline:
                time.sleep(0.2)
            if pid_alive(proc.pid):
                print("the worker did not stop in time; killing it", file=sys.stderr, flush=True)
                proc.kill()
        if not self.handed_back():
            return None
        return submitit.helpers.DelayedSubmission(WorkerJob(self.command, self.db_url, self.run_id, self.attempt,
                                                            self.log, self.gpus, self.grace_s))

    def handed_back(self) -> bool:
        """The store, not the exit status, says so: under accelerate the launcher reports rank 0's exit as a
        failure of its own."""
        from db.store import Store
        run = Store(self.db_url).get_run(self.run_id)
        return bool(run and run["status"] == "running" and run["attempt"] == self.attempt and not run["pid"])
