"""Regenerate docs/img/: a real tfexp run and sweep, as a plain browser shows their printed links.

    apt-get install -y chromium          # once; Debian's headless-capable browser
    python docs/screenshot.py            # or: python docs/screenshot.py --out /tmp/img

In a temporary directory it starts a local ``mlflow server`` (sqlite store), runs
``python -m tfexp`` (three short epochs) and a 2x2 sweep (model=mlp,cnn x seed=1,2) against it,
and opens the links they print in headless Chromium with a fresh profile, exactly as a user
who clicks them: nothing is written into the browser's storage, and the only input is a
click on the "Model metrics" tab. It checks that each link opens MLflow's model-training
view (not its GenAI view) and writes:

- ``run.png``: the run's page (the printed link): its metrics, params, dataset and model;
- ``run_charts.png``: its "Model metrics" tab, the training curves;
- ``sweep.png``: the sweep's parent run (the link in the sweep's final block): the
  description with the job table and the best job, the swept space, the aggregates.

Takes a few minutes on 2 cores. Needs only the tfexp environment and Chromium, driven over
its DevTools protocol with aiohttp (which MLflow already depends on).
``tests/test_ui_links.py`` uses the same functions to check a printed link in the slow suite.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

try:
    import aiohttp
except ImportError:
    sys.exit("docs/screenshot.py needs aiohttp (installed with mlflow): pip install aiohttp")

RUN = ["debug=fast", "debug.trainer.epochs=3", "debug.trainer.steps_per_epoch=20"]
SWEEP = ["-m", "model=mlp,cnn", "seed=1,2", "debug=fast", "debug.trainer.epochs=3", "tracking.log_model=false"]
WIDTH, HEIGHT = 1600, 1000
SERVER_START_TIMEOUT_S = 300  # over two minutes were seen on a busy 2-core machine
PAGE_TIMEOUT_S = 120
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    # without these Chromium's own background connections are refused by a closed network
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    f"--window-size={WIDTH},{HEIGHT}", "--remote-debugging-port=0",
]
TRAINING_VIEW_ONLY, GENAI_VIEW_ONLY = "Model registry", "Prompts & versions"
"""Sidebar entries that only MLflow 3's model-training view, or only its GenAI view, shows."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


def stop(proc: subprocess.Popen) -> None:
    """Ends a process started in its own session, with the workers it spawned."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@contextmanager
def mlflow_server(workdir: Path):
    """A local tracking server on a free port; yields its URL once /health answers."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = workdir / "server.log"
    command = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
               "--workers", "1", "--backend-store-uri", f"sqlite:///{workdir / 'mlflow.db'}",
               "--artifacts-destination", str(workdir / "artifacts")]
    with open(log, "w") as out:
        proc = subprocess.Popen(command, cwd=workdir, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"mlflow server exited with code {proc.returncode}:\n{tail(log)}")
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"mlflow server did not answer {url}/health in {SERVER_START_TIMEOUT_S} s:\n{tail(log)}")
            time.sleep(2)
        print(f"mlflow server up at {url}", flush=True)
        yield url
    finally:
        stop(proc)


def run_tfexp(workdir: Path, args: list[str]) -> str:
    """``python -m tfexp *args`` in ``workdir``; the MLflow link its final lines print."""
    log = workdir / "tfexp.log"
    command = ["nice", "-n", "10", sys.executable, "-m", "tfexp", *args]
    print("running:", " ".join(command), flush=True)
    with open(log, "w") as out:
        code = subprocess.call(command, cwd=workdir, stdout=out, stderr=subprocess.STDOUT)
    if code != 0:
        raise SystemExit(f"tfexp failed with exit code {code}:\n{tail(log)}")
    links = re.findall(r"(https?://\S+/#/experiments/\S+)", log.read_text())
    if not links:
        raise SystemExit(f"tfexp printed no MLflow link:\n{tail(log)}")
    return links[-1]


class DevTools:
    """Just enough of the Chrome DevTools protocol: call a method, evaluate JavaScript."""

    def __init__(self, socket_: aiohttp.ClientWebSocketResponse) -> None:
        self.socket = socket_
        self.last_id = 0

    async def call(self, method: str, **params) -> dict:
        self.last_id += 1
        await self.socket.send_json({"id": self.last_id, "method": method, "params": params})
        while True:  # skip events and stale replies
            message = await self.socket.receive_json()
            if message.get("id") == self.last_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]

    async def evaluate(self, expression: str):
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"JavaScript failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def wait_for(self, expression: str, what: str) -> None:
        deadline = time.monotonic() + PAGE_TIMEOUT_S
        while not await self.evaluate(expression):
            if time.monotonic() > deadline:
                raise SystemExit(f"the MLflow UI did not show {what} within {PAGE_TIMEOUT_S} s")
            await asyncio.sleep(0.5)


