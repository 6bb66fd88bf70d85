"""`xlqa serve`: the dashboard in a browser through textual-serve, which starts one `xlqa` process per browser
tab with its stdout piped and TEXTUAL_DRIVER naming its web driver (xlqa_tui.launch runs the app then).
textual-serve has no authentication, so a host other than loopback needs a flag that names the risk."""

from __future__ import annotations

import ipaddress
import shlex
import socket
import sys


class ServeRefused(Exception):
    """A host the server may not listen on without the flag."""


class ServeUnavailable(Exception):
    """textual-serve is not installed."""


def is_loopback(host: str) -> bool:
    """True when every address `host` resolves to is a loopback address (127.0.0.0/8, ::1)."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(info[4][0].split("%")[0]).is_loopback for info in infos)


def app_command(db_url: str | None) -> str:
    """The shell command textual-serve runs per browser tab: this Python, this dashboard, this database."""
    return shlex.join([sys.executable, "-m", "xlqa_tui.launch"] + (["--db", db_url] if db_url else []))


def serve_dashboard(host: str, port: int, db_url: str | None, public_unauthenticated: bool = False,
                    public_url: str | None = None) -> None:
    if not (is_loopback(host) or public_unauthenticated):
        raise ServeRefused(f"--host {host} is not a loopback address and textual-serve has no authentication: anyone "
                           f"who reaches port {port} could launch, cancel and delete runs. Forward the port over SSH "
                           "instead (ssh -L 8000:localhost:8000 HOST), or pass --public-unauthenticated to accept that")
    try:
        from textual_serve.server import Server
    except ImportError as e:
        raise ServeUnavailable("xlqa serve needs textual-serve: pip install 'xlqa[web]' (or pip install textual-serve)") from e
    Server(app_command(db_url), host=host, port=port, title="xlqa", public_url=public_url).serve()
