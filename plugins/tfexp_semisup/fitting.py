"""Supervised ``fit`` on a stream of batches, as every method's phases and the baseline use it."""

from __future__ import annotations


def fit_stage(run, model, train, callbacks, stage: str, initial_epoch: int = 0, epochs: int | None = None,
              validation=None, prefix: str = "", **stage_kwargs):
    """``epochs`` epochs (default: the trainer's budget, ``trainer.epochs`` or ``trainer.steps``)
    of the stage ``stage`` on the batches ``train``, through the core's ``run.fit``
    (checkpointed, resumable), validated on the labeled validation split unless
    ``validation`` is given.

    Epochs are numbered from ``initial_epoch``, so consecutive phases log one curve;
    with ``trainer.steps_per_epoch`` the data repeats instead of running out."""
    t = run.cfg.trainer
    run.fit(
        model, stage=stage, train=train.repeat() if t.steps_per_epoch is not None else train,
        val=validation if validation is not None else run.dataset("val"),
        first_epoch=initial_epoch, epochs=initial_epoch + epochs if epochs else None, callbacks=callbacks, prefix=prefix, **stage_kwargs,
    )


def train_baseline(run, data) -> dict[str, float]:
    """Supervised-only on the same labeled subset (``data``'s train split), same model and
    budget; its test metrics.

    Logged per epoch under ``baseline/``; reseeded so it starts like the method's model."""
    import keras

    keras.utils.set_random_seed(run.cfg.seed)
    with run.strategy.scope():
        model = run.registry.get("model", run.cfg.model.name).build(run.cfg.model, data.spec.input_shape, data.spec.num_outputs)
        model.compile(**run.compile_kwargs(data.spec))
    fit_stage(run, model, run.dataset("train", training=True, data=data), [], stage="baseline", prefix="baseline/")
    return run.evaluate(model, data=data)
