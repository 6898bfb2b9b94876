"""``trainer.*`` options as a user sees them: the learning-rate curve in MLflow, early
stopping that stops, restores and records, class weights from label counts, the optimizer
and loss every stage compiles with, and one-line errors naming the key."""

from __future__ import annotations

import math

import numpy as np
import pytest
from mlflow import MlflowClient

from test_data_sources import write_tables
from tfexp import hookimpl
from tfexp.checkpoint import CheckpointState
from tfexp.config import validate
from tfexp.errors import ConfigError
from tfexp.testing import compose, resume_run, store_uri, tiny_run

SHORT = ["debug.trainer.steps_per_epoch=5", "debug.trainer.verbose=0", "tracking.log_model=false", "tracking.tensorboard=false", "export.formats=[]"]


def logged(tmp_path, run, key: str) -> list[float]:
    """The values of ``key`` in the run's MLflow store, by step."""
    history = MlflowClient(store_uri(tmp_path)).get_metric_history(run.tracker_refs["mlflow"], key)
    return [m.value for m in sorted(history, key=lambda m: m.step)]


def test_cosine_with_warmup_is_the_logged_learning_rate(tmp_path):
    lr, low, warmup, epochs, steps = 0.01, 0.001, 1, 4, 5
    run = tiny_run(tmp_path, [*SHORT, f"debug.trainer.epochs={epochs}", f"trainer.learning_rate={lr}", "trainer.lr_schedule.name=cosine",
                              f"trainer.lr_schedule.warmup_epochs={warmup}", f"trainer.lr_schedule.min_lr={low}"])
    # Logged per epoch: the rate of its last batch, at fractional epoch e + (steps-1)/steps.
    positions = [e + (steps - 1) / steps for e in range(epochs)]
    expected = [lr * p / warmup if p < warmup else low + (lr - low) * 0.5 * (1 + math.cos(math.pi * (p - warmup) / (epochs - warmup))) for p in positions]
    np.testing.assert_allclose(logged(tmp_path, run, "learning_rate"), expected, rtol=1e-4)


def test_plateau_divides_the_rate_when_val_loss_stops_improving(tmp_path):
    # At 1e-7 the model cannot move val_loss by Keras' min_delta (1e-4): every epoch is a plateau.
    run = tiny_run(tmp_path, [*SHORT, "debug.trainer.epochs=3", "trainer.learning_rate=1e-7", "trainer.lr_schedule.name=plateau",
                              "trainer.lr_schedule.patience=1", "trainer.lr_schedule.decay_rate=0.5"])
    np.testing.assert_allclose(logged(tmp_path, run, "learning_rate"), [1e-7, 1e-7, 5e-8], rtol=1e-4)


def test_early_stopping_stops_restores_the_best_epoch_and_records_it(tmp_path):
    # mode=max on val_loss: training lowers it, so epoch 0 stays the best and patience 1 stops at epoch 1.
    run = tiny_run(tmp_path, [*SHORT, "debug.trainer.epochs=5", "trainer.learning_rate=0.01", "trainer.early_stopping.monitor=val_loss",
                              "trainer.early_stopping.mode=max", "trainer.early_stopping.patience=1", "sweep.objective=val_loss"])
    val_loss = run.history["val_loss"]
    assert len(val_loss) == 2 and val_loss[1] < val_loss[0]
    assert logged(tmp_path, run, "early_stopping/stopped_epoch") == [1] and logged(tmp_path, run, "early_stopping/best_epoch") == [0]
    assert run.evaluate(run.model, "val")["loss"] == pytest.approx(val_loss[0], rel=1e-4)  # epoch 0's weights
    assert run.objective == val_loss[0]  # the sweep objective is the kept weights' value
    assert any("early stopping: stopped after epoch 2" in line for line in run.summary)
    assert CheckpointState.read(run.output_dir).finished[""]["epoch"] == 4  # resume= does not train it again


