"""The study in the sweep's summary: best trial, optimization history, pruned trials' curves
and parameter importances (multi-objective: the Pareto front), as PNGs under
``summary/study/`` (what optuna-dashboard shows), and the best trial as tags and a metric for
trackers to put on their sweep record."""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path

from hydra_plugins.tfexp_optuna_sweeper.study import identity

log = logging.getLogger("tfexp.sweep")


def report_study(config, summary, out_dir: Path) -> None:
    """Add the study's plots to ``summary.files`` and its best trial to ``summary.tags``/``metrics``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import optuna
    from optuna.visualization import matplotlib as plots

    url, name = identity(config)
    study = optuna.load_study(study_name=name, storage=url)
    objectives = list(config.sweep.objectives)
    if objectives:  # the Pareto front: its trials and one plot
        summary.tags["tfexp.pareto_trials"] = " ".join(str(t.number) for t in study.best_trials)
        figures = [("pareto_front", lambda s: plots.plot_pareto_front(s, target_names=objectives))]
    else:
        if study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
            best = study.best_trial
            summary.metrics["optuna/best_value"] = best.value
            summary.tags.update({"tfexp.best_params": json.dumps(best.params), "tfexp.best_trial": str(best.number)})
        figures = [("optimization_history", plots.plot_optimization_history), ("intermediate_values", plots.plot_intermediate_values), ("param_importances", plots.plot_param_importances)]
    out_dir.mkdir(parents=True, exist_ok=True)
    for title, plot in figures:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                axes = plot(study)
        except (ValueError, RuntimeError) as exc:  # e.g. importances need two finished trials
            log.info("no %s plot: %s", title, exc)
            continue
        path = out_dir / f"{title}.png"
        axes.figure.savefig(path, dpi=100, bbox_inches="tight")
        plt.close(axes.figure)
        summary.files.append(path)
