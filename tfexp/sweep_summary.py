"""The sweep's summary, from what its jobs returned: job table, best job, seed aggregates, plot.

Written to ``<sweep dir>/summary`` whether or not any tracker is installed; trackers then
record it (``tfexp_sweep_end``).
"""

from __future__ import annotations

import csv
import math
import statistics
from pathlib import Path

from tfexp.sweep_records import FINISHED, SeedAggregate, Sweep, SweepJob, SweepSummary

SEED_KEY = "seed"
HIDDEN_KEYS = ("sweep.trial", "sweep.resume", "hydra.sweeper.storage", "hydra.sweeper.study_name")
"""Overrides the sweep machinery adds: the job number already says which trial it is."""


def swept_columns(jobs: list[SweepJob]) -> list[str]:
    """The overrides whose value differs between jobs (``debug=fast``, shared, says nothing)."""
    keys = {k for j in jobs for k in j.overrides if k not in HIDDEN_KEYS}
    return sorted(k for k in keys if len({j.overrides.get(k) for j in jobs}) > 1)


def config_key(job: SweepJob, columns: list[str]) -> str:
    """The job's configuration without its seed: the unit seeds are aggregated over (``all``
    when only seeds were swept)."""
    return " ".join(f"{k}={job.overrides.get(k, '')}" for k in columns if k != SEED_KEY) or "all"


def best_job(jobs: list[SweepJob], maximize: bool) -> SweepJob | None:
    scored = [j for j in jobs if j.status == FINISHED and not math.isnan(j.score)]
    return (max if maximize else min)(scored, key=lambda j: j.score) if scored else None


def aggregate_over_seeds(jobs: list[SweepJob], columns: list[str]) -> dict[str, SeedAggregate]:
    """Mean and sample std of the objective per configuration, when seeds were swept."""
    if SEED_KEY not in columns:
        return {}
    groups: dict[str, list[float]] = {}
    for job in jobs:
        if job.status == FINISHED and not math.isnan(job.score):
            groups.setdefault(config_key(job, columns), []).append(job.score)
    return {k: SeedAggregate(statistics.fmean(v), statistics.stdev(v) if len(v) > 1 else 0.0, len(v)) for k, v in groups.items()}


def table(jobs: list[SweepJob], columns: list[str], objective: str) -> list[list]:
    """Header and one row per job: parameters, status, objective, duration, each tracker's run."""
    trackers = sorted({name for j in jobs for name in j.run_refs})
    header = ["job", *columns, "status", objective, "duration_s", *(f"{name}_run" for name in trackers)]
    rows = [
        [j.index, *(j.overrides.get(k, "") for k in columns), j.status, f"{j.score:.6g}", f"{j.duration_s:.1f}",
         *(j.run_refs.get(name, "") for name in trackers)]
        for j in jobs
    ]
    return [header, *rows]


def markdown(rows: list[list], aggregates: dict[str, SeedAggregate], objective: str) -> str:
    header, *body = rows
    md = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header), *("| " + " | ".join(str(c) for c in row) + " |" for row in body)]
    if aggregates:
        md += ["", f"| configuration | {objective} mean | std | seeds |", "|---|---|---|---|"]
        md += [f"| {k} | {a.mean:.4f} | {a.std:.4f} | {a.seeds} |" for k, a in aggregates.items()]
    return "\n".join(md) + "\n"


def plot_objective(jobs: list[SweepJob], columns: list[str], objective: str, out_dir: Path) -> Path | None:
    """Objective against each swept parameter (numeric axis when values are numbers)."""
    scored = [j for j in jobs if not math.isnan(j.score)]
    if not columns or not scored:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(columns), figsize=(4 * len(columns), 3.5), squeeze=False)
    for ax, key in zip(axes[0], columns):
        values = [j.overrides.get(key, "") for j in scored]
        try:
            xs = [float(v) for v in values]
        except ValueError:
            labels = sorted(set(values))
            xs = [labels.index(v) for v in values]
            ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
        ax.scatter(xs, [j.score for j in scored])
        ax.set_xlabel(key)
        ax.set_ylabel(objective)
    fig.tight_layout()
    path = out_dir / "objective_by_parameter.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def description(summary: SweepSummary, objective: str, table_md: str) -> str:
    """Markdown for a tracker's overview page: the best job, then the table, so the result
    needs no click into the files."""
    best, head = summary.best, "**No job finished.**"
    if best:
        values = " ".join(f"{k}={best.overrides.get(k, '')}" for k in summary.columns) or "the only configuration"
        head = f"**Best:** job {best.index} ({values}): {objective} = {best.score:.4g}"
    return f"Sweep of {len(summary.jobs)} jobs, objective `{objective}`. {head}\n\n{table_md}"


def summarize(sweep: Sweep, jobs: list[SweepJob]) -> SweepSummary:
    """Compute the summary and write its files under ``<sweep dir>/summary``."""
    columns = swept_columns(jobs)
    aggregates = aggregate_over_seeds(jobs, columns)
    summary = SweepSummary(jobs, columns, best_job(jobs, sweep.direction == "maximize"), aggregates)
    out_dir = sweep.directory / "summary"
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = table(jobs, columns, sweep.objective)
    table_md = markdown(rows, aggregates, sweep.objective)
    csv_path, md_path = out_dir / "sweep_jobs.csv", out_dir / "sweep_summary.md"
    with csv_path.open("w", newline="") as f:
        csv.writer(f).writerows(rows)
    md_path.write_text(table_md)
    summary.files = [csv_path, md_path]
    if plot := plot_objective(jobs, columns, sweep.objective, out_dir):
        summary.files.append(plot)
    summary.description = description(summary, sweep.objective, table_md)
    summary.metrics = {"jobs_failed": len(summary.failed), "jobs_pruned": len(summary.pruned), **summary.aggregate_metrics(sweep.objective)}
    if best := summary.best:
        summary.metrics["best_objective"] = best.score
        summary.tags["tfexp.best_job"] = str(best.index)
    return summary


def result_block(sweep: Sweep, summary: SweepSummary) -> str:
    """The sweep's last console block: result, best job, seed aggregates, where to look."""
    pruned = f", {len(summary.pruned)} pruned" if summary.pruned else ""
    lines = [f"Sweep finished: {len(summary.jobs)} jobs, {len(summary.failed)} failed{pruned}."]
    if best := summary.best:
        lines.append(f"  best: job {best.index} ({sweep.label(best.overrides)}): {sweep.objective}={best.score:.4g}")
    lines += [f"  {k}: {sweep.objective} {a.mean:.4f} ± {a.std:.4f} over {a.seeds} seeds" for k, a in summary.aggregates.items()]
    lines.append(f"  sweep directory: {sweep.directory}")
    lines.append(f"  summary: {', '.join(str(p.relative_to(sweep.directory)) for p in summary.files)}")
    lines += [f"  {line}" for line in summary.lines]
    return "\n".join(lines)
