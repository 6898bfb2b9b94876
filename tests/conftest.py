"""Shared fixtures: plugin distributions on ``sys.path``, a real ``mlflow server``."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest


def write_plugin_dist(root: Path, dist: str, module: str, source: str, entry_name: str | None = None) -> Path:
    """A minimal installed distribution: ``<dist>-1.0.dist-info`` with a ``tfexp`` entry
    point, plus ``<module>.py`` — what pip would leave in site-packages."""
    root.mkdir(parents=True, exist_ok=True)
    info = root / f"{dist}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[tfexp]\n{entry_name or module} = {module}\n")
    (root / f"{module}.py").write_text(textwrap.dedent(source))
    return root


@pytest.fixture(autouse=True)
def restore_environ():
    """Undo what a test's run exported (``strategy.cluster`` writes ``$TF_CONFIG``, which
    would make every later run in this process a non-chief worker that tracks nothing)."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def plugin_dist(tmp_path, monkeypatch):
    """``plugin_dist(dist, module, source)`` installs a plugin for this test only."""
    site = tmp_path / "site"

    def install(dist: str, module: str, source: str, entry_name: str | None = None) -> Path:
        write_plugin_dist(site, dist, module, source, entry_name)
        monkeypatch.syspath_prepend(str(site))
        return site

    return install


def free_ports(count: int) -> list[int]:
    """Ports on 127.0.0.1 that nothing listens on (held together, so they differ)."""
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def spawn_tfexp(args: list[str], cwd, tf_config: dict | None = None) -> subprocess.Popen:
    """``python -m tfexp args`` in ``cwd`` as a separate process (a worker of a cluster when
    ``tf_config`` is given), with no MLflow URI or TF_CONFIG inherited; output in ``stdout``."""
    import json

    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "TF_CONFIG")}
    env |= {"TF_CPP_MIN_LOG_LEVEL": "2", **({"TF_CONFIG": json.dumps(tf_config)} if tf_config else {})}
    return subprocess.Popen([sys.executable, "-m", "tfexp", *args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def outputs_of(procs: list[subprocess.Popen], timeout: float = 900) -> list[str]:
    """Each process's output once all have ended (any still running after ``timeout`` is killed)."""
    try:
        return [p.communicate(timeout=timeout)[0] for p in procs]
    finally:
        for p in procs:
            p.kill()


class MlflowServer:
    """A real ``mlflow server`` on 127.0.0.1 with a temporary sqlite backend; can be
    stopped and started again on the same port (to test a lost server)."""

    def __init__(self, root: Path):
        self.root = root
        (self.port,) = free_ports(1)
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = None

    def start(self, timeout: float = 90) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1",
             "--backend-store-uri", f"sqlite:///{self.root / 'server.db'}", "--artifacts-destination", str(self.root / "artifacts")],
            stdout=subprocess.DEVNULL, stderr=(self.root / "server.log").open("a"),
        )
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"{self.url}/health", timeout=2).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    pytest.fail((self.root / "server.log").read_text()[-3000:])
                time.sleep(0.5)
        self.stop()
        pytest.fail(f"mlflow server did not start in {timeout} s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory):
    server = MlflowServer(tmp_path_factory.mktemp("server"))
    server.start()
    yield server
    server.stop()
