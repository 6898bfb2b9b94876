"""A teacher ensemble as a user gives it: ``technique.teacher=[a.keras,b.keras]`` distills from
the mean of the teachers' logits, evaluated (``teacher/test_*``) and cached like one teacher."""

from __future__ import annotations

import numpy as np
import pytest
from mlflow import MlflowClient

from tfexp.errors import ConfigError
from tfexp.testing import compose, store_uri, tiny_run
from tfexp_distill.config import check_distill_config
from tfexp_sklearn_data import load_digits

SHORT = ["+experiment=distill", "debug.trainer.epochs=1", "debug.trainer.steps_per_epoch=3", "trainer.verbose=0",
         "tracking.log_model=false", "tracking.tensorboard=false", "export.formats=[]"]


def write_teachers(directory, input_shape, classes: int = 10) -> list[str]:
    """Two different (untrained, differently seeded) logits models as ``.keras`` files."""
    import keras

    paths = []
    for seed in (1, 2):
        keras.utils.set_random_seed(seed)
        model = keras.Sequential([keras.Input(input_shape), keras.layers.Flatten(), keras.layers.Dense(classes)])
        paths.append(str(directory / f"teacher-{seed}.keras"))
        model.save(paths[-1])
    return paths


def test_two_teachers_are_distilled_as_the_mean_of_their_logits(tmp_path):
    import keras

    from tfexp.calibration import softmax

    cfg = compose(["+experiment=distill"])
    paths = write_teachers(tmp_path, load_digits(cfg.data, cfg.seed).spec.input_shape)
    run = tiny_run(tmp_path, [*SHORT, f"technique.teacher=[{','.join(paths)}]"])
    metrics = MlflowClient(store_uri(tmp_path)).get_run(run.tracker_refs["mlflow"]).data
    assert metrics.tags["tfexp.distill.teacher"] == ", ".join(paths)
    teachers = [keras.saving.load_model(path) for path in paths]
    losses = {"mean": [], "first": []}
    for x, y in run.dataset("test"):
        logits = [np.asarray(t(x)) for t in teachers]
        for name, z in (("mean", np.mean(logits, axis=0)), ("first", logits[0])):
            losses[name].extend(-np.log(softmax(z)[np.arange(len(y)), y.numpy()]))
    logged = metrics.metrics["teacher/test_loss"]
    assert logged == pytest.approx(np.mean(losses["mean"]), rel=1e-4) and logged != pytest.approx(np.mean(losses["first"]), rel=1e-3)
    assert "student/distillation_loss" in metrics.metrics  # distilled from the cached ensemble logits (the preset caches)


def test_an_empty_teacher_list_names_the_key():
    with pytest.raises(ConfigError, match=r"technique\.teacher=\[\] is empty: .*a list of them"):
        check_distill_config(compose(["+experiment=distill", "technique.teacher=[]"]).technique)