class StopAfterEpoch:
    """A plugin that preempts the run after ``epoch`` (as SIGTERM would): the run is KILLED at
    the next batch, with the checkpoint of that epoch."""

    def __init__(self, epoch: int):
        self.epoch = epoch

    @hookimpl
    def tfexp_before_fit(self, run, model):
        import keras

        stop_at = self.epoch

        class Preempt(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                if epoch == stop_at:
                    run.info["preempted"] = True

        return [Preempt()]


def test_early_stopping_counts_patience_on_after_resume_and_restores_the_best_epoch_before_the_kill(tmp_path):
    # As above, epoch 0 stays the best; patience 2 stops after epoch 2. Killed after epoch 1,
    # a resume that forgot the state would start counting again and keep a later epoch.
    early = ["trainer.early_stopping.monitor=val_loss", "trainer.early_stopping.mode=max", "trainer.early_stopping.patience=2"]
    with pytest.raises(KeyboardInterrupt):
        tiny_run(tmp_path, [*SHORT, "debug.trainer.epochs=5", "trainer.learning_rate=0.01", *early, "sweep.objective=val_loss"],
                 plugins=[StopAfterEpoch(1)])
    run_dir = tmp_path / "outputs"
    saved = CheckpointState.read(run_dir).early_stopping
    assert (saved["best_epoch"], saved["wait"]) == (0, 1) and (run_dir / "checkpoints" / saved["weights"]).is_file()
    run = resume_run(tmp_path, run_dir)
    val_loss = run.history["val_loss"]
    assert len(val_loss) == 3  # epochs 0-1 before the kill, 2 after it: patience ran out there
    assert logged(tmp_path, run, "early_stopping/stopped_epoch") == [2] and logged(tmp_path, run, "early_stopping/best_epoch") == [0]
    assert run.evaluate(run.model, "val")["loss"] == pytest.approx(val_loss[0], rel=1e-4)  # epoch 0's weights, saved before the kill
    assert run.objective == val_loss[0]


def test_class_weight_auto_comes_from_the_label_counts(tmp_path):
    overrides = write_tables(tmp_path / "data", "csv")
    counts = np.zeros(3)
    for path in (tmp_path / "data").glob("train-*.csv"):
        counts += np.bincount(np.loadtxt(path, delimiter=",", skiprows=1, usecols=4).astype(int), minlength=3)
    run = tiny_run(tmp_path, [*overrides, *SHORT, "trainer.class_weight=auto"])
    balanced = counts.sum() / (3 * counts)
    assert counts.min() < counts.max() / 2  # the data is imbalanced: the weights differ
    np.testing.assert_allclose(run.model.loss.class_weights, balanced, rtol=1e-6)


def test_every_stage_of_distill_gets_the_optimizer_loss_and_schedule(tmp_path):
    run = tiny_run(tmp_path, ["+experiment=distill", *SHORT, "debug.trainer.epochs=2", "trainer.optimizer=adamw", "trainer.weight_decay=0.05",
                              "trainer.clipvalue=0.5", "trainer.label_smoothing=0.1", "trainer.lr_schedule.name=step",
                              "trainer.lr_schedule.decay_epochs=1", "trainer.lr_schedule.decay_rate=0.5", "trainer.learning_rate=0.004"])
    config = run.model.optimizer.get_config()
    assert (config["weight_decay"], config["clipvalue"], config["clipnorm"]) == (0.05, 0.5, None)
    assert run.model.loss.label_smoothing == 0.1
    for stage in ("teacher", "student"):  # step decay restarts with each stage
        np.testing.assert_allclose(logged(tmp_path, run, f"{stage}/learning_rate"), [0.004, 0.002], rtol=1e-5)


def test_smoothed_loss_is_keras_categorical_crossentropy_weighted_by_class():
    import keras

    from tfexp.losses import SmoothedSparseCrossentropy

    logits = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0], [1.0, 1.0, 1.0]], dtype="float32")
    labels = np.array([0, 2, 1])
    weights = np.array([1.0, 3.0, 0.5])
    keras_loss = keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.2, reduction=None)
    per_example = np.asarray(keras_loss(np.eye(3)[labels], logits))
    ours = SmoothedSparseCrossentropy(3, label_smoothing=0.2, class_weights=weights.tolist())
    assert float(ours(labels, logits)) == pytest.approx(float(np.mean(per_example * weights[labels])), rel=1e-5)


