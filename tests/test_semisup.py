"""semisup: the labeled/unlabeled split, the pseudo-label rules, and runs as a user starts them."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import replace

import numpy as np
import pytest
from mlflow import MlflowClient

from tfexp import hookimpl
from tfexp.components import TechniqueSpec
from tfexp.config import apply_debug
from tfexp.data import Data
from tfexp.errors import ConfigError, TfexpError
from tfexp.testing import artifact_paths, compose, mlflow_runs, run_cli, store_uri, tiny_run
from tfexp_semisup.config import checked_config
from tfexp_semisup.technique import SemiSupervised
from tfexp_semisup.views import split_labeled
from tfexp_sklearn_data import load_digits

METHODS = ("pseudo_label", "fixmatch", "autoencoder")


@pytest.fixture(scope="module")
def digits():
    return load_digits(compose(["data=digits"]).data, seed=0)


# -- the split ------------------------------------------------------------------------


def rows(data, split="train", **kwargs):
    """Every ``(input bytes, label)`` of a split, streamed through the contract, in a multiset."""
    batches = data.dataset(split, batch_size=256, **kwargs).as_numpy_iterator()
    return Counter((x.tobytes(), int(y)) for xb, yb in batches for x, y in zip(xb, yb))


def kept_by_rule(rule, x, y) -> np.ndarray:
    """The rule applied to each array row on its own (no index, no order)."""
    import tensorflow as tf

    return np.array(list(tf.data.Dataset.from_tensor_slices((x, y)).map(rule.keep).as_numpy_iterator()))


def test_split_is_disjoint_per_example_and_deterministic_per_seed(digits):
    views = split_labeled(digits, seed=3, fraction=0.1)
    labeled, pool = rows(views.labeled), rows(views.pool)
    assert not labeled & pool and labeled + pool == Counter((x.tobytes(), int(y)) for x, y in zip(digits.x_train, digits.y_train))
    assert views.labeled.spec.size("train") == labeled.total() and views.pool.spec.size("train") == pool.total()
    per_class = Counter(y for _, y in labeled.elements())
    for label in range(10):
        members = int((digits.y_train == label).sum())
        assert per_class[label] >= 1 and abs(per_class[label] - 0.1 * members) <= 12  # a hash: stratified in expectation
    assert rows(views.labeled, "val") == rows(digits, "val") and rows(views.pool, "test") == rows(digits, "test")  # still labeled

    keep = kept_by_rule(views.labeled.rule, digits.x_train, digits.y_train)  # the same subset, decided example by example
    assert labeled == Counter((x.tobytes(), int(y)) for x, y in zip(digits.x_train[keep], digits.y_train[keep]))
    reordered = replace(digits, x_train=digits.x_train[::-1], y_train=digits.y_train[::-1])  # another order, as other shards
    assert rows(split_labeled(reordered, seed=3, fraction=0.1).labeled) == labeled
    assert rows(split_labeled(digits, seed=3, fraction=0.1).labeled) == labeled
    assert rows(split_labeled(digits, seed=4, fraction=0.1).labeled) != labeled


def test_views_keep_cache_files_of_their_own(digits, tmp_path):
    from tfexp.data import Pipeline

    views, cached = split_labeled(digits, seed=3, fraction=0.1), Pipeline(cache=str(tmp_path / "cache"))
    assert rows(views.labeled, pipeline=cached) == rows(views.labeled)  # fills the labeled view's cache file
    assert rows(views.pool, pipeline=cached) == rows(views.pool)  # not read from it


def test_labels_per_class_keeps_exactly_that_many(digits):
    views = split_labeled(digits, seed=0, fraction=0.1, per_class=3)
    assert sorted(Counter(y for _, y in rows(views.labeled).elements()).values()) == [3] * 10
    assert views.labeled.spec.size("train") == 30 and views.pool.spec.size("train") == len(digits.y_train) - 30
    with pytest.raises(TfexpError, match="technique.labels_per_class"):
        split_labeled(digits, seed=0, fraction=0.1, per_class=1000)


def test_only_multiclass_data_can_be_split(digits):
    multilabel = replace(digits, task="multilabel", y_train=np.eye(10)[digits.y_train], y_val=np.eye(10)[digits.y_val], y_test=np.eye(10)[digits.y_test])
    with pytest.raises(TfexpError, match="needs a multiclass dataset, this one is multilabel"):
        split_labeled(multilabel, seed=0, fraction=0.1)


# -- pseudo-labels and FixMatch's mask --------------------------------------------------

PROBS = np.array([[0.96, 0.02, 0.02], [0.5, 0.3, 0.2], [0.05, 0.95, 0.0], [0.1, 0.1, 0.8]], dtype="float32")


def test_fixmatch_mask_keeps_predictions_at_or_above_the_threshold():
    import keras

    from tfexp_semisup.fixmatch import consistency_loss
    from tfexp_semisup.pseudo_labels import confident_pseudo_labels

    labels, mask = confident_pseudo_labels(PROBS, 0.95)
    assert keras.ops.convert_to_numpy(labels).tolist() == [0, 0, 1, 2]
    assert keras.ops.convert_to_numpy(mask).tolist() == [1, 0, 1, 0]  # 0.95 itself passes

    logits_strong = np.log(np.array([[0.7, 0.2, 0.1], [0.2, 0.2, 0.6], [0.3, 0.6, 0.1], [0.1, 0.1, 0.8]], dtype="float32"))
    loss, mask = consistency_loss(logits_strong, PROBS, 0.95)
    expected = -(np.log(0.7) + np.log(0.6)) / 4  # confident rows only, averaged over all four
    assert float(loss) == pytest.approx(expected, rel=1e-5)
    nothing, mask = consistency_loss(logits_strong, PROBS, 0.99)
    assert float(nothing) == 0.0 and float(keras.ops.sum(mask)) == 0


def test_distribution_alignment_stops_confidence_in_an_over_predicted_class():
    import keras

    from tfexp_semisup.fixmatch import DistributionAlignment

    align = DistributionAlignment(3, momentum=0.9)
    favoured = np.array([[0.96, 0.02, 0.02]] * 6 + [[0.02, 0.96, 0.02], [0.02, 0.02, 0.96]], dtype="float32")  # the pool: mostly class 0
    for _ in range(100):  # labeled batches: balanced
        align.update(favoured, np.array([0, 1, 2]))
    aligned = keras.ops.convert_to_numpy(align(favoured))
    assert aligned[0, 0] < 0.95 < aligned[6, 1]  # class 0 loses its pass, the rare classes keep theirs
    np.testing.assert_allclose(aligned.sum(axis=-1), 1, rtol=1e-5)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(align.label_mean), [1 / 3] * 3, rtol=1e-4)


class AlignmentWatch:
    """Reads FixMatch's distribution-alignment means (``{"pool_mean": ..., "label_mean": ...}``)
    at the start of training, at every epoch end and after every checkpoint restore; with
    ``stop_after`` it stops the run after that epoch as SIGTERM does, with ``poison_at`` it
    puts NaN into the classifier at that epoch's third batch while the learning rate is the
    preset's (so the retry, at half of it, runs clean)."""

    def __init__(self, stop_after: int | None = None, poison_at: int | None = None):
        self.stop_after, self.poison_at = stop_after, poison_at
        self.start: dict | None = None
        self.epoch_end: list[dict] = []
        self.restored: list[dict] = []
        self.trainer = None

    def means(self) -> dict[str, np.ndarray]:
        return {name: getattr(self.trainer.align, name).numpy().copy() for name in ("pool_mean", "label_mean")}

    @hookimpl
    def tfexp_on_checkpoint_restored(self, run, epoch):
        if self.trainer is not None:
            self.restored.append(self.means())

    @hookimpl
    def tfexp_before_fit(self, run, model):
        import keras

        watch = self

        class Watch(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                watch.trainer = self.model
                watch.start = watch.means()

            def on_epoch_begin(self, epoch, logs=None):
                self.epoch = epoch

            def on_train_batch_begin(self, batch, logs=None):
                if self.epoch == watch.poison_at and batch == 2 and float(model.optimizer.learning_rate) >= 1e-3:
                    model.layers[-1].kernel.assign(model.layers[-1].kernel * math.nan)

            def on_epoch_end(self, epoch, logs=None):
                watch.epoch_end.append(watch.means())
                if epoch == watch.stop_after:
                    run.info["preempted"] = True

        return [Watch()]


FIXMATCH_RUN = ["+experiment=semisup", "technique.method=fixmatch", "model=mlp", "technique.diagnostic_examples=64", "tracking.log_model=false"]


def assert_same_means(got: dict, expected: dict) -> None:
    for name in ("pool_mean", "label_mean"):
        np.testing.assert_array_equal(got[name], expected[name], err_msg=name)


@pytest.mark.slow  # ~45 s: the NaN-recovery test covers carried state in the default suite
def test_fixmatch_resumes_with_the_distribution_alignment_it_had_at_the_stop(tmp_path):
    import tensorflow as tf

    from tfexp.checkpoint import CheckpointState
    from tfexp.testing import resume_run

    stopped = AlignmentWatch(stop_after=0)
    with pytest.raises(KeyboardInterrupt):  # stopped at the next batch, as after SIGTERM
        tiny_run(tmp_path, [*FIXMATCH_RUN, "debug.trainer.epochs=2"], plugins=[stopped])
    state = CheckpointState.read(tmp_path / "outputs")
    at_stop = stopped.epoch_end[0]
    assert (state.stage, state.epoch) == ("fixmatch", 0)
    assert not np.allclose(at_stop["pool_mean"], 0.1)  # it moved away from uniform in epoch 0
    assert_same_means({name: tf.train.load_checkpoint(state.path).get_tensor(f"alignment/{name}/.ATTRIBUTES/VARIABLE_VALUE")
                       for name in at_stop}, at_stop)

    resumed = AlignmentWatch()
    resume_run(tmp_path, tmp_path / "outputs", plugins=[resumed])
    assert_same_means(resumed.start, at_stop)
    assert len(resumed.epoch_end) == 1  # epoch 1
    (run,) = mlflow_runs(tmp_path, "semisup")
    assert run.info.status == "FINISHED"


def test_fixmatch_nan_recovery_brings_back_the_distribution_alignment_of_the_checkpoint(tmp_path):
    watch = AlignmentWatch(poison_at=1)
    tiny_run(tmp_path, [*FIXMATCH_RUN, "debug.trainer.epochs=2", "trainer.nan_recovery=1"], plugins=[watch])
    (restored,) = watch.restored  # the NaN step made the means NaN; recovery reads epoch 0's back
    assert_same_means(restored, watch.epoch_end[0])
    assert np.isfinite(watch.epoch_end[-1]["pool_mean"]).all()
    (tracked,) = mlflow_runs(tmp_path, "semisup")
    assert tracked.info.status == "FINISHED" and tracked.data.metrics["nan_recoveries"] == 1


def test_curriculum_accepts_the_most_confident_share_of_each_predicted_class():
    from tfexp_semisup.pseudo_labels import PseudoLabelTally, curriculum_thresholds

    def identity_model(x, training=False):  # its logits are its inputs: softmax(log p) = p
        return x

    pool = [(np.log(PROBS), np.array([0, 0, 1, 2]))]  # predicted 0 (0.96, 0.5), 1 (0.95), 2 (0.8)
    thresholds = curriculum_thresholds(identity_model, pool, 0.5, 3)
    np.testing.assert_allclose(thresholds, [0.96, 0.95, 0.8], rtol=1e-4)
    tally = PseudoLabelTally(thresholds - 1e-4, ["a", "b", "c"])
    tally.add(PROBS, np.array([0, 0, 1, 2]))
    assert tally.stats()["accepted"] == 3  # half of class 0 (its best), all of 1 and 2 (one each, rounded up)
    assert np.isinf(curriculum_thresholds(identity_model, pool, 1.0, 4)[3])  # a class never predicted: none accepted


def test_validated_thresholds_open_a_class_only_where_its_confident_predictions_are_right():
    from tfexp_semisup.pseudo_labels import MIN_VALIDATED, validated_thresholds

    def identity_model(x, training=False):  # its logits are its inputs: softmax(log p) = p
        return x

    def predicted(c, confidences):
        rows = np.full((len(confidences), 3), 0.0, "float32")
        rows[:] = ((1 - np.asarray(confidences)) / 2)[:, None]
        rows[np.arange(len(confidences)), c] = confidences
        return rows

    right0 = np.linspace(0.99, 0.90, 12)  # class 0: 12 right, then 4 wrong tied at 0.85
    probs = np.concatenate([predicted(0, right0), predicted(0, [0.85] * 4), predicted(1, [0.99] * 12), predicted(2, [0.99] * 5)])
    truth = np.array([0] * 12 + [1] * 4 + [2] * 12 + [2] * 5)
    val = [(np.log(probs[:20]), truth[:20]), (np.log(probs[20:]), truth[20:])]  # batch by batch
    thresholds = validated_thresholds(identity_model, val, 0.9, 0.0, 3)
    # 13 of 16 would be 92% right, but the threshold 0.85 admits all four ties (75%): 0.90 it is
    assert thresholds[0] == pytest.approx(0.90, abs=1e-4)
    assert np.isinf(thresholds[1])  # confident and always wrong: closed
    assert 5 < MIN_VALIDATED and np.isinf(thresholds[2])  # right, but too few to tell
    raised = validated_thresholds(identity_model, val, 0.9, [0.95, 0.0, 0.0], 3)
    assert np.isinf(raised[0])  # above its floor, only 5 of class 0 remain
    assert validated_thresholds(identity_model, val, 0.75, 0.0, 3)[0] == pytest.approx(0.85, abs=1e-4)


def test_pseudo_label_precision_accepts_only_classes_the_validation_split_vouches_for(tmp_path):
    run = tiny_run(tmp_path, ["+experiment=semisup", "model=mlp", "technique.threshold=0.0", "technique.precision=0.9",
                              "technique.rounds=1", "debug.trainer.steps_per_epoch=20", "debug.trainer.epochs=2", "trainer.verbose=0",
                              "tracking.log_model=false", "tracking.tensorboard=false", "export.formats=[]"])
    metrics = MlflowClient(store_uri(tmp_path)).get_run(run.tracker_refs["mlflow"]).data.metrics
    assert metrics["pseudo/open_classes"] >= 1
    assert metrics["pseudo/mask_rate"] < 1.0  # the threshold alone (0.0) would take the whole pool
    assert metrics["pseudo/accuracy"] > metrics["pseudo/pool_accuracy"]  # and what it takes is more often right


def test_fixmatch_precision_keeps_every_class_closed_until_the_model_earns_it(tmp_path):
    run = tiny_run(tmp_path, [*FIXMATCH_RUN, "technique.threshold=0.0", "technique.precision=0.9", "debug.trainer.steps_per_epoch=20",
                              "debug.trainer.epochs=3", "trainer.verbose=0"])
    client = MlflowClient(store_uri(tmp_path))
    history = {key: [m.value for m in client.get_metric_history(run.tracker_refs["mlflow"], key)] for key in ("mask_rate", "pseudo/open_classes")}
    assert history["mask_rate"][0] == 0 and history["pseudo/open_classes"][0] == 0  # an untrained model vouches for nothing
    assert history["mask_rate"][-1] > 0 and history["pseudo/open_classes"][-1] >= 1  # the training step reads the opened classes


def test_a_curriculum_round_accepts_its_share_of_the_pool_and_logs_calibration(tmp_path):
    run = tiny_run(tmp_path, ["+experiment=semisup", "technique.curriculum=0.5", "technique.precision=null", "technique.rounds=1", "trainer.verbose=0",
                              "tracking.log_model=false", "tracking.tensorboard=false", "export.formats=[]"])
    metrics = MlflowClient(store_uri(tmp_path)).get_run(run.tracker_refs["mlflow"]).data.metrics
    pool = metrics["pseudo/accepted"] / metrics["pseudo/mask_rate"]
    assert 0.5 <= metrics["pseudo/mask_rate"] <= 0.5 + 10 / pool  # half of each predicted class (10), rounded up
    assert {"val_ece", "test_ece"} <= set(metrics)  # how far to trust the confidence the rounds read


def test_pseudo_label_diagnostics_compare_with_the_hidden_labels():
    from tfexp_semisup.pseudo_labels import PseudoLabelTally

    tally = PseudoLabelTally(0.95, class_names=["a", "b", "c"])
    tally.add(PROBS[:3], hidden_y=np.array([0, 0, 2]))  # counted batch by batch
    tally.add(PROBS[3:], hidden_y=np.array([2]))
    stats = tally.stats()
    assert stats["accepted"] == 2 and stats["mask_rate"] == 0.5
    assert stats["accuracy"] == 0.5  # row 0 right, row 2 wrong
    assert stats["pool_accuracy"] == 0.75
    assert (stats["count_a"], stats["count_b"], stats["count_c"]) == (1, 1, 0)
    none = PseudoLabelTally(0.99, ["a", "b", "c"])
    none.add(PROBS, np.zeros(4, int))
    assert "accuracy" not in none.stats()


def test_a_round_streams_the_pool_and_writes_predictions_as_targets(tmp_path):
    import tensorflow as tf

    from tfexp_semisup.pseudo_labels import PseudoLabelTally
    from tfexp_semisup.self_training import label_pool, read_pseudo_labels

    def identity_model(x, training=False):  # its logits are its inputs: softmax(log p) = p
        return x

    x_unlabeled = np.log(np.maximum(PROBS, 1e-6))
    pool = tf.data.Dataset.from_tensor_slices((x_unlabeled, np.array([0, 0, 2, 2]))).batch(3)  # two batches
    tally = PseudoLabelTally(0.9, ["a", "b", "c"])  # below 0.95: softmax(log p) is p only up to rounding
    assert label_pool(identity_model, pool, tally, tmp_path / "round.tfrecord") == 2
    labeled_spec = (tf.TensorSpec([3], tf.float32), tf.TensorSpec([], tf.int32))
    stored = read_pseudo_labels(tmp_path / "round.tfrecord", labeled_spec)
    assert stored.element_spec == labeled_spec  # shapes known: it batches like the labeled stream it is mixed with
    x, y = zip(*stored.as_numpy_iterator())
    assert np.allclose(x, x_unlabeled[[0, 2]]) and list(y) == [0, 1] and y[0].dtype == np.int32
    assert tally.stats()["accuracy"] == 0.5  # the hidden labels went to the tally only


def test_fixmatch_batches_carry_no_unlabeled_labels(digits):
    from tfexp_semisup.fixmatch import fixmatch_dataset

    views = split_labeled(digits, seed=0, fraction=0.1)
    ds = fixmatch_dataset(views.labeled.dataset("train", batch_size=8, training=True, seed=0),
                          views.pool.dataset("train", batch_size=24, training=True, seed=0))
    (x_l_spec, y_l_spec), x_u_spec = ds.element_spec
    assert x_u_spec.shape[1:] == digits.x_train.shape[1:]  # inputs only: no label tensor exists
    (x_l, y_l), x_u = next(iter(ds))
    assert x_l.shape[0] == 8 and x_u.shape[0] == 24
    pool_rows = {x for x, _ in rows(views.pool)}
    assert all(row.tobytes() in pool_rows for row in x_u.numpy())


def test_the_fixmatch_preset_is_the_semisup_preset_with_fixmatch_and_its_budget():
    """``+experiment=fixmatch``: the same data, labels and rule as ``+experiment=semisup``, with
    the budget FixMatch needs in steps (it lost at 50 epochs: experiments/validation.md);
    tests/test_trainer_steps.py checks what the steps become."""
    semisup, fixmatch = compose(["+experiment=semisup"]), compose(["+experiment=fixmatch"])
    assert fixmatch.technique == {**semisup.technique, "method": "fixmatch"} and semisup.technique.precision == 0.95
    assert (fixmatch.data, fixmatch.model) == (semisup.data, semisup.model)
    assert (semisup.trainer.steps, fixmatch.trainer.steps) == (None, 750)
    assert compose(["+experiment=fixmatch", "trainer.steps=null"]).trainer.epochs == semisup.trainer.epochs
    assert apply_debug(compose(["+experiment=fixmatch", "debug=fast"])).trainer.steps is None  # a smoke run stays one short epoch

def test_augmenters_suit_the_data():
    import keras

    from tfexp_semisup.augment import augmenters

    aug = checked_config(compose(["+experiment=semisup"]).technique).augment
    weak, strong = augmenters((8, 8, 1), aug)
    assert any(isinstance(layer, keras.layers.RandomTranslation) for layer in weak.layers)
    assert any(isinstance(layer, keras.layers.RandomRotation) for layer in strong.layers)
    weak, strong = augmenters((64,), aug)
    assert {type(layer).__name__ for layer in strong.layers} == {"FeatureSwap", "GaussianNoise"}
    x = np.ones((4, 64), dtype="float32")
    assert np.array_equal(keras.ops.convert_to_numpy(strong(x, training=False)), x)
    assert not np.array_equal(keras.ops.convert_to_numpy(strong(x, training=True)), x)


def test_tabular_strong_view_swaps_features_between_rows():
    import keras

    from tfexp_semisup.augment import FeatureSwap

    x = np.arange(256 * 8, dtype="float32").reshape(256, 8)  # every value is unique: where it came from shows
    swapped = keras.ops.convert_to_numpy(FeatureSwap(0.3, seed=0)(x, training=True))
    assert all(set(swapped[:, j]) <= set(x[:, j]) for j in range(8))  # each feature keeps its own values
    changed = (swapped != x).mean()
    assert 0.25 < changed < 0.35  # 30% drawn (2048 draws: +-1%), less those that drew their own row


def test_sequence_views_shift_scale_and_cut_a_window():
    import keras

    from tfexp_semisup.augment import SequenceView, augmenters

    x = np.tile(np.arange(1, 33, dtype="float32"), (64, 1))  # 1..32: a shift is visible, a zero is a cut
    shifted = keras.ops.convert_to_numpy(SequenceView(shift=0.125, seed=0)(x, training=True))
    offsets = {next(k for k in range(-4, 5) if np.array_equal(np.roll(x[0], k), row)) for row in shifted}  # each row a roll
    assert len(offsets) > 1 and max(map(abs, offsets)) <= 4
    cut = keras.ops.convert_to_numpy(SequenceView(cutout=0.25, seed=0)(x, training=True))
    for row in cut:
        (zeros,) = np.nonzero(row == 0)
        assert len(zeros) == 8 and np.all(np.diff(zeros) == 1)  # one window of 8 samples
    scaled = keras.ops.convert_to_numpy(SequenceView(scale=0.3, seed=0)(x, training=True)) / x
    assert np.allclose(scaled, scaled[:, :1]) and 0.7 <= scaled.min() and scaled.max() <= 1.3
    aug = checked_config(compose(["+experiment=semisup", "technique.augment.kind=sequence"]).technique).augment
    weak, strong = augmenters((32,), aug)  # a signal read as a flat CSV row
    assert "FeatureDrop" not in {type(layer).__name__ for layer in strong.layers} and isinstance(weak.layers[0], SequenceView)
    assert isinstance(augmenters((32, 2), checked_config(compose(["+experiment=semisup"]).technique).augment)[0].layers[0], SequenceView)
    with pytest.raises(ConfigError, match=r"technique.augment.kind=image does not fit inputs of shape \(32,\)"):
        augmenters((32,), checked_config(compose(["+experiment=semisup", "technique.augment.kind=image"]).technique).augment)


# -- configuration ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "override,key",
    [("technique.method=mixmatch", "technique.method"), ("technique.labeled_fraction=1.5", "technique.labeled_fraction"),
     ("technique.threshold=2", "technique.threshold"), ("+technique.thresold=0.9", "technique.thresold"),
     ("technique.augment.feature_drop=1", "technique.augment.feature_drop"),
     ("technique.diagnostic_examples=0", "technique.diagnostic_examples"), ("technique.augment.kind=audio", "technique.augment.kind"),
     ("technique.curriculum=0", "technique.curriculum"), ("technique.augment.feature_swap=1", "technique.augment.feature_swap"),
     ("technique.precision=1.5", "technique.precision")],
)
def test_bad_technique_values_name_the_key(override, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        checked_config(compose(["+experiment=semisup", override]).technique)


def test_cli_config_error_is_one_line_and_fast(tmp_path):
    result = run_cli(["+experiment=semisup", "technique.method=mixmatch"], cwd=tmp_path)
    assert result.returncode == 1 and "technique.method='mixmatch' is invalid" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "mlflow.db").exists()


