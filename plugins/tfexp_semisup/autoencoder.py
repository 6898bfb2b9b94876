"""``method=autoencoder``: learn features from every training input, then fit the head on the labels.

The encoder *is* the run's classifier without its logits layer (shared weights), so
pretraining it pretrains the model that is fine-tuned, evaluated and exported. Pretraining
streams the whole training split (labeled and unlabeled views together are the split the
views were made from), with its labels dropped.
"""

from __future__ import annotations

import numpy as np

from tfexp.data.spec import input_kind
from tfexp_semisup.fitting import fit_stage


def encoder_of(classifier):
    """Inputs -> the features the classifier's last (logits) layer reads."""
    import keras

    return keras.Model(classifier.inputs, classifier.layers[-1].input, name="encoder")


def build_autoencoder(classifier, input_shape: tuple[int, ...], cfg):
    """Denoising autoencoder around ``encoder_of(classifier)``: corrupt, encode, decode to the
    input's shape. The decoder is thrown away after pretraining."""
    import keras

    from tfexp_semisup.augment import FeatureDrop

    inputs = keras.Input(input_shape, name="inputs")
    code = encoder_of(classifier)(FeatureDrop(cfg.denoise, name="corrupt")(inputs))
    hidden = keras.layers.Dense(cfg.decoder_units, activation="relu", name="decoder_hidden")(code)
    flat = keras.layers.Dense(int(np.prod(input_shape)), name="decoder_output")(hidden)
    return keras.Model(inputs, keras.layers.Reshape(input_shape)(flat), name="autoencoder")


def reconstructions_figure(autoencoder, images: np.ndarray):
    """Inputs (top row) over their reconstructions (bottom row)."""
    import matplotlib.pyplot as plt

    rebuilt = autoencoder.predict(images, verbose=0)
    low, high = float(images.min()), float(images.max())  # one grey scale for inputs and outputs
    fig, axes = plt.subplots(2, len(images), figsize=(1.2 * len(images), 2.8), squeeze=False)
    for row, batch in enumerate((images, rebuilt)):
        for ax, image in zip(axes[row], batch):
            shown = np.clip(image, 0, 1) if image.shape[-1] in (3, 4) else image[..., 0]
            ax.imshow(shown, cmap="gray", vmin=low, vmax=high)
            ax.set_xticks([]), ax.set_yticks([])
    axes[0, 0].set_ylabel("input")
    axes[1, 0].set_ylabel("reconstruction")
    fig.suptitle("Autoencoder reconstructions (validation split)")
    return fig


def inputs_as_targets(batches):
    return batches.map(lambda x, y: (x, x))


def train_autoencoder(run, model, labeled, pool, callbacks, cfg) -> None:
    """Pretrain on every training input (``reconstruction/*`` metrics), then fine-tune the
    whole classifier on the labeled subset (the run's main metrics)."""
    spec = labeled.spec
    with run.strategy.scope():
        autoencoder = build_autoencoder(model, spec.input_shape, cfg)
        autoencoder.compile(optimizer=run.compile_kwargs(spec)["optimizer"], loss="mse")
    fit_stage(
        run, autoencoder, inputs_as_targets(run.dataset("train", training=True, data=labeled.base)),
        [], stage="pretrain", prefix="reconstruction/", epochs=cfg.pretrain_epochs,
        validation=inputs_as_targets(run.dataset("val", data=labeled)),
    )
    if input_kind(spec.input_shape) == "image" and cfg.reconstructions:
        run.log_figure(reconstructions_figure(autoencoder, labeled.sample("val", cfg.reconstructions)), "reconstructions.png")
    fit_stage(run, model, run.dataset("train", training=True, data=labeled), callbacks, stage="finetune")
