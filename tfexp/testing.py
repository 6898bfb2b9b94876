"""Test helpers for tfexp and for plugin authors (also a pytest plugin: ``tfexp_env``).

- :func:`compose` composes tfexp's config with overrides, as the CLI would;
- :func:`run_cli` runs ``python -m tfexp ...`` in a subprocess, in a directory of yours;
- :func:`tiny_run` runs an experiment in this process with the plugins you give;
  :func:`resume_run` continues one from its checkpoint (``resume=``), in this process too;
- :func:`mlflow_runs` reads back the runs of an embedded store, newest first;
- :class:`RecordingTracker` is a tracker that records every call it gets, in order;
  :class:`FailsAfterFit` makes a run fail once it has trained (a tracker's failure path).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterable, NamedTuple

import pytest

from tfexp import hookimpl
from tfexp.config import compose

__all__ = ["compose", "mlflow_runs", "artifact_paths", "run_cli", "store_uri", "tiny_run", "resume_run", "tfexp_env", "RecordingTracker", "FailsAfterFit"]

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


class Call(NamedTuple):
    hook: str
    """The hook's name without ``tfexp_`` (``log_params``, ``sweep_end``)."""
    args: dict[str, Any]


class RecordingTracker:
    """A tracker that records every call of the hooks a tracker implements, in order: the run
    opening and ending, the tracking sink, the sweep hooks. Pass it to :func:`tiny_run` (or
    register it) and assert on what a tracker would have received::

        tracker = RecordingTracker()
        tiny_run(tmp_path, plugins=[tracker])
        assert tracker.params["model.name"] == "mlp" and tracker.hooks()[0] == "before_run"
    """

    def __init__(self) -> None:
        self.calls: list[Call] = []

    def _record(self, hook: str, **args: Any) -> None:
        self.calls.append(Call(hook, args))

    def hooks(self) -> list[str]:
        """The hooks called, in order."""
        return [call.hook for call in self.calls]

    def of(self, hook: str) -> list[dict[str, Any]]:
        """The arguments of every call of ``hook``, in order."""
        return [call.args for call in self.calls if call.hook == hook]

    @property
    def params(self) -> dict[str, Any]:
        return {k: v for args in self.of("log_params") for k, v in args["params"].items()}

    @property
    def tags(self) -> dict[str, str]:
        return {k: v for args in self.of("set_tags") for k, v in args["tags"].items()}

    def metric(self, name: str) -> list[tuple[int, float]]:
        """``(step, value)`` of every value logged for ``name``."""
        return [(args["step"], args["metrics"][name]) for args in self.of("log_metrics") if name in args["metrics"]]

    @hookimpl
    def tfexp_before_run(self, run):
        self._record("before_run", run=run)

    @hookimpl
    def tfexp_log_params(self, run, params):
        self._record("log_params", run=run, params=dict(params))

    @hookimpl
    def tfexp_set_tags(self, run, tags):
        self._record("set_tags", run=run, tags=dict(tags))

    @hookimpl
    def tfexp_log_metrics(self, run, metrics, step):
        self._record("log_metrics", run=run, metrics=dict(metrics), step=step)

    @hookimpl
    def tfexp_log_artifact(self, run, path, artifact_path):
        self._record("log_artifact", run=run, path=path, artifact_path=artifact_path)

    @hookimpl
    def tfexp_log_model(self, run, model, name):
        self._record("log_model", run=run, model=model, name=name)

    @hookimpl
    def tfexp_log_model_file(self, run, path, name):
        self._record("log_model_file", run=run, path=path, name=name)

    @hookimpl
    def tfexp_flush_tracking(self, run):
        self._record("flush_tracking", run=run)

    @hookimpl
    def tfexp_on_checkpoint_restored(self, run, epoch):
        self._record("on_checkpoint_restored", run=run, epoch=epoch)

    @hookimpl
    def tfexp_on_run_error(self, run, error):
        self._record("on_run_error", run=run, error=error)

    @hookimpl
    def tfexp_after_run(self, run, status):
        self._record("after_run", run=run, status=status)

    @hookimpl
    def tfexp_sweep_start(self, sweep):
        self._record("sweep_start", sweep=sweep)

    @hookimpl
    def tfexp_sweep_job_end(self, sweep, job):
        self._record("sweep_job_end", sweep=sweep, job=job)

    @hookimpl
    def tfexp_sweep_end(self, sweep, summary):
        self._record("sweep_end", sweep=sweep, summary=summary)


class FailsAfterFit:
    """A plugin that raises ``error`` in ``tfexp_after_fit``: the run FAILS after its epochs
    were logged, as a tracker must handle it."""

    def __init__(self, error: BaseException | None = None):
        self.error = error or RuntimeError("broken after fit")

    @hookimpl
    def tfexp_after_fit(self, run, model, history):
        raise self.error
