"""`cancel` signals a local worker's whole process group (issue 20 §1)."""
import subprocess
import time

import psutil
import pytest

from engine.jobs.control import terminate_worker


@pytest.mark.slow  # real processes
def test_cancel_signals_every_process_of_the_group():
    leader = subprocess.Popen(["sh", "-c", "sleep 60 & sleep 60 & wait"], start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while len(psutil.Process(leader.pid).children()) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        children = psutil.Process(leader.pid).children()
        assert len(children) == 2
        terminate_worker({"pid": leader.pid, "pgid": leader.pid})
        gone, alive = psutil.wait_procs(children, timeout=10)
        assert not alive  # a SIGTERM to the leader's pid alone leaves both sleeps running
    finally:
        for p in psutil.Process(leader.pid).children() if psutil.pid_exists(leader.pid) else []:
            p.kill()
        leader.kill()
        leader.wait()
