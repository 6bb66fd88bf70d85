"""`xlqa serve` in a real headless browser: Debian's chromium, driven over its DevTools protocol (raw CDP on
aiohttp's websocket client), loads the served dashboard; the test reads the terminal xterm.js draws in the page,
presses keys in it and keeps screenshots. Without chromium it skips; CI sets XLQA_REQUIRE_BROWSER=1
(.ci/chromium.sh) so that it fails instead."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.tui_fixtures import filled_store

# xterm.js keeps no global handle on its Terminal: catch each one as its constructor assigns _addonManager, so
# the test reads the text the browser's terminal holds (the public buffer API), not the bytes sent to it
CATCH_TERMINALS = """
Object.defineProperty(Object.prototype, "_addonManager", {configurable: true, set(value) {
  Object.defineProperty(this, "_addonManager", {value, writable: true, configurable: true});
  (window.__xlqaTerminals = window.__xlqaTerminals || []).push(this);
}});
"""
SCREEN_TEXT = """(() => {
  const t = (window.__xlqaTerminals || [])[0];
  if (!t) return "";
  const b = t.buffer.active, lines = [];
  for (let i = 0; i < t.rows; i++) { const l = b.getLine(b.viewportY + i); lines.push(l ? l.translateToString(true) : ""); }
  return lines.join("\\n");
})()"""
KEYS = {"down": ("ArrowDown", 40, ""), "enter": ("Enter", 13, "\r")}


def browser() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if found:
        return found
    if os.environ.get("XLQA_REQUIRE_BROWSER"):
        pytest.fail("XLQA_REQUIRE_BROWSER is set and no chromium is on PATH (.ci/chromium.sh installs Debian's)")
    pytest.skip("no chromium on PATH: apt-get install chromium runs the browser test")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, what: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            found = predicate()
        except OSError:
            found = None
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.05)


def http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.status == 200


class Cdp:
    """The few DevTools calls the test makes, on one page target; events are read past and dropped."""

    def __init__(self, ws):
        self.ws, self.last_id = ws, 0

    async def call(self, method: str, **params):
        self.last_id += 1
        await self.ws.send_json({"id": self.last_id, "method": method, "params": params})
        async for msg in self.ws:
            data = json.loads(msg.data)
            if data.get("id") == self.last_id:
                if "error" in data:
                    raise AssertionError(f"{method}: {data['error']}")
                return data["result"]
        raise AssertionError(f"the browser closed the DevTools socket during {method}")

    async def screen(self) -> str:
        return (await self.call("Runtime.evaluate", expression=SCREEN_TEXT, returnByValue=True))["result"]["value"]

    async def until_screen(self, needle: str, what: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            text = await self.screen()
            if needle in text:
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; the browser shows:\n{text}")
            await asyncio.sleep(0.05)

    async def press(self, key: str) -> None:
        name, code, text = KEYS[key]
        for kind in ("keyDown", "keyUp"):
            await self.call("Input.dispatchKeyEvent", type=kind, key=name, code=name, windowsVirtualKeyCode=code,
                            **({"text": text} if text and kind == "keyDown" else {}))

    async def screenshot(self, path: Path) -> Path:
        path.write_bytes(base64.b64decode((await self.call("Page.captureScreenshot", format="png"))["data"]))
        return path


def keep(path: Path) -> None:
    """Print where a screenshot is; with XLQA_TEST_ARTIFACTS, copy it there too (CI keeps that folder)."""
    print(f"screenshot: {path}")
    if os.environ.get("XLQA_TEST_ARTIFACTS"):
        out = Path(os.environ["XLQA_TEST_ARTIFACTS"])
        out.mkdir(parents=True, exist_ok=True)
        print(f"screenshot: {shutil.copy(path, out / path.name)}")


@pytest.fixture
def served(tmp_path):
    """`xlqa serve` on a free loopback port over a filled store, as a user starts it; its URL."""
    pytest.importorskip("textual_serve", reason="xlqa serve needs textual-serve (pip install 'xlqa[web]')")
    db = tmp_path / "xlqa.db"
    filled_store(f"sqlite:///{db}")
    port = free_port()
    log = open(tmp_path / "serve.log", "w")
    server = subprocess.Popen([sys.executable, "-m", "xlqa_tui.launch", "serve", "--port", str(port), "--db", str(db)],
                              stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: server.poll() is not None or http_ok(url), "xlqa serve to answer")
        assert server.poll() is None, (tmp_path / "serve.log").read_text()
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


@pytest.fixture
def chromium(tmp_path):
    """Headless chromium with DevTools on a port it picks (written to DevToolsActivePort); the port."""
    exe = browser()
    profile = tmp_path / "profile"
    proc = subprocess.Popen([exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                             "--remote-debugging-port=0", f"--user-data-dir={profile}", "--window-size=1280,800",
                             "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        active = profile / "DevToolsActivePort"
        port = wait_until(lambda: active.exists() and active.read_text().split("\n")[0], "chromium's DevTools port")
        yield int(port)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.slow
async def test_the_served_dashboard_renders_runs_and_a_key_opens_one(served, chromium, tmp_path):
    import aiohttp
    with urllib.request.urlopen(f"http://127.0.0.1:{chromium}/json/list", timeout=10) as r:
        page = next(t for t in json.load(r) if t["type"] == "page")
    async with aiohttp.ClientSession() as http, http.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0) as ws:
        cdp = Cdp(ws)
        await cdp.call("Page.enable")
        await cdp.call("Page.addScriptToEvaluateOnNewDocument", source=CATCH_TERMINALS)
        await cdp.call("Page.navigate", url=served)
        runs = await cdp.until_screen("paper-xquad", "the runs page in the browser")
        assert "xlqa · runs" in runs and "sweep-T3" in runs and "runs 1–4 of 4" in runs
        keep(await cdp.screenshot(tmp_path / "serve_runs.png"))
        # the newest run is highlighted first: two rows down is run 2, the distillation; enter opens it
        await cdp.call("Runtime.evaluate", expression="window.__xlqaTerminals[0].focus()")
        for key in ("down", "down", "enter"):
            await cdp.press(key)
        detail = await cdp.until_screen("run 2 · distill · done", "run 2's detail after down, down, enter")
        detail = await cdp.until_screen("best dev G-XLT F1 44.25", "run 2's summary and curves")
        assert "xlqa · run 2" in detail and "1 curves" in detail and "nothing logged" not in detail
        keep(await cdp.screenshot(tmp_path / "serve_run_detail.png"))


def test_a_public_host_is_refused_without_the_flag_that_names_the_risk(monkeypatch):
    from click.testing import CliRunner

    from xlqa_tui.launch import main
    try:  # should the check let it through, fail at once instead of serving until the test times out
        monkeypatch.setattr("textual_serve.server.Server.serve", lambda *a, **k: pytest.fail("served a public host"))
    except ImportError:
        pass
    out = CliRunner().invoke(main, ["serve", "--host", "0.0.0.0", "--port", "8765"])
    assert out.exit_code == 2 and "--public-unauthenticated" in out.output and "no authentication" in out.output


def test_loopback_hosts():
    from xlqa_tui.serve import is_loopback
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost") and is_loopback("127.1.2.3")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4") and not is_loopback("::")


def test_a_piped_stdout_prints_the_table_unless_a_textual_driver_is_named(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from xlqa_tui.app import XlqaApp
    from xlqa_tui.launch import main
    db = tmp_path / "x.db"
    filled_store(f"sqlite:///{db}")
    opened = []
    monkeypatch.setattr(XlqaApp, "run", lambda app: opened.append(app))
    monkeypatch.delenv("TEXTUAL_DRIVER", raising=False)
    piped = CliRunner().invoke(main, ["--db", str(db)])
    assert piped.exit_code == 0 and "paper-xquad" in piped.output and not opened
    served = CliRunner().invoke(main, ["--db", str(db)], env={"TEXTUAL_DRIVER": "textual.drivers.web_driver:WebDriver"})
    assert served.exit_code == 0 and "paper-xquad" not in served.output and len(opened) == 1
