"""Regenerate docs/img/sweep.png: a real tfexp sweep, as the MLflow UI shows it.

    apt-get install -y chromium          # once; Debian's headless-capable browser
    python docs/screenshot.py            # or: python docs/screenshot.py --out /tmp/sweep.png

In a temporary directory it starts a local ``mlflow server`` (sqlite store), runs a 2x2
sweep (model=mlp,cnn x seed=1,2, three fast epochs) against it, and photographs the
experiment's runs table with headless Chromium: the sweep's parent run expanded over its
four child runs, with the model, seed and accuracy columns. Takes a few minutes on 2 cores.

Needs only the tfexp environment and Chromium: Chromium is driven over its DevTools
protocol with aiohttp, which MLflow already depends on. A plain ``chromium --screenshot``
is not enough: the UI opens on its GenAI overview with an assistant panel and the parent
run collapsed, and the view we want lives in the browser's localStorage, which only a
driven browser can set.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

try:
    import aiohttp
except ImportError:
    sys.exit("docs/screenshot.py needs aiohttp (installed with mlflow): pip install aiohttp")

EXPERIMENT = "sweep-demo"
SWEEP = ["model=mlp,cnn", "seed=1,2", "debug=fast", "debug.trainer.epochs=3", "tracking.log_model=false"]
COLUMNS = ["params.`model.name`", "params.`seed`", "metrics.`val_accuracy`", "metrics.`test_accuracy`",
           "metrics.`best_objective`"]
WIDTH, HEIGHT = 1600, 540  # the five-row table; a taller page is mostly blank
SERVER_START_TIMEOUT_S = 300  # over two minutes were seen on a busy 2-core machine
PAGE_TIMEOUT_S = 120
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    # without these Chromium's own background connections are refused by a closed network
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    f"--window-size={WIDTH},{HEIGHT}", "--remote-debugging-port=0",
]


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


def run_sweep(workdir: Path, uri: str) -> None:
    log = workdir / "sweep.log"
    command = ["nice", "-n", "10", sys.executable, "-m", "tfexp", "-m", *SWEEP,
               f"tracking.uri={uri}", f"tracking.experiment_name={EXPERIMENT}"]
    print("running:", " ".join(command), flush=True)
    with open(log, "w") as out:
        code = subprocess.call(command, cwd=workdir, stdout=out, stderr=subprocess.STDOUT)
    if code != 0:
        raise SystemExit(f"the sweep failed with exit code {code}:\n{tail(log)}")


def find_sweep(uri: str) -> tuple[str, str, int]:
    """The experiment id, the sweep's parent run id and its number of child runs."""
    from mlflow import MlflowClient

    client = MlflowClient(uri)
    experiment_id = client.get_experiment_by_name(EXPERIMENT).experiment_id
    parents = client.search_runs([experiment_id], "tags.`tfexp.sweep` = 'parent'")
    if len(parents) != 1:
        raise SystemExit(f"expected one sweep parent run in {EXPERIMENT!r}, found {len(parents)}")
    parent_id = parents[0].info.run_id
    children = client.search_runs([experiment_id], f"tags.`mlflow.parentRunId` = '{parent_id}'")
    return experiment_id, parent_id, len(children)


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


async def photograph(chromium: str, uri: str, experiment_id: str, parent_id: str, children: int, out: Path,
                     profile: Path) -> None:
    """Opens the runs table, sets the view (columns, expanded parent, no assistant), saves a PNG."""
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
                await devtools.call("Page.navigate",
                                    url=f"{uri}/#/experiments/{experiment_id}/runs?workflowType=machine_learning")
                state_key = f'MLflowLocalStorage-1.1-ExperimentPage-["{experiment_id}"]-ReactComponentState'
                await devtools.wait_for(f"localStorage.getItem({json.dumps(state_key)}) !== null",
                                        "the runs table (its saved state never appeared)")
                widths = {"attributes.`Run Name`": 280, **{column: 140 for column in COLUMNS}}
                order = ["attributes.`Run Name`", "runDateAndNestInfo", "duration", *COLUMNS]
                view = {"selectedColumns": COLUMNS, "runsExpanded": {parent_id: True},
                        "columnOrder": order, "columnWidths": widths}  # the UI applies widths only with an order
                await devtools.evaluate(f"""
                    const key = {json.dumps(state_key)};
                    const state = JSON.parse(localStorage.getItem(key));
                    localStorage.setItem(key, JSON.stringify(Object.assign(state, {json.dumps(view)})));
                    localStorage.setItem('mlflow.assistant.panelOpen_v1', 'false');
                """)
                await devtools.call("Page.reload")
                await devtools.wait_for(f"document.querySelectorAll('.ag-center-cols-container .ag-row').length"
                                        f" === {children + 1}", f"the parent run and its {children} children")
                await devtools.wait_for("document.body.innerText.includes('val_accuracy')", "the metric columns")
                await asyncio.sleep(2)  # let icons and fonts settle
                shot = await devtools.call("Page.captureScreenshot", format="png")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(base64.b64decode(shot["data"]))
    finally:
        stop(browser)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "img" / "sweep.png",
                        help="where to write the PNG (default: docs/img/sweep.png)")
    out = parser.parse_args().out.resolve()
    chromium = shutil.which("chromium")
    if chromium is None:  # fail before minutes of training, not after
        raise SystemExit("chromium not found: install it with `apt-get install -y chromium`")
    with tempfile.TemporaryDirectory(prefix="tfexp-screenshot-") as tmp:
        workdir = Path(tmp)
        with mlflow_server(workdir) as uri:
            run_sweep(workdir, uri)
            experiment_id, parent_id, children = find_sweep(uri)
            asyncio.run(photograph(chromium, uri, experiment_id, parent_id, children, out, workdir / "chromium-profile"))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
