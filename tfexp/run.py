"""One run's state and its tracking sink: everything logged goes through the hooks."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from tfexp.registry import Registry


@dataclass
class Run:
    """What plugins see of the run in progress.

    Log through the methods here, never to MLflow or TensorBoard directly: trackers
    are plugins, and a run without them (``tracking=none``) must still work.
    """

    cfg: DictConfig
    output_dir: Path
    plugin_manager: Any
    registry: Registry
    strategy: Any = None
    data: Any = None
    """The run's :class:`tfexp.data.Data` (set after ``tfexp_build_data``)."""
    model: Any = None
    history: dict[str, list[float]] = field(default_factory=dict)
    test_metrics: dict[str, float] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    """Free-form facts plugins share (e.g. ``prediction_params``)."""
    tracker_refs: dict[str, str] = field(default_factory=dict)
    """Tracker name -> this run in that tracker (MLflow: its run id), set by the tracker: a
    sweep lists it per job, and ``resume=`` hands it back to reopen the same tracker run."""
    summary: list[str] = field(default_factory=list)
    """Lines printed when the run ends (trackers add where to look)."""
    overrides: list[str] = field(default_factory=list)
    """The command-line overrides that made this run (in a sweep: the swept values)."""
    initial_epoch: int = 0
    """Where training (re)starts: > 0 after ``resume=`` or a NaN recovery."""
    restored_metrics: dict[str, float] = field(default_factory=dict)
    """The epoch metrics of the weights early stopping restored (its best epoch's), read
    by :meth:`metric` before the last epoch's."""
    subject: dict[str, str] = field(default_factory=dict)
    """What is trained on what, for run names, tags and the summary: ``model`` and ``data``,
    unless the technique has a ``subject`` of its own (RL: ``agent`` and ``env``)."""

    @property
    def objective(self) -> float:
        """``sweep.objective`` (see :meth:`metric`)."""
        return self.metric(self.cfg.sweep.objective)

    def metric(self, name: str) -> float:
        """A test metric, else an epoch metric's value for the weights the run kept (the
        best epoch's after early stopping restored it, otherwise the last), or ``model.params`` (the
        model's parameter count: a size objective for multi-objective sweeps); NaN when absent."""
        if name == "model.params":
            return float(self.model.count_params()) if self.model is not None else float("nan")
        if name in self.test_metrics:
            return self.test_metrics[name]
        if name in self.restored_metrics:
            return self.restored_metrics[name]
        return self.history[name][-1] if self.history.get(name) else float("nan")

    def final_metrics(self) -> dict[str, float]:
        """Every metric's final value (:meth:`metric`): what a sweep's job table reports."""
        return {name: self.metric(name) for name in sorted({*self.history, *self.test_metrics})}

    def dataset(self, split: str, *, training: bool = False, data: Any = None, batch_size: int | None = None, **kwargs: Any):
        """A split of ``data`` (default: the run's) as batches, with the run's batch size,
        seed and ``pipeline`` policy; keyword arguments go to ``Data.dataset``."""
        data = data or self.data
        return data.dataset(
            split, batch_size=batch_size or self.cfg.trainer.batch_size, training=training,
            seed=self.cfg.seed, pipeline=self.pipeline, **kwargs,
        )

    @property
    def pipeline(self):
        """The ``pipeline`` config as a :class:`tfexp.data.Pipeline`."""
        from omegaconf import OmegaConf

        from tfexp.data import Pipeline

        return Pipeline(**OmegaConf.to_container(self.cfg.pipeline)) if "pipeline" in self.cfg else Pipeline()

    @property
    def hook(self):
        """``pm.hook``: call any hook, e.g. ``run.hook.tfexp_on_epoch_end(...)``."""
        return self.plugin_manager.hook

    def log_params(self, params: dict[str, Any]) -> None:
        self.hook.tfexp_log_params(run=self, params=params)

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        self.hook.tfexp_log_metrics(run=self, metrics=metrics, step=step)

    def set_tags(self, tags: dict[str, str]) -> None:
        self.hook.tfexp_set_tags(run=self, tags=tags)

    def log_artifact(self, path: str | Path, artifact_path: str | None = None) -> None:
        self.hook.tfexp_log_artifact(run=self, path=str(path), artifact_path=artifact_path)

    def log_model(self, model: Any, name: str = "model") -> None:
        self.hook.tfexp_log_model(run=self, model=model, name=name)

    def log_model_file(self, path: str | Path, name: str = "model") -> None:
        self.hook.tfexp_log_model_file(run=self, path=str(path), name=name)

    def log_figure(self, figure: Any, filename: str) -> Path:
        """Save a matplotlib figure under ``<output_dir>/plots`` and log it at the artifact
        root, where a compare view finds the same file in every run."""
        import matplotlib.pyplot as plt

        path = self.output_dir / "plots" / filename
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=100, bbox_inches="tight")
        plt.close(figure)
        self.log_artifact(path)
        return path

    def log_table(self, rows: list[dict[str, Any]], filename: str) -> Path:
        """Save ``rows`` (one dict per row, same keys) as CSV under ``<output_dir>/tables``
        and log it at the artifact root (the MLflow UI shows a ``.csv`` as a table)."""
        import csv

        path = self.output_dir / "tables" / filename
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        self.log_artifact(path)
        return path

    def compile_kwargs(self, spec: Any = None) -> dict[str, Any]:
        """What the run's model is compiled with (the ``trainer`` optimizer, a loss and
        metrics for the task of ``spec``, default the run's data), for a technique's other
        models: a teacher, a baseline, a wrapper such as the Distiller."""
        from tfexp.defaults import compile_kwargs_for

        return compile_kwargs_for(self, spec or self.data.spec)

    def fit(self, model: Any, **stage: Any) -> dict[str, list[float]]:
        """Train one stage through the core (checkpoints, resume, SIGTERM, NaN recovery,
        metrics): see :func:`tfexp.stages.fit`."""
        from tfexp.stages import fit

        return fit(self, model, **stage)

    def stage_epochs(self, train: Any = None, steps_per_epoch: int | None = None) -> int:
        """The epochs a stage on ``train`` trains (``trainer.epochs`` or ``trainer.steps``):
        see :func:`tfexp.stages.stage_epochs`."""
        from tfexp.stages import stage_epochs

        return stage_epochs(self, train, steps_per_epoch)

    def evaluate(self, model: Any, split: str = "test", **kwargs: Any) -> dict[str, float]:
        """Evaluate on a split, logged under ``prefix``: see :func:`tfexp.stages.evaluate`."""
        from tfexp.stages import evaluate

        return evaluate(self, model, split, **kwargs)

    def epoch_end(self, epoch: int, logs: dict[str, Any], prefix: str = "") -> None:
        """Record one epoch's metrics (history + trackers) and fire ``tfexp_on_epoch_end``."""
        values = {f"{prefix}{k}": float(v) for k, v in logs.items()}
        for key, value in values.items():
            self.history.setdefault(key, []).append(value)
        self.log_metrics(values, step=epoch)
        self.hook.tfexp_on_epoch_end(run=self, epoch=epoch, logs=values)
