"""The sweep's summary on its parent run: table, best job, seed aggregates, plot."""

from __future__ import annotations

import csv
import math
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

SEED_KEY = "seed"
HIDDEN_KEYS = ("sweep.trial", "sweep.resume")
"""Overrides the sweep machinery adds: the job number already says which trial it is."""


@dataclass
class JobRow:
    job: int
    overrides: dict[str, str]
    """Only the swept keys: those whose value differs between jobs."""
    status: str
    objective: float
    run_id: str

    @property
    def config_key(self) -> str:
        """The job's configuration without its seed: the unit seeds are aggregated over."""
        return " ".join(f"{k}={v}" for k, v in sorted(self.overrides.items()) if k != SEED_KEY) or "(base)"


def keep_swept_keys(rows: list[JobRow]) -> list[JobRow]:
    """Drop overrides every job shares (``debug=fast``): they say nothing about the sweep."""
    keys = {k for r in rows for k in r.overrides}
    swept = {k for k in keys if len({r.overrides.get(k) for r in rows}) > 1}
    for row in rows:
        row.overrides = {k: v for k, v in row.overrides.items() if k in swept}
    return rows


@dataclass
class Summary:
    rows: list[JobRow]
    maximize: bool
    aggregates: dict[str, tuple[float, float, int]] = field(default_factory=dict)
    """config key -> (mean, std, number of seeds)."""
    registered: str = ""
    """``sweep.register_best``: where the best job's model went in the Model Registry."""

    @property
    def failed(self) -> list[JobRow]:
        return [r for r in self.rows if r.status not in ("FINISHED", "PRUNED")]

    @property
    def pruned(self) -> list[JobRow]:
        return [r for r in self.rows if r.status == "PRUNED"]

    @property
    def best(self) -> JobRow | None:
        scored = [r for r in self.rows if r.status == "FINISHED" and not math.isnan(r.objective)]
        if not scored:
            return None
        return (max if self.maximize else min)(scored, key=lambda r: r.objective)

    def describe(self, uri: str, parent_id: str, experiment_id: str) -> str:
        pruned = f", {len(self.pruned)} pruned" if self.pruned else ""
        lines = [f"Sweep finished: {len(self.rows)} jobs, {len(self.failed)} failed{pruned}. Parent MLflow run {parent_id}"]
        if self.best:
            lines.append(f"  best: job #{self.best.job} ({self.best.config_key}) objective={self.best.objective:.4f} run {self.best.run_id}")
        for key, (mean, std, n) in self.aggregates.items():
            lines.append(f"  {key}: {mean:.4f} ± {std:.4f} over {n} seeds")
        if self.registered:
            lines.append(f"  {self.registered}")
        from tfexp_mlflow.links import open_lines, run_link

        lines += [f"  {line}" for line in open_lines(uri, run_link(uri, experiment_id, parent_id))]
        return "\n".join(lines)


def job_rows(client, parent_id: str, sweep_dir: Path) -> list[JobRow]:
    """One row per job: its child run joined with its directory. Either may be missing: a job
    that died before tracking leaves only its directory, and jobs on a Ray cluster write their
    directories on the worker machines. A job run again by a resumed sweep shows its newest
    run; a pruned trial's run (tag ``tfexp.pruned``) is PRUNED."""
    parent = client.get_run(parent_id)
    children = client.search_runs(
        [parent.info.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent_id}'", order_by=["attributes.start_time ASC"]
    )
    by_job = {int(c.data.tags["tfexp.job"]): c for c in children if "tfexp.job" in c.data.tags}
    job_dirs = {int(d.name): d for d in sweep_dir.iterdir() if d.name.isdigit()} if sweep_dir.is_dir() else {}
    rows = []
    for job in sorted(by_job.keys() | job_dirs.keys()):
        child = by_job.get(job)
        overrides_file = job_dirs[job] / ".hydra" / "overrides.yaml" if job in job_dirs else None
        if overrides_file is not None and overrides_file.is_file():
            overrides = yaml.safe_load(overrides_file.read_text()) or []
        else:
            overrides = child.data.tags.get("tfexp.overrides", "").split() if child else []
        pairs = dict(o.lstrip("+~").split("=", 1) for o in overrides if "=" in o)
        pairs = {k: v for k, v in pairs.items() if k not in HIDDEN_KEYS}
        if child is None:
            rows.append(JobRow(job, pairs, "FAILED", math.nan, ""))
        else:
            status = "PRUNED" if "tfexp.pruned" in child.data.tags else child.info.status
            rows.append(JobRow(job, pairs, status, child.data.metrics.get("objective", math.nan), child.info.run_id))
    return keep_swept_keys(rows)


def aggregate_over_seeds(rows: list[JobRow]) -> dict[str, tuple[float, float, int]]:
    """Mean and sample std of the objective per configuration, when seeds were swept."""
    if not any(SEED_KEY in r.overrides for r in rows):
        return {}
    groups: dict[str, list[float]] = {}
    for row in rows:
        if row.status == "FINISHED" and not math.isnan(row.objective):
            groups.setdefault(row.config_key, []).append(row.objective)
    return {k: (statistics.fmean(v), statistics.stdev(v) if len(v) > 1 else 0.0, len(v)) for k, v in groups.items()}