# -- hidden labels never reach a loss ---------------------------------------------------

POISON = 99  # a class that does not exist: a loss that saw it would fail, a target list would show it


class PoisonedPool(Data):
    """A pool view whose hidden labels all read 99."""

    def __init__(self, pool):
        self.pool, self.spec = pool, pool.spec

    def records(self, split, **kwargs):
        return self.pool.records(split, **kwargs)

    def decode(self, batch, raw):
        import tensorflow as tf

        x, y = self.pool.decode(batch, raw)
        return x, tf.fill(tf.shape(y), tf.constant(POISON, y.dtype))


class PoisonedHiddenLabels(SemiSupervised):
    """semisup whose pool hides the label 99 for every example."""

    @hookimpl(wrapper=True)  # semisup wraps the core's data; so does this subclass
    def tfexp_build_data(self, run):
        labeled = yield from super().tfexp_build_data(run)
        self.pool = PoisonedPool(self.pool)
        return labeled


class RecordTargets:
    """Registers the poisoned technique and builds a classifier that records every target
    batch ``fit`` trains it on (eager, so the values can be kept)."""

    def __init__(self):
        self.targets: list[np.ndarray] = []

    @hookimpl
    def tfexp_register_techniques(self):
        return [TechniqueSpec("semisup_poisoned", PoisonedHiddenLabels)]

    @hookimpl
    def tfexp_build_model(self, run, data):
        import keras

        seen = self.targets

        class Recording(keras.Model):
            def train_step(self, data):
                seen.append(np.asarray(data[1]))
                return super().train_step(data)

        base = run.registry.get("model", run.cfg.model.name).build(run.cfg.model, data.spec.input_shape, data.spec.num_outputs)
        return Recording(base.inputs, base.outputs)

    @hookimpl
    def tfexp_before_compile(self, run, model, compile_kwargs):
        compile_kwargs["run_eagerly"] = True


