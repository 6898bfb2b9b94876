"""distill's loss, its teacher-logits cache and config checks, in this process (no training, no MLflow)."""

from __future__ import annotations

import numpy as np
import pytest

from tfexp.errors import ConfigError
from tfexp.testing import compose

LABELS = np.array([0, 3, 9, 3])
STUDENT = np.array(
    [[2.0, -1.0, 0.5, 0.0, 1.0, -2.0, 0.3, 0.0, 0.1, -0.5],
     [0.0, 0.2, -0.3, 1.5, 0.0, 0.0, -1.0, 2.0, 0.4, 0.0],
     [-1.0, 0.0, 0.0, 0.5, 0.7, 0.0, 0.0, 0.0, 0.2, 3.0],
     [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]],
    dtype="float32",
)
TEACHER = np.array(
    [[5.0, 0.0, 1.0, -1.0, 2.0, -3.0, 0.0, 0.5, 0.0, -1.0],
     [-2.0, 0.0, 0.0, 6.0, 0.0, 1.0, -1.0, 2.5, 0.0, 0.0],
     [0.0, -1.0, 0.0, 0.0, 1.0, 0.0, 0.0, -2.0, 0.5, 4.0],
     [0.0, 1.0, 0.0, 3.0, 0.0, 0.0, 0.0, 0.0, 2.0, 0.0]],
    dtype="float32",
)


def softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def reference_loss(y, student, teacher, temperature, alpha):
    """alpha * CE(y, student) + (1 - alpha) * T^2 * KL(softmax(teacher/T) || softmax(student/T)), batch mean."""
    ce = -np.log(softmax(student)[np.arange(len(y)), y]).mean()
    p, q = softmax(teacher / temperature), softmax(student / temperature)
    kl = (p * np.log(p / q)).sum(axis=-1).mean()
    return alpha * ce + (1 - alpha) * temperature**2 * kl


def cached_loss(temperature, alpha):
    """The training loss on fixed logits, through the cached-teacher Distiller the run uses."""
    import keras

    from tfexp_distill.distiller import INPUTS, TEACHER_LOGITS, make_cached_distiller

    student = keras.Sequential([keras.Input((10,)), keras.layers.Dense(10)])
    distiller = make_cached_distiller(student, (10,), 10, temperature, alpha)
    distiller.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = {INPUTS: np.eye(4, 10, dtype="float32"), TEACHER_LOGITS: TEACHER}
    return float(distiller.compute_loss(x=x, y=LABELS, y_pred=STUDENT))


@pytest.mark.parametrize("temperature, alpha", [(1.0, 0.5), (4.0, 0.1), (8.0, 0.0), (2.0, 0.9)])
def test_loss_matches_numpy_reference(temperature, alpha):
    assert cached_loss(temperature, alpha) == pytest.approx(reference_loss(LABELS, STUDENT, TEACHER, temperature, alpha), rel=1e-4)


def test_soft_term_is_scaled_by_temperature_squared():
    kl_t4 = (softmax(TEACHER / 4) * np.log(softmax(TEACHER / 4) / softmax(STUDENT / 4))).sum(-1).mean()
    assert cached_loss(4.0, 0.0) == pytest.approx(16 * kl_t4, rel=1e-4)


def test_alpha_one_is_plain_cross_entropy():
    import keras

    plain = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(LABELS, STUDENT)
    assert cached_loss(4.0, 1.0) == pytest.approx(float(plain), rel=1e-5)


def test_live_teacher_and_cached_logits_give_the_same_loss():
    """Without the cache the Distiller runs the teacher itself: here a layer whose
    kernel holds the fixed logits, so one-hot inputs return them."""
    import keras

    from tfexp_distill.distiller import make_distiller

    teacher = keras.Sequential([keras.Input((4,)), keras.layers.Dense(10, use_bias=False)])
    teacher.set_weights([TEACHER])
    student = keras.Sequential([keras.Input((4,)), keras.layers.Dense(10)])
    distiller = make_distiller(student, teacher, 4.0, 0.3)
    distiller.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    live = float(distiller.compute_loss(x=np.eye(4, dtype="float32"), y=LABELS, y_pred=STUDENT))
    assert live == pytest.approx(cached_loss(4.0, 0.3), rel=1e-5)
    assert not teacher.trainable  # frozen by the Distiller


