"""Supervised ``fit`` on in-memory arrays, as every method's labeled phase and the baseline use it."""

from __future__ import annotations

import numpy as np


def training_pipeline(x: np.ndarray, y, batch_size: int, seed: int, repeat: bool):
    """Shuffled batches of ``(x, y)`` (or of ``x`` alone when ``y`` is None), endless if ``repeat``."""
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices(x if y is None else (x, y))
    ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def fit_on_arrays(run, model, x, y, datasets, callbacks, initial_epoch: int = 0, epochs: int | None = None, validation=None):
    """``trainer.epochs`` (or ``epochs``) epochs of ``model.fit`` on ``(x, y)``, validated on
    the labeled validation split unless ``validation`` is given.

    Epochs are numbered from ``initial_epoch``, so consecutive phases log one curve;
    with ``trainer.steps_per_epoch`` the data repeats instead of running out."""
    t = run.cfg.trainer
    epochs = epochs or t.epochs
    model.fit(
        training_pipeline(x, y, t.batch_size, run.cfg.seed + initial_epoch, repeat=t.steps_per_epoch is not None),
        validation_data=validation if validation is not None else datasets.as_tf("val", t.batch_size),
        initial_epoch=initial_epoch,
        epochs=initial_epoch + epochs,
        steps_per_epoch=t.steps_per_epoch,
        callbacks=callbacks,
        verbose=t.verbose,
        shuffle=False,  # the pipeline shuffles
    )


def predict_probs(model, x: np.ndarray, batch_size: int) -> np.ndarray:
    """Class probabilities of a logits model (inference mode: no dropout, no augmentation)."""
    import keras

    return keras.ops.convert_to_numpy(keras.ops.softmax(model.predict(x, batch_size=batch_size, verbose=0), axis=-1))


def train_baseline(run, datasets) -> dict[str, float]:
    """Supervised-only on the same labeled subset, same model and budget; its test metrics.

    Logged per epoch under ``baseline/``; reseeded so it starts like the method's model."""
    import keras

    from tfexp.callbacks import HookCallback
    from tfexp.defaults import compile_kwargs_for

    keras.utils.set_random_seed(run.cfg.seed)
    with run.strategy.scope():
        model = run.registry.get("model", run.cfg.model.name).build(run.cfg.model, datasets.input_shape, datasets.num_outputs)
        model.compile(**compile_kwargs_for(run, datasets))
    fit_on_arrays(run, model, datasets.x_train, datasets.y_train, datasets, [HookCallback(run, prefix="baseline/")])
    return model.evaluate(datasets.as_tf("test", run.cfg.trainer.batch_size), verbose=0, return_dict=True)