@pytest.mark.parametrize("method", METHODS)
def test_hidden_labels_never_reach_the_training_loss(tmp_path, method):
    recorder = RecordTargets()
    run = tiny_run(
        tmp_path,
        ["+experiment=semisup", "technique.name=semisup_poisoned", f"technique.method={method}", "technique.threshold=0.0", "technique.precision=null",
         "tracking.log_model=false", "tracking.tensorboard=false"],
        plugins=[recorder],
    )
    full = run.registry.get("data", "digits").load(run.cfg.data, run.cfg.seed)
    keep = kept_by_rule(split_labeled(full, run.cfg.seed, fraction=0.1).labeled.rule, full.x_train, full.y_train)
    expected = Counter((x.tobytes(), int(y)) for x, y in zip(full.x_train[keep], full.y_train[keep]))
    assert rows(run.data) == expected  # the model's train split is the labeled subset
    targets = np.concatenate(recorder.targets) if recorder.targets else np.array([])
    assert POISON not in targets and np.all(np.isfinite(run.history["loss"]))
    if method == "pseudo_label":  # every pool example was accepted, so the targets include pseudo-labels
        assert len(targets) > 5 * 32 and run.history.get("val_loss")
    if method != "autoencoder":  # the diagnostics did read the poisoned labels: none matches
        client = MlflowClient(store_uri(tmp_path))
        assert client.get_run(run.tracker_refs["mlflow"]).data.metrics["pseudo/accuracy"] == 0.0