@asynccontextmanager
async def browser_page(chromium: str, profile: Path):
    """A page of a fresh headless Chromium (its own empty profile), driven over DevTools."""
    log = profile.parent / "chromium.log"
    with open(log, "w") as err:
        browser = subprocess.Popen([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
                                   stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
    try:
        port_file = profile / "DevToolsActivePort"  # written by --remote-debugging-port=0
        for _ in range(300):
            if port_file.exists() and port_file.read_text().strip():
                break
            if browser.poll() is not None:
                raise SystemExit(f"chromium exited with code {browser.returncode}:\n{tail(log)}")
            await asyncio.sleep(0.2)
        else:
            raise SystemExit(f"chromium opened no DevTools port:\n{tail(log)}")
        devtools_port = port_file.read_text().split()[0]
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{devtools_port}/json/list") as response:
                page = next(t for t in await response.json() if t["type"] == "page")
            async with http.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0) as socket_:
                devtools = DevTools(socket_)
                await devtools.call("Emulation.setDeviceMetricsOverride", width=WIDTH, height=HEIGHT,
                                    deviceScaleFactor=1, mobile=False)
                yield devtools
    finally:
        stop(browser)


async def open_link(devtools: DevTools, link: str, expect: str) -> str:
    """Opens ``link`` as a user's click would, waits until the page shows ``expect`` (a run's
    name), and says which MLflow view it opened: ``model training`` or ``GenAI``."""
    await devtools.call("Page.navigate", url=link)
    await devtools.wait_for(f"document.body && document.body.innerText.includes({json.dumps(expect)})", repr(expect))
    text = await devtools.evaluate("document.body.innerText")
    return "GenAI" if GENAI_VIEW_ONLY in text else "model training" if TRAINING_VIEW_ONLY in text else "unknown"


async def click(devtools: DevTools, selector: str, text: str | None = None) -> None:
    """A real mouse click (pressed and released) on the element ``selector`` matches (the one
    whose text is ``text``, if given), as a user makes it."""
    box = await devtools.evaluate(f"""(() => {{
        const element = [...document.querySelectorAll({json.dumps(selector)})]
            .find(e => {json.dumps(text)} === null || e.innerText.trim() === {json.dumps(text)});
        if (!element) return null;
        const r = element.getBoundingClientRect();
        return [r.x + r.width / 2, r.y + r.height / 2];
    }})()""")
    if box is None:
        raise SystemExit(f"the page has no {selector} {text or ''}")
    for kind in ("mousePressed", "mouseReleased"):
        await devtools.call("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1], button="left", clickCount=1)


async def save_screenshot(devtools: DevTools, out: Path) -> None:
    await devtools.call("Input.dispatchMouseEvent", type="mouseMoved", x=0, y=HEIGHT - 1)  # no hover toolbars
    await asyncio.sleep(2)  # let charts, icons and fonts settle
    shot = await devtools.call("Page.captureScreenshot", format="png")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(base64.b64decode(shot["data"]))
    print(f"wrote {out}", flush=True)


def run_name(uri: str, link: str) -> str:
    """The name of the run a printed link points at (what its page shows as title)."""
    from mlflow import MlflowClient

    run_id = re.search(r"/runs/([0-9a-f]{32})", link).group(1)
    return MlflowClient(uri).get_run(run_id).info.run_name


async def photograph(chromium: str, uri: str, run_link: str, sweep_link: str, out: Path, profile: Path) -> None:
    async with browser_page(chromium, profile) as devtools:
        for link, name in ((run_link, "run.png"), (sweep_link, "sweep.png")):
            view = await open_link(devtools, link, run_name(uri, link))
            if view != "model training":
                raise SystemExit(f"{link} opened MLflow's {view} view, not its model-training view")
            if name == "run.png":  # MLflow opens its assistant on a first visit: close it, as a user would
                await click(devtools, "button[aria-label=Close]")
            await save_screenshot(devtools, out / name)
            if name == "run.png":
                await click(devtools, "[role=tab]", "Model metrics")
                await devtools.wait_for("document.querySelectorAll('.js-plotly-plot .scatterlayer .trace').length >= 6",
                                        "the training curves")
                await save_screenshot(devtools, out / "run_charts.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "img",
                        help="the folder to write the PNGs to (default: docs/img)")
    out = parser.parse_args().out.resolve()
    chromium = shutil.which("chromium")
    if chromium is None:  # fail before minutes of training, not after
        raise SystemExit("chromium not found: install it with `apt-get install -y chromium`")
    with tempfile.TemporaryDirectory(prefix="tfexp-screenshot-") as tmp:
        workdir = Path(tmp)
        with mlflow_server(workdir) as uri:
            run_link = run_tfexp(workdir, [*RUN, f"tracking.uri={uri}"])
            sweep_link = run_tfexp(workdir, [*SWEEP, f"tracking.uri={uri}"])
            asyncio.run(photograph(chromium, uri, run_link, sweep_link, out, workdir / "chromium-profile"))


if __name__ == "__main__":
    main()
