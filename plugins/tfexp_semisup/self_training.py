"""``method=pseudo_label``: train on the labels, adopt confident predictions, retrain, repeat.

Each round relabels the whole pool with the current model (earlier mistakes can be
undone) and continues training on labeled + accepted for ``trainer.epochs`` epochs.
"""

from __future__ import annotations

from tfexp_semisup.fitting import fit_on_arrays, predict_probs
from tfexp_semisup.pseudo_labels import pseudo_label_stats, pseudo_labeled_training_set


def train_pseudo_label(run, model, datasets, pool, callbacks, cfg) -> None:
    epochs = run.cfg.trainer.epochs
    fit_on_arrays(run, model, datasets.x_train, datasets.y_train, datasets, callbacks)
    for round_ in range(1, cfg.rounds + 1):
        probs = predict_probs(model, pool.x, run.cfg.trainer.batch_size)
        x, y, _ = pseudo_labeled_training_set(datasets.x_train, datasets.y_train, pool.x, probs, cfg.threshold)
        stats = pseudo_label_stats(probs, cfg.threshold, pool.hidden_y, datasets.class_names)
        run.log_metrics({f"pseudo/{k}": v for k, v in stats.items()}, step=round_)
        fit_on_arrays(run, model, x, y, datasets, callbacks, initial_epoch=round_ * epochs)
