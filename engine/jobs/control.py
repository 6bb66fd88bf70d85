"""Cancel: set the flag in the store (any host sees it at the next heartbeat) and SIGTERM a local worker."""

from __future__ import annotations

import os
import signal
import socket

from db.store import Store


def cancel_run(store: Store, run_id: int) -> str:
    run = store.request_cancel(run_id)
    if run["status"] == "cancelled":
        return f"run {run_id} cancelled (it had not started)"
    if run["status"] != "running":
        return f"run {run_id} is {run['status']}: nothing to cancel"
    if run["pid"] and run["host"] == socket.gethostname():
        try:
            os.kill(run["pid"], signal.SIGTERM)
        except ProcessLookupError:
            pass
    return f"run {run_id}: stopping at the next step with a checkpoint"
