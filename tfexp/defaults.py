"""Built-in default implementations of the hooks that produce something.

Registered first and marked ``trylast``, so any plugin or technique implementing the
same hook takes over. This is the plain supervised path: load ``data.name``, build
``model.name``, ``model.fit``, ``model.evaluate``.
"""

from __future__ import annotations

import itertools
from typing import Any

from tfexp import hookimpl
from tfexp.errors import ConfigError


def compile_kwargs_for(run, datasets) -> dict[str, Any]:
    """Optimizer from ``trainer``; loss and metrics that suit the datasets' task."""
    import keras

    t = run.cfg.trainer
    try:
        optimizer = keras.optimizers.get({"class_name": t.optimizer, "config": {"learning_rate": t.learning_rate}})
    except ValueError:
        raise ConfigError(
            f"trainer.optimizer={t.optimizer!r} is not a Keras optimizer; use one of adam, adamw, sgd, rmsprop, nadam, adagrad"
        ) from None
    if datasets.task == "multiclass":
        loss, metrics = keras.losses.SparseCategoricalCrossentropy(from_logits=True), ["accuracy"]
    elif datasets.task == "multilabel":
        loss, metrics = keras.losses.BinaryCrossentropy(from_logits=True), [keras.metrics.BinaryAccuracy(threshold=0.0)]
    else:
        loss, metrics = "mse", ["mae"]
    return {"optimizer": optimizer, "loss": loss, "metrics": metrics}


@hookimpl(trylast=True)
def tfexp_build_datasets(run):
    return run.registry.get("data", run.cfg.data.name).load(run.cfg.data, run.cfg.seed)


@hookimpl(trylast=True)
def tfexp_build_model(run, datasets):
    spec = run.registry.get("model", run.cfg.model.name)
    return spec.build(run.cfg.model, datasets.input_shape, datasets.num_outputs)


@hookimpl(trylast=True)
def tfexp_run_fit(run, model, datasets, callbacks):
    """``model.fit`` from ``run.initial_epoch``; on NaN, up to ``trainer.nan_recovery`` retries."""
    from tfexp.checkpoint import NanLoss, recover_from_nan

    t = run.cfg.trainer
    if t.batch_size > len(datasets.x_train):
        raise ConfigError(
            f"trainer.batch_size={t.batch_size} is larger than the training split ({len(datasets.x_train)} examples); "
            f"use trainer.batch_size={len(datasets.x_train)} or less"
        )
    for attempt in itertools.count(1):
        try:
            model.fit(
                datasets.as_tf("train", t.batch_size, shuffle=True, seed=run.cfg.seed),
                validation_data=datasets.as_tf("val", t.batch_size),
                epochs=t.epochs,
                initial_epoch=run.initial_epoch,
                steps_per_epoch=t.steps_per_epoch,
                callbacks=callbacks,
                verbose=t.verbose,
                shuffle=False,  # the tf.data pipeline shuffles; Keras cannot shuffle a Dataset
            )
            return run.history
        except NanLoss as exc:
            if attempt > t.nan_recovery:
                raise
            recover_from_nan(run, model, exc, attempt)


@hookimpl(trylast=True)
def tfexp_evaluate(run, model, datasets):
    metrics = model.evaluate(datasets.as_tf("test", run.cfg.trainer.batch_size), verbose=0, return_dict=True)
    if datasets.task == "multiclass":
        run.log_figure(confusion_matrix_figure(model, datasets), "confusion_matrix.png")
    return metrics


@hookimpl
def tfexp_export_model(run, model):
    run.log_model(model, "model")


def confusion_matrix_figure(model, datasets):
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    predicted = model.predict(datasets.x_test, verbose=0).argmax(axis=-1)
    fig, ax = plt.subplots(figsize=(6, 6))
    ConfusionMatrixDisplay.from_predictions(
        datasets.y_test, predicted, labels=list(range(len(datasets.class_names))),
        display_labels=datasets.class_names, ax=ax, colorbar=False,
    )
    ax.set_title("Confusion matrix (test split)")
    return fig
