"""Alerts sent out as they are written: a POST of the alert as JSON to a webhook URL (Slack, ntfy, a chat
bot), and/or a command of the user's (mail, notify-send), configured once per user:

    ~/.config/xlqa/alerts.toml  (or $XLQA_ALERTS_CONFIG; $XDG_CONFIG_HOME is honoured)
        webhook = "https://ntfy.sh/my-runs"
        command = "mail -s \"$XLQA_ALERT_TEXT\" me@example.org < /dev/null"
        min_level = "warning"     # info | warning | error
        timeout_s = 5

$XLQA_ALERT_WEBHOOK, $XLQA_ALERT_COMMAND, $XLQA_ALERT_MIN_LEVEL and $XLQA_ALERT_TIMEOUT_S override the file.
Each batch is sent from a thread of its own, once, with the timeout and no retry: training never waits for a
slow or dead endpoint (a process that ends waits at most the timeout for its last alerts to go)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from db.states import ALERT_LEVELS

KEYS = ("webhook", "command", "min_level", "timeout_s")


def config_path() -> Path:
    if os.environ.get("XLQA_ALERTS_CONFIG"):
        return Path(os.environ["XLQA_ALERTS_CONFIG"]).expanduser()
    return Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config")) / "xlqa" / "alerts.toml"


@dataclass(frozen=True)
class Notifier:
    webhook: str = ""
    command: str = ""
    min_level: str = "info"
    timeout_s: float = 5.0

    @classmethod
    def configured(cls) -> "Notifier | None":
        """The user's notifier (file, then environment), or None when neither names a webhook or command."""
        values = {}
        path = config_path()
        if path.exists():  # tomllib only then: `list` and `show` ask, and most users have no file
            try:
                import tomllib
            except ImportError:  # pragma: no cover - Python 3.10
                import tomli as tomllib
            try:
                values = {k: v for k, v in tomllib.loads(path.read_text(encoding="utf-8")).items() if k in KEYS}
            except (OSError, tomllib.TOMLDecodeError) as e:
                print(f"xlqa: {path} is not readable TOML ({e}); alerts are not sent", file=sys.stderr)
        for key in KEYS:
            if os.environ.get(f"XLQA_ALERT_{key.upper()}"):
                values[key] = os.environ[f"XLQA_ALERT_{key.upper()}"]
        if not values.get("webhook") and not values.get("command"):
            return None
        level = values.get("min_level", "info")
        if level not in ALERT_LEVELS:
            print(f"xlqa: alert min_level {level!r} is not one of {', '.join(ALERT_LEVELS)}; sending every alert",
                  file=sys.stderr)
            level = "info"
        return cls(str(values.get("webhook", "")), str(values.get("command", "")), level,
                   float(values.get("timeout_s", 5.0)))

    def send(self, alerts: list[dict]) -> threading.Thread | None:
        """Start sending (the alerts at min_level or above); returns the thread, None when nothing is due."""
        due = [payload(a) for a in alerts if ALERT_LEVELS.index(a["level"]) >= ALERT_LEVELS.index(self.min_level)]
        if not due:
            return None
        # not a daemon: a worker that ends right after its run_done still sends it (for at most the timeout)
        thread = threading.Thread(target=self._deliver, args=(due,), name="xlqa-alerts")
        thread.start()
        return thread

    def _deliver(self, due: list[dict]) -> None:
        import urllib.request  # here: `list` and `show` attach a notifier before they read, and rarely send
        for alert in due:
            if self.webhook:
                try:
                    request = urllib.request.Request(self.webhook, data=json.dumps(alert).encode(), method="POST",
                                                     headers={"Content-Type": "application/json"})
                    urllib.request.urlopen(request, timeout=self.timeout_s).close()
                except Exception as e:  # noqa: BLE001 - once, no retry: say so and go on
                    print(f"xlqa: alert {alert['id']} not sent to the webhook: {e}", file=sys.stderr)
            if self.command:
                env = {**os.environ, **{f"XLQA_ALERT_{k.upper()}": str(alert[k]) for k in ("kind", "level", "text",
                                                                                            "run_id")}}
                try:
                    subprocess.run(self.command, shell=True, input=json.dumps(alert), text=True, env=env,
                                   timeout=self.timeout_s, capture_output=True)
                except (OSError, subprocess.TimeoutExpired) as e:
                    print(f"xlqa: alert {alert['id']} command failed: {e}", file=sys.stderr)


def payload(alert: dict) -> dict:
    """What the webhook receives (and the command on stdin): the alert row, its time in ISO 8601 (UTC)."""
    import socket
    return {"id": alert["id"], "run_id": alert["run_id"], "level": alert["level"], "kind": alert["kind"],
            "text": alert["text"], "created_at": alert["created_at"].isoformat() + "Z", "host": socket.gethostname()}


def attach(store) -> None:
    """Send the alerts this process writes through `store`, if the user configured a notifier. Idempotent and
    cheap after the first call (the scheduler calls it every poll): the configuration is read once per store."""
    if getattr(store, "notify_checked", False) or store.read_only:
        return
    store.notify_checked = True
    notifier = Notifier.configured()
    if notifier is not None and store.alert_hook is None:
        store.alert_hook = notifier.send