def write_table(rows: list[JobRow], aggregates, out_dir: Path) -> list[Path]:
    keys = sorted({k for r in rows for k in r.overrides})
    header = ["job", *keys, "status", "objective", "run_id"]
    table = [[r.job, *(r.overrides.get(k, "") for k in keys), r.status, f"{r.objective:.6g}", r.run_id] for r in rows]
    csv_path, md_path = out_dir / "sweep_jobs.csv", out_dir / "sweep_summary.md"
    with csv_path.open("w", newline="") as f:
        csv.writer(f).writerows([header, *table])
    md = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    md += ["| " + " | ".join(str(c) for c in row) + " |" for row in table]
    if aggregates:
        md += ["", "| configuration | mean | std | seeds |", "|---|---|---|---|"]
        md += [f"| {k} | {m:.4f} | {s:.4f} | {n} |" for k, (m, s, n) in aggregates.items()]
    md_path.write_text("\n".join(md) + "\n")
    return [csv_path, md_path]


def plot_objective(rows: list[JobRow], objective: str, out_dir: Path) -> Path | None:
    """Objective against each swept parameter (numeric axis when values are numbers)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = sorted({k for r in rows for k in r.overrides})
    scored = [r for r in rows if not math.isnan(r.objective)]
    if not keys or not scored:
        return None
    fig, axes = plt.subplots(1, len(keys), figsize=(4 * len(keys), 3.5), squeeze=False)
    for ax, key in zip(axes[0], keys):
        values = [r.overrides.get(key, "") for r in scored]
        try:
            xs = [float(v) for v in values]
        except ValueError:
            labels = sorted(set(values))
            xs = [labels.index(v) for v in values]
            ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
        ax.scatter(xs, [r.objective for r in scored])
        ax.set_xlabel(key)
        ax.set_ylabel(objective)
    fig.tight_layout()
    path = out_dir / "objective_by_parameter.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def register_best_model(client, parent_id: str, summary: Summary, name: str, alias: str) -> None:
    """``sweep.register_best``: the best job's model becomes a new version of ``name`` (docs/export.md)."""
    from tfexp_export.registry import describe, register_run_model

    version = register_run_model(client, summary.best.run_id, name, alias)
    client.set_tag(parent_id, "tfexp.registered_model", f"{name}/{version.version}")
    summary.registered = describe(name, alias, version)


def overview(summary: Summary, objective: str, table_md: str) -> str:
    """The parent's description (markdown on its overview page in the MLflow UI): the best
    job, then the job table, so the result needs no click into the artifacts."""
    best = summary.best
    head = f"**Best:** job {best.job} ({best.config_key}): {objective} = {best.objective:.4g}, run {best.run_id}" if best else "**No job finished.**"
    return f"Sweep of {len(summary.rows)} jobs, objective `{objective}`. {head}\n\n{table_md}"


def summarize(client, parent_id: str, sweep_dir: Path, objective: str, direction: str, register_best: str | None = None, alias: str = "candidate") -> Summary:
    """Write the summary files, log them on the parent, and close it (FAILED if any job failed);
    with ``register_best``, register the best job's model."""
    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    rows = job_rows(client, parent_id, sweep_dir)
    summary = Summary(rows, maximize=direction == "maximize", aggregates=aggregate_over_seeds(rows))
    out_dir = sweep_dir / "summary"
    out_dir.mkdir(parents=True, exist_ok=True)
    files = write_table(rows, summary.aggregates, out_dir)
    if plot := plot_objective(rows, objective, out_dir):
        files.append(plot)
    for path in files:
        client.log_artifact(parent_id, str(path), "summary")
    metrics = []
    for i, (key, (mean, std, n)) in enumerate(summary.aggregates.items()):
        client.set_tag(parent_id, f"tfexp.config_{i}", key)
        metrics += [Metric(f"config_{i}/objective_mean", mean, now, 0), Metric(f"config_{i}/objective_std", std, now, 0)]
    if best := summary.best:
        client.set_tag(parent_id, "tfexp.best_run_id", best.run_id)
        client.set_tag(parent_id, "tfexp.best_job", str(best.job))
        metrics.append(Metric("best_objective", best.objective, now, 0))
    metrics += [Metric("jobs_failed", len(summary.failed), now, 0), Metric("jobs_pruned", len(summary.pruned), now, 0)]
    client.set_tag(parent_id, "mlflow.note.content", overview(summary, objective, files[1].read_text()))
    client.log_batch(parent_id, metrics=metrics)
    client.set_terminated(parent_id, "FAILED" if summary.failed else "FINISHED")
    if register_best and summary.best:
        register_best_model(client, parent_id, summary, register_best, alias)
    return summary
