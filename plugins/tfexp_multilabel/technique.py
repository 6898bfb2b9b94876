"""The ``multilabel`` technique: one sigmoid output per label, thresholds, honest metrics.

Training is the core's ``fit`` (binary cross-entropy on logits); this technique checks the
task, weights rare labels on request, picks thresholds on the validation split, evaluates
and logs the per-label report, PR curves, thresholds and a predictor that applies them.
Every split is read in streaming passes that keep outputs and labels, never inputs; only
the scikit-learn baseline materializes arrays (``technique.baseline_max_examples``).
"""

from __future__ import annotations

import json

import numpy as np

from tfexp import hookimpl
from tfexp.errors import TfexpError
from tfexp_multilabel.baseline import one_vs_rest_probabilities
from tfexp_multilabel.config import check_technique
from tfexp_multilabel.metrics import multilabel_metrics, per_label_report
from tfexp_multilabel.plots import pr_curves_figure
from tfexp_multilabel.predictor import build_predictor
from tfexp_multilabel.thresholds import thresholds_document, tune_thresholds

BASELINE_METRICS = ("micro_f1", "macro_f1", "hamming_loss", "subset_accuracy")


def require_multilabel(run) -> None:
    task = run.data.spec.task
    if task != "multilabel":
        raise TfexpError(
            f"data={run.cfg.data.name} is a {task} dataset, but the multilabel technique needs multi-hot labels. "
            f"Use data=synthetic_multilabel or data=multilabel_file (docs/multilabel.md), or technique=supervised for single-label data."
        )


def label_names(spec) -> list[str]:
    return list(spec.class_names) or [f"label_{j}" for j in range(spec.num_outputs)]


def log_file(run, filename: str, write) -> None:
    """``write(path)`` to ``<output_dir>/multilabel/<filename>``, then log it under ``multilabel/``."""
    path = run.output_dir / "multilabel" / filename
    path.parent.mkdir(parents=True, exist_ok=True)
    write(path)
    run.log_artifact(path, "multilabel")


def scored(model, data, split: str, batch_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(logits, probabilities, labels)`` of a split, from one streaming pass."""
    import keras

    from tfexp.data import predict

    logits, labels = predict(model, data, split, batch_size=batch_size)
    return logits, keras.ops.convert_to_numpy(keras.ops.sigmoid(logits)), labels


class Multilabel:
    def __init__(self, cfg):
        self.cfg = cfg
        self.thresholds: np.ndarray | None = None

    @hookimpl
    def tfexp_configure(self, cfg):
        self.cfg = check_technique(cfg.technique)

    @hookimpl
    def tfexp_before_compile(self, run, model, compile_kwargs):
        require_multilabel(run)
        compile_kwargs["metrics"] = []  # F1 per epoch comes from ValidationF1; binary accuracy misleads
        if self.cfg.pos_weight == "auto":
            from tfexp_multilabel.training import WeightedBinaryCrossentropy, auto_pos_weight

            compile_kwargs["loss"] = WeightedBinaryCrossentropy(auto_pos_weight(y for _, y in run.dataset("train")))

    @hookimpl
    def tfexp_before_fit(self, run, model):
        from tfexp_multilabel.training import ValidationF1

        return [ValidationF1(run.data, self.cfg.threshold, run.cfg.trainer.batch_size)]

    @hookimpl
    def tfexp_after_fit(self, run, model, history):
        """The weighted loss only trains: recompile with the plain BCE, so the exported
        model loads without this plugin and ``test_loss`` compares across ``pos_weight``."""
        if self.cfg.pos_weight == "auto":
            import keras

            with run.strategy.scope():  # the trained optimizer (and its state) stays
                model.compile(optimizer=model.optimizer, loss=keras.losses.BinaryCrossentropy(from_logits=True))

    @hookimpl
    def tfexp_evaluate(self, run, model, data):
        """One streaming pass over val (thresholds) and one over test (everything else)."""
        import keras

        cfg, names, batch = self.cfg, label_names(data.spec), run.cfg.trainer.batch_size
        _, p_val, y_val = scored(model, data, "val", batch)
        logits, p_test, y_test = scored(model, data, "test", batch)
        self.thresholds = tune_thresholds(y_val, p_val, cfg.tune_thresholds, cfg.threshold)
        metrics = multilabel_metrics(y_test, p_test, self.thresholds)
        metrics["loss"] = float(keras.losses.BinaryCrossentropy(from_logits=True)(y_test, logits))

        document = thresholds_document(names, self.thresholds, cfg.tune_thresholds, cfg.threshold)
        run.info["multilabel_thresholds"] = document["thresholds"]
        log_file(run, "thresholds.json", lambda path: path.write_text(json.dumps(document, indent=2)))
        report = per_label_report(y_test, p_test, self.thresholds, names)
        log_file(run, "per_label_report.csv", lambda path: report.to_csv(path, index=False))
        run.log_figure(pr_curves_figure(y_test, p_test, self.thresholds, names), "pr_curves.png")
        if cfg.baseline:
            metrics |= self._baseline(data)
        return metrics

    @hookimpl
    def tfexp_export_model(self, run, model):
        """Besides the core's logits ``model``: the predictor with thresholds, and the featurizer."""
        if self.thresholds is not None:
            run.log_model(build_predictor(model, run.data.spec.input_shape, self.thresholds), "multilabel_predictor")
        if (featurizer := getattr(run.data, "featurizer", None)) is not None:
            import joblib

            log_file(run, "featurizer.joblib", lambda path: joblib.dump(featurizer, path))

    def _baseline(self, data) -> dict[str, float]:
        """The baseline gets the same threshold policy, tuned on its own val scores."""
        scores = one_vs_rest_probabilities(data, self.cfg.baseline_max_examples)
        (p_val, y_val), (p_test, y_test) = scores["val"], scores["test"]
        thresholds = tune_thresholds(y_val, p_val, self.cfg.tune_thresholds, self.cfg.threshold)
        found = multilabel_metrics(y_test, p_test, thresholds)
        return {f"baseline_{k}": found[k] for k in BASELINE_METRICS}
