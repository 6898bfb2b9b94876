"""What the sweep hooks hand a tracker: the sweep, one finished job, the sweep's summary.

The core builds these from Hydra's multirun and from what each job returned; trackers only
record them (docs/plugins.md, "Sweep hooks"). They hold no tracker's knowledge: a tracker
keeps its own references in :attr:`Sweep.refs` and reads a job's run in :attr:`SweepJob.run_refs`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from omegaconf import DictConfig

FINISHED, FAILED, PRUNED = "FINISHED", "FAILED", "PRUNED"


@dataclass
class Sweep:
    """One multirun (a Hydra ``-m`` command).

    The same sweep is seen in every job's process (:func:`tfexp.sweep.current_sweep`), with
    ``cfg`` None there: a job has its own config."""

    directory: Path
    """``hydra.sweep.dir``: job directories ``0/``, ``1/``, ... and ``summary/``."""
    name: str
    """``sweep: model, seed (4 jobs)``, or ``tracking.run_name`` when set."""
    space: dict[str, str]
    """Swept key -> its values as written (``{"model": "mlp,cnn", "seed": "1,2"}``)."""
    overrides: list[str]
    """The command's overrides, secrets masked."""
    n_jobs: int | None
    """How many jobs it runs, when known up front (a grid, Optuna's ``n_trials``)."""
    objective: str
    """``sweep.objective``: the metric every job returns."""
    direction: str
    """``maximize`` or ``minimize``."""
    key: str
    """Identifies the sweep across reruns (the same command, the same Optuna study)."""
    resume: bool
    """A rerun continues it: trackers reopen their record of it and fill :attr:`finished`."""
    cfg: DictConfig | None = None
    """The multirun's config (``hydra`` node included); None in a job's process."""
    refs: dict[str, str] = field(default_factory=dict)
    """Tracker name -> its reference to the sweep (MLflow: the parent run id). Set in
    ``tfexp_sweep_start``; every job's process sees it, so a job's run can join the sweep."""
    finished: dict[str, SweepJob] = field(default_factory=dict)
    """Job key (:meth:`job_key`) -> that job's FINISHED result from an earlier run of this sweep.
    A tracker that resumes sweeps fills it in ``tfexp_sweep_start``; those jobs are not trained again."""

    def job_key(self, overrides: dict[str, str]) -> str:
        """A job's identity within the sweep: its overrides, sorted, without ``sweep.resume``."""
        return " ".join(f"{k}={v}" for k, v in sorted(overrides.items()) if k != "sweep.resume")

    def label(self, overrides: dict[str, str]) -> str:
        """``model=cnn seed=2``: a job's values of the swept keys (its run's name), plus its
        Optuna trial."""
        shown = [f"{k}={shown_value(v)}" for k, v in overrides.items() if k in self.space]
        trial = [f"(trial {overrides['sweep.trial']})"] if "sweep.trial" in overrides else []
        return " ".join(shown + trial) or " ".join(f"{k}={v}" for k, v in overrides.items()) or "job"

    def to_json(self) -> str:
        """Everything but ``cfg``: what a job's process gets (:func:`tfexp.sweep.current_sweep`)."""
        fields = {k: v for k, v in vars(self).items() if k not in ("cfg", "finished")}
        fields["directory"] = str(self.directory)
        fields["finished"] = {k: job.to_dict() for k, job in self.finished.items()}
        return json.dumps(fields)

    @classmethod
    def from_json(cls, text: str) -> Sweep:
        fields = json.loads(text)
        fields["directory"] = Path(fields["directory"])
        fields["finished"] = {k: SweepJob.from_dict(v) for k, v in fields["finished"].items()}
        return cls(**fields)


def shown_value(value: str) -> str:
    """A float override value with 4 significant digits (Optuna's are full length)."""
    try:
        number = float(value)
    except ValueError:
        return value
    return f"{number:.4g}" if "." in value or "e" in value.lower() else value


