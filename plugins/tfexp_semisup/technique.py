"""The ``semisup`` technique: hide most training labels, train with a semi-supervised method.

It takes over ``tfexp_build_data`` (the run's data becomes the labeled view of the loaded
data; the unlabeled view, the pool, is held here), ``tfexp_run_fit`` (the chosen method)
and ``tfexp_evaluate`` (adds the supervised-only baseline when asked). The model is the
run's ``model.name`` classifier, built by the core as usual.
"""

from __future__ import annotations

from tfexp import hookimpl
from tfexp_semisup.config import checked_config


def method_trainer(name: str):
    """The training function of ``technique.method`` (imported only when a run trains)."""
    if name == "pseudo_label":
        from tfexp_semisup.self_training import train_pseudo_label

        return train_pseudo_label
    if name == "fixmatch":
        from tfexp_semisup.fixmatch import train_fixmatch

        return train_fixmatch
    from tfexp_semisup.autoencoder import train_autoencoder

    return train_autoencoder


class SemiSupervised:
    def __init__(self, cfg):
        self.cfg = cfg
        self.pool = None
        self.baseline_metrics: dict[str, float] | None = None

    @hookimpl
    def tfexp_configure(self, cfg):
        self.cfg = checked_config(cfg.technique)

    @hookimpl(wrapper=True)
    def tfexp_build_data(self, run):
        """The labeled view of whatever builds the run's data (the core, or another plugin)."""
        from tfexp_semisup.views import split_labeled

        data = yield
        cfg = self.cfg
        views = split_labeled(data, run.cfg.seed, cfg.labeled_fraction, cfg.labels_per_class, run.pipeline)
        self.pool = views.pool
        sizes = {"labeled": views.labeled.spec.size("train"), "unlabeled": self.pool.spec.size("train")}
        run.log_params({f"semisup.{side}_examples": n for side, n in sizes.items()})
        return views.labeled

    @hookimpl
    def tfexp_run_fit(self, run, model, data, callbacks):
        """The method's stages, then the optional baseline stage, each through ``run.fit``."""
        method_trainer(self.cfg.method)(run, model, data, self.pool, callbacks, self.cfg)
        if self.cfg.baseline:
            from tfexp_semisup.fitting import train_baseline

            self.baseline_metrics = train_baseline(run, run.data)
        return run.history

    @hookimpl(wrapper=True)
    def tfexp_evaluate(self, run, model, data):
        """The test metrics (the core's, or another plugin's), plus ``baseline_<m>`` and, for
        every metric but the loss, ``<m>_gain`` (method minus baseline) when the baseline was
        trained; the runner logs them all as ``test_*``."""
        metrics = dict((yield))
        if self.baseline_metrics:
            for name, value in self.baseline_metrics.items():
                metrics[f"baseline_{name}"] = value
                if name != "loss":
                    metrics[f"{name}_gain"] = metrics[name] - value
        return metrics
