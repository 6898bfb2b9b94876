"""Built-in default implementations of the hooks that produce something.

Registered first and marked ``trylast``, so any plugin or technique implementing the
same hook takes over. This is the plain supervised path: load ``data.name``, build
``model.name``, ``model.fit``, ``model.evaluate``.
"""

from __future__ import annotations

from typing import Any

from tfexp import hookimpl


def compile_kwargs_for(run, spec) -> dict[str, Any]:
    """Optimizer from ``trainer`` (tfexp/trainer.py); loss and metrics that suit the data's
    task (``spec`` is a :class:`tfexp.data.DataSpec`)."""
    import keras

    from tfexp.trainer import check_task, classification_loss, optimizer

    check_task(run, spec.task)
    if spec.task == "multiclass":
        loss, metrics = classification_loss(run, spec.num_outputs), ["accuracy"]
    elif spec.task == "multilabel":
        loss, metrics = keras.losses.BinaryCrossentropy(from_logits=True), [keras.metrics.BinaryAccuracy(threshold=0.0)]
    else:
        loss, metrics = "mse", ["mae"]
    return {"optimizer": optimizer(run), "loss": loss, "metrics": metrics}


@hookimpl(trylast=True)
def tfexp_build_data(run):
    return run.registry.get("data", run.cfg.data.name).load(run.cfg.data, run.cfg.seed)


@hookimpl(trylast=True)
def tfexp_build_model(run, data):
    spec = run.registry.get("model", run.cfg.model.name)
    return spec.build(run.cfg.model, data.spec.input_shape, data.spec.num_outputs)


@hookimpl(trylast=True)
def tfexp_run_fit(run, model, data, callbacks):
    """The run's model, trained as its one stage."""
    return run.fit(model, callbacks=callbacks)


@hookimpl(trylast=True)
def tfexp_fit_stage(run, model, stage, train, val, epochs, steps_per_epoch, callbacks):
    """``model.fit`` from ``run.initial_epoch`` (tfexp/stages.py adds checkpoints, NaN recovery)."""
    t = run.cfg.trainer
    model.fit(
        run.dataset("train", training=True) if train is None else train,
        validation_data=run.dataset("val") if val is None else val,
        epochs=epochs,
        initial_epoch=run.initial_epoch,
        steps_per_epoch=steps_per_epoch,
        callbacks=callbacks,
        verbose=t.verbose,
        shuffle=False,  # the pipeline shuffles; Keras cannot shuffle a tf.data.Dataset
    )
    return True


@hookimpl(trylast=True)
def tfexp_evaluate_stage(run, model, batches):
    return model.evaluate(batches, verbose=0, return_dict=True)


@hookimpl(trylast=True)
def tfexp_evaluate(run, model, data):
    metrics = model.evaluate(run.dataset("test"), verbose=0, return_dict=True)
    if data.spec.task == "multiclass":
        from tfexp.classification import log_classification_report

        metrics |= log_classification_report(run, model, data)
    return metrics


@hookimpl
def tfexp_export_model(run, model):
    run.log_model(model, "model")