@dataclass
class SweepJob:
    """One job of a sweep, as it ended."""

    index: int
    """Hydra's job number (its directory under :attr:`Sweep.directory`)."""
    overrides: dict[str, str]
    """The job's overrides, key -> value, secrets masked."""
    status: str
    """``FINISHED``, ``FAILED`` or ``PRUNED`` (an Optuna pruner stopped it)."""
    objective: str
    """The objective's metric name (``sweep.objective``)."""
    value: float | list[float]
    """The objective's value (NaN when the job has none); one per ``sweep.objectives``."""
    metrics: dict[str, float] = field(default_factory=dict)
    """The run's final metrics (test metrics and each epoch metric's last value)."""
    output_dir: Path | None = None
    """The job's run directory (None when it never started)."""
    duration_s: float = math.nan
    run_refs: dict[str, str] = field(default_factory=dict)
    """Tracker name -> the job's run (MLflow: its run id)."""
    error: str = ""
    """One line: why a FAILED job failed."""

    @property
    def score(self) -> float:
        """The value to rank jobs by (the first objective of several); NaN when none."""
        value = self.value[0] if isinstance(self.value, list) and self.value else self.value
        return float(value) if isinstance(value, (int, float)) else math.nan

    def to_dict(self) -> dict[str, Any]:
        return {**vars(self), "output_dir": str(self.output_dir) if self.output_dir else None}

    @classmethod
    def from_dict(cls, fields: dict[str, Any]) -> SweepJob:
        directory = fields.get("output_dir")
        return cls(**{**fields, "output_dir": Path(directory) if directory else None})


class SeedAggregate(NamedTuple):
    """One configuration's objective over its seeds."""

    mean: float
    std: float
    """Sample standard deviation (0 for one seed)."""
    seeds: int


@dataclass
class SweepSummary:
    """What the core concluded from the jobs; its files are already written."""

    jobs: list[SweepJob]
    columns: list[str]
    """The overrides that differ between jobs: the job table's parameter columns."""
    best: SweepJob | None
    """The best FINISHED job by the objective (None when none finished with a value)."""
    aggregates: dict[str, SeedAggregate] = field(default_factory=dict)
    """Configuration without its seed (``model=cnn``) -> the objective over seeds, when seeds were swept."""
    files: list[Path] = field(default_factory=list)
    """What the core wrote under ``<sweep dir>/summary``: job table (csv, markdown), plot."""
    description: str = ""
    """Markdown: the best job, then the job table and the seed aggregates."""
    tags: dict[str, str] = field(default_factory=dict)
    """Facts for trackers to record as tags on their sweep record (the core: the best job;
    a sweeper: e.g. Optuna's best parameters)."""
    metrics: dict[str, float] = field(default_factory=dict)
    """Values for trackers to record as metrics on their sweep record: ``best_objective``,
    ``jobs_failed``, ``jobs_pruned``, the seed aggregates (:meth:`aggregate_metrics`), a sweeper's own."""
    lines: list[str] = field(default_factory=list)
    """Lines printed after the sweep's result: trackers add where to look (the parent run's link)."""

    @property
    def failed(self) -> list[SweepJob]:
        return [j for j in self.jobs if j.status not in (FINISHED, PRUNED)]

    @property
    def pruned(self) -> list[SweepJob]:
        return [j for j in self.jobs if j.status == PRUNED]

    def aggregate_metrics(self, objective: str) -> dict[str, float]:
        """The seed aggregates as metrics with readable names: ``model:cnn/val_accuracy_mean``,
        ``model:cnn/val_accuracy_std`` (``:`` for ``=``, which MLflow refuses in a metric name)."""
        metrics = {}
        for config, agg in self.aggregates.items():
            name = config.replace("=", ":")
            metrics[f"{name}/{objective}_mean"] = agg.mean
            metrics[f"{name}/{objective}_std"] = agg.std
        return metrics