def test_cached_logits_travel_with_their_examples(tmp_path):
    """Written from a shuffled pipeline and read back reshuffled, every example keeps its own
    teacher logits and label (nothing is matched by position); the teacher runs once per example."""
    import keras

    from tfexp.data import ArrayData
    from tfexp_distill import logits_cache
    from tfexp_distill.distiller import INPUTS, TEACHER_LOGITS

    x = np.random.default_rng(0).normal(size=(50, 4)).astype("float32")
    x[:, 0] = np.arange(50)  # each example says which it is
    y = np.arange(50) % 10
    data = ArrayData(x, y, x[:10], y[:10], x[:10], y[:10])
    keras.utils.set_random_seed(0)
    dense = keras.Sequential([keras.Input((4,)), keras.layers.Dense(10)])
    seen = []

    def teacher(x, training):
        seen.append(len(x))
        return dense(x, training=training)

    cached = logits_cache.write_once(teacher, data.dataset("train", batch_size=8, training=True, seed=1), 10, tmp_path / "train")
    epochs = [list(logits_cache.examples(cached, batch_size=7, shuffle_buffer=50, seed=2)) for _ in range(2)]
    assert sum(seen) == 50  # both epochs read the file
    batches = epochs[0] + epochs[1]
    inputs = np.concatenate([b[INPUTS] for b, _ in batches])
    logits = np.concatenate([b[TEACHER_LOGITS] for b, _ in batches])
    labels = np.concatenate([label for _, label in batches])
    assert sorted(inputs[:, 0]) == sorted(2 * list(range(50))) and list(inputs[:50, 0]) != list(range(50))
    np.testing.assert_allclose(logits, dense(inputs), rtol=1e-5)
    assert (labels == inputs[:, 0].astype(int) % 10).all()

    # A complete cache (another trial's, or one a stop left) is read, not written again;
    # and a rerun that finds it reads the same examples.
    again = logits_cache.write_once(teacher, data.dataset("train", batch_size=8, training=True, seed=1), 10, tmp_path / "train")
    assert sum(seen) == 50 and again.size == 50
    assert [list(b[INPUTS][:, 0]) for b, _ in again.batches] == [list(b[INPUTS][:, 0]) for b, _ in cached.batches]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train"]  # nothing left beside it


@pytest.mark.parametrize(
    "override, key",
    [
        ("technique.temperature=0", "technique.temperature"),
        ("technique.alpha=1.5", "technique.alpha"),
        ("technique.temperature=hot", "technique.temperature"),
        ("+technique.tempreature=2", "technique.tempreature"),
        ("technique.teacher_model=null", "technique.teacher_model"),
        ("technique.teacher_learning_rate=-1", "technique.teacher_learning_rate"),
    ],
)
def test_bad_settings_name_the_key(override, key):
    from tfexp_distill.config import check_distill_config

    cfg = compose(["+experiment=distill", override])
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        check_distill_config(cfg.technique)


def test_preset_composes_with_any_registered_model_for_teacher_and_student():
    from tfexp_distill.config import check_distill_config

    cfg = compose(["+experiment=distill", "model=cnn", "model@technique.teacher_model=cnn", "technique.temperature=2"])
    technique = check_distill_config(cfg.technique)
    assert cfg.model.name == "cnn" and technique.teacher_model.name == "cnn" and technique.temperature == 2.0
    assert check_distill_config(compose(["+experiment=distill", "technique.teacher_model=null", "technique.teacher=x.keras"]).technique).teacher == "x.keras"