# -- end to end, as a user runs it, on TFRecord shards -------------------------------------


@pytest.fixture(scope="module")
def digits_shards(tmp_path_factory):
    """digits written as 3 TFRecord shards per split plus schema.json, by the documented converter."""
    from tfexp.data.__main__ import main as convert_main

    return convert_main(["convert", "data=digits", f"out={tmp_path_factory.mktemp('digits') / 'tfrecord'}", "shards=3"])


def test_the_same_examples_keep_their_labels_in_arrays_and_in_shards(digits_shards):
    from tfexp_files.tfrecord_source import load

    cfg = compose(["data=digits"])  # the converter's seed: the same train split
    arrays = load_digits(cfg.data, seed=cfg.seed)
    shards = load(compose(["data=tfrecord", f"data.schema={digits_shards}"]).data, cfg.seed)
    assert rows(shards) == rows(arrays)
    from_arrays, from_shards = split_labeled(arrays, 5, 0.1), split_labeled(shards, 5, 0.1)
    assert rows(from_shards.labeled) == rows(from_arrays.labeled) and rows(from_shards.pool) == rows(from_arrays.pool)


@pytest.mark.slow
def test_every_method_finishes_with_its_diagnostics_logged(tmp_path, digits_shards):
    result = run_cli(
        ["-m", "+experiment=semisup", "debug=fast", "data=tfrecord", f"data.schema={digits_shards}", f"technique.method={','.join(METHODS)}",
         "technique.baseline=true", "technique.threshold=0.0", "technique.precision=null", "tracking.log_model=false"],
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = [run for run in mlflow_runs(tmp_path, "semisup") if "mlflow.parentRunId" in run.data.tags]  # the children, not the parent
    runs = {run.data.params["technique.method"]: run for run in jobs}
    assert set(runs) == set(METHODS) and all(run.info.status == "FINISHED" for run in runs.values())
    pseudo = {"pseudo/accepted", "pseudo/mask_rate", "pseudo/accuracy", "pseudo/pool_accuracy"} | {f"pseudo/count_{c}" for c in range(10)}
    expected = {
        "pseudo_label": pseudo,
        "fixmatch": pseudo | {"mask_rate", "accepted", "labeled_loss", "unlabeled_loss"},
        "autoencoder": {"reconstruction/loss", "reconstruction/val_loss"},
    }
    for method, run in runs.items():
        metrics = run.data.metrics
        assert expected[method] | {"val_accuracy", "test_accuracy", "test_baseline_accuracy", "test_accuracy_gain", "baseline/val_accuracy"} <= set(metrics)
        assert metrics["test_accuracy_gain"] == pytest.approx(metrics["test_accuracy"] - metrics["test_baseline_accuracy"])
        labeled, unlabeled = int(run.data.params["semisup.labeled_examples"]), int(run.data.params["semisup.unlabeled_examples"])
        assert labeled + unlabeled == 1167 and labeled == pytest.approx(0.1 * 1167, abs=15)  # digits' train split, by a hash
    assert runs["pseudo_label"].data.metrics["pseudo/mask_rate"] == 1.0  # threshold 0 accepts everything
    assert "reconstructions.png" in artifact_paths(tmp_path, runs["autoencoder"].info.run_id)


@pytest.mark.slow  # ~45 s: a fresh process with two logical CPUs
def test_fixmatch_trains_on_two_mirrored_replicas(tmp_path):
    """Logical CPUs must exist before TensorFlow starts: a fresh process, as a user runs it.
    Threshold 0 accepts every pseudo-label, so the unlabeled term runs on both replicas."""
    result = run_cli(
        ["+experiment=semisup", "technique.method=fixmatch", "technique.threshold=0.0", "technique.precision=null", "technique.diagnostic_examples=64",
         "strategy=mirrored", "strategy.logical_cpus=2", "debug=fast", "trainer.steps_per_epoch=2",
         "tracking.log_model=false", "tracking.tensorboard=false", "export.formats=[]"],
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (run,) = mlflow_runs(tmp_path, "semisup")
    metrics = run.data.metrics
    assert run.info.status == "FINISHED" and run.data.tags["tfexp.strategy.replicas"] == "2"
    assert all(math.isfinite(metrics[k]) for k in ("loss", "labeled_loss", "unlabeled_loss", "val_loss", "test_loss"))
    assert metrics["mask_rate"] == 1.0 and metrics["unlabeled_loss"] > 0