@pytest.mark.parametrize("overrides, message", [
    (["trainer.lr_schedule.name=linear"], "trainer.lr_schedule.name='linear' is invalid: expected one of constant, cosine"),
    (["trainer.lr_schedule.name=step", "trainer.lr_schedule.warmup_epochs=2"], "trainer.lr_schedule.warmup_epochs=2.0 is invalid: expected 0 unless"),
    (["trainer.lr_schedule.name=cosine", "trainer.lr_schedule.warmup_epochs=20"], "trainer.lr_schedule.warmup_epochs=20.0 is invalid: expected a number >= 0 and below trainer.epochs (20)"),
    (["trainer.lr_schedule.decay_rate=2"], "trainer.lr_schedule.decay_rate=2.0 is invalid: expected a factor between 0 and 1"),
    (["trainer.early_stopping.mode=up"], "trainer.early_stopping.mode='up' is invalid: expected auto, min or max"),
    (["trainer.early_stopping.patience=0"], "trainer.early_stopping.patience=0 is invalid"),
    (["trainer.clipnorm=1", "trainer.clipvalue=0.5"], "trainer.clipnorm=1.0 and trainer.clipvalue=0.5 are all set: Keras clips gradients one way"),
    (["trainer.weight_decay=-1"], "trainer.weight_decay=-1.0 is invalid: expected null or a number > 0"),
    (["trainer.label_smoothing=1"], "trainer.label_smoothing=1.0 is invalid: expected a number in [0, 1)"),
    (["trainer.class_weight=balanced"], "trainer.class_weight='balanced' is invalid: expected null, auto, or a list of weights"),
])
def test_bad_trainer_options_name_the_key(overrides, message):
    with pytest.raises(ConfigError) as error:
        validate(compose(overrides))
    assert message in str(error.value)


def test_a_wrong_type_names_the_key():
    with pytest.raises(Exception, match=r"trainer.early_stopping.patience"):
        compose(["trainer.early_stopping.patience=soon"])


@pytest.mark.parametrize("overrides, message", [
    (["trainer.class_weight=[1,2]"], "trainer.class_weight has 2 weights but the data has 10 classes"),
    (["data=synthetic_multilabel", "trainer.label_smoothing=0.1"], "trainer.label_smoothing=0.1 applies to multiclass data"),
])
def test_options_that_do_not_fit_the_data_fail_before_training(tmp_path, overrides, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("(", r"\(")):
        tiny_run(tmp_path, overrides)


def test_fixmatch_labeled_term_is_the_compiled_loss():
    """FixMatch trains with the classifier's compiled loss, so label smoothing and class weights reach it."""
    import keras
    from tfexp_semisup.fixmatch import FixMatch

    from tfexp.losses import SmoothedSparseCrossentropy

    classifier = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    identity = keras.layers.Identity()
    loss = SmoothedSparseCrossentropy(3, label_smoothing=0.3, class_weights=[1.0, 2.0, 4.0])
    trainer = FixMatch(classifier, identity, identity, threshold=1.1, lambda_u=1.0, labeled_loss=loss)  # 1.1: no pseudo-label
    trainer.compile(optimizer=keras.optimizers.SGD(0.0))
    x, y = np.random.default_rng(0).normal(size=(6, 4)).astype("float32"), np.array([0, 1, 2, 2, 1, 0])
    logs = trainer.train_step(((x, y), x))
    assert float(logs["labeled_loss"]) == pytest.approx(float(loss(y, classifier(x))), rel=1e-5)
    assert float(loss(y, classifier(x))) != pytest.approx(float(keras.losses.SparseCategoricalCrossentropy(from_logits=True)(y, classifier(x))), rel=1e-3)


def test_a_schedule_keeps_the_rate_nan_recovery_halved(tmp_path):
    from test_reliability import PoisonLoss

    # Step decay every 10 epochs: 1e-3 throughout; NaN at epoch 1 while the rate is above 6e-4.
    run = tiny_run(tmp_path, [*SHORT, "debug.trainer.epochs=3", "trainer.nan_recovery=1", "trainer.lr_schedule.name=step",
                              "trainer.lr_schedule.decay_epochs=10"], plugins=[PoisonLoss(epoch=1, safe_lr=6e-4)])
    assert logged(tmp_path, run, "nan_recoveries") == [1]
    np.testing.assert_allclose(logged(tmp_path, run, "learning_rate"), [1e-3, 5e-4, 5e-4], rtol=1e-5)
