"""Test helpers for tfexp and for plugin authors (also a pytest plugin: ``tfexp_env``).

- :func:`compose` composes tfexp's config with overrides, as the CLI would;
- :func:`run_cli` runs ``python -m tfexp ...`` in a subprocess, in a directory of yours;
- :func:`tiny_run` runs an experiment in this process with the plugins you give;
  :func:`resume_run` continues one from its checkpoint (``resume=``), in this process too;
- :func:`mlflow_runs` reads back the runs of an embedded store, newest first.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Iterable

import pytest

from tfexp.config import compose

__all__ = ["compose", "mlflow_runs", "artifact_paths", "run_cli", "store_uri", "tiny_run", "resume_run", "tfexp_env"]

FAST = ("debug=fast",)


def run_cli(args: Iterable[str], cwd: str | Path, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """``python -m tfexp *args`` in ``cwd``; the result has ``stdout``/``stderr`` text."""
    inherited = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    full_env = {**inherited, **(env or {})}  # tfexp quiets TensorFlow itself (tfexp.quiet)
    return subprocess.run(
        [sys.executable, "-m", "tfexp", *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout
    )


def store_uri(directory: str | Path) -> str:
    """The embedded MLflow store a run started in ``directory`` writes to."""
    return f"sqlite:///{Path(directory).resolve() / 'mlflow.db'}"


def mlflow_runs(directory: str | Path, experiment_name: str | None = None) -> list:
    """All runs in ``directory``'s embedded store (optionally one experiment), newest first."""
    from mlflow import MlflowClient

    client = MlflowClient(store_uri(directory))
    experiments = client.search_experiments()
    ids = [e.experiment_id for e in experiments if experiment_name in (None, e.name)]
    return client.search_runs(ids, order_by=["attributes.start_time DESC"]) if ids else []


def artifact_paths(directory: str | Path, run_id: str) -> set[str]:
    """Every file artifact of a run, as paths relative to the run's artifact root."""
    from mlflow import MlflowClient

    client = MlflowClient(store_uri(directory))
    found, stack = set(), [None]
    while stack:
        for item in client.list_artifacts(run_id, stack.pop()):
            (stack.append(item.path) if item.is_dir else found.add(item.path))
    return found


def tiny_run(tmp_path: Path, overrides: Iterable[str] = (), plugins: Iterable = (), load_installed: bool = True):
    """Run ``debug=fast`` plus ``overrides`` in this process with extra ``plugins``.

    Writes into ``tmp_path`` (outputs and the embedded MLflow store) and returns the
    finished :class:`tfexp.run.Run`."""
    from tfexp.plugins import build_plugin_manager
    from tfexp.runner import run_experiment

    cfg = compose([*FAST, f"tracking.uri={store_uri(tmp_path)}", *overrides])
    pm = build_plugin_manager(tuple(plugins), load_installed=load_installed)
    return run_experiment(cfg, tmp_path / "outputs", pm=pm)


def resume_run(tmp_path: Path, run_dir: str | Path, epochs: int | None = None, plugins: Iterable = ()):
    """``python -m tfexp resume=<run_dir> [trainer.epochs=<epochs>]``, in this process
    with extra ``plugins``; returns the finished :class:`tfexp.run.Run`."""
    from tfexp.plugins import build_plugin_manager
    from tfexp.runner import run_experiment

    overrides = [f"resume={run_dir}", *([f"trainer.epochs={epochs}"] if epochs else [])]
    cfg = compose([*FAST, *overrides])
    pm = build_plugin_manager(tuple(plugins), load_installed=True)
    return run_experiment(cfg, tmp_path / "outputs", pm=pm, overrides=overrides)


@pytest.fixture
def tfexp_env(tmp_path, monkeypatch):
    """A temporary working directory with no MLflow URI inherited from the environment."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("TFEXP_DISABLE_PLUGINS", raising=False)
    return tmp_path
