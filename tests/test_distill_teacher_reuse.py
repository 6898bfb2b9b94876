"""A distill sweep trains each teacher config once: later trials reuse its weights (tfexp_distill.teacher_cache)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest
from omegaconf import OmegaConf

from tfexp.testing import compose, mlflow_runs, run_cli
from tfexp_distill.teacher_cache import cache_dir, teacher_key, train_or_reuse

DISTILL = ("+experiment=distill",)
FAST_SWEEP = ("-m", *DISTILL, "debug=fast", "tracking.tensorboard=false", "export.formats=[]")


@pytest.fixture(scope="module")
def preset():
    return compose(DISTILL)


def changed(cfg, **values):
    """``cfg`` with dotted keys (``technique__alpha`` for ``technique.alpha``) set to ``values``."""
    cfg = cfg.copy()
    for dotted, value in values.items():
        OmegaConf.update(cfg, dotted.replace("__", "."), value, merge=False)
    return cfg


STUDENT_KEYS = dict(technique__temperature=8.0, technique__alpha=0.1, technique__baseline=True, model__hidden_units=[32],
                    trainer__learning_rate=0.003, sweep__trial=7, tracking__log_model=False, technique__reuse_teacher=False)
TEACHER_KEYS = dict(seed=7, technique__teacher_learning_rate=0.002, technique__teacher_model__hidden_units=[64], technique__teacher_model__name="cnn",
                    trainer__epochs=3, data__val_fraction=0.2, trainer__batch_size=32)


@pytest.mark.parametrize("name", STUDENT_KEYS)
def test_student_keys_keep_the_teacher(preset, name):
    assert teacher_key(changed(preset, **{name: STUDENT_KEYS[name]})) == teacher_key(preset)


@pytest.mark.parametrize("name", TEACHER_KEYS)
def test_teacher_keys_retrain_it(preset, name):
    assert teacher_key(changed(preset, **{name: TEACHER_KEYS[name]})) != teacher_key(preset)


def test_without_a_teacher_learning_rate_the_students_trains_the_teacher_too(preset):
    shared = changed(preset, technique__teacher_learning_rate=None)
    assert teacher_key(changed(shared, trainer__learning_rate=0.003)) != teacher_key(shared)


def test_a_single_run_reuses_only_with_a_cache_directory(preset, tmp_path):
    assert cache_dir(preset) is None  # outside a sweep: trains, as always
    assert cache_dir(changed(preset, technique__teacher_cache_dir=str(tmp_path))) == tmp_path
    assert cache_dir(changed(preset, technique__teacher_cache_dir=str(tmp_path), technique__reuse_teacher=False)) is None


def test_two_trials_at_once_train_the_teacher_once(preset, tmp_path):
    """The lock: the trial that comes second waits while the first trains, then loads its weights."""
    import keras
    import numpy as np

    cfg = changed(preset, technique__teacher_cache_dir=str(tmp_path))
    trained = []

    def trial(number: int):
        teacher = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
        run = SimpleNamespace(cfg=cfg, tags={}, metrics={}, tracker_refs={"mlflow": f"run-{number}"}, output_dir=tmp_path / str(number))
        run.set_tags = run.tags.update
        run.log_metrics = lambda metrics, step: run.metrics.update(metrics)

        def train():
            time.sleep(1)  # the other trial arrives while this one trains
            teacher.set_weights([np.full(w.shape, number, "float32") for w in teacher.get_weights()])
            trained.append(number)

        def evaluate():
            run.log_metrics({"teacher/test_accuracy": number / 10}, step=1)  # as run.evaluate logs it
            return {"accuracy": number / 10}

        train_or_reuse(run, teacher, train, evaluate)
        return run, teacher.get_weights()

    with ThreadPoolExecutor(2) as pool:
        (run_1, weights_1), (run_2, weights_2) = pool.map(trial, [1, 2])
    (first,) = trained
    for weights in (weights_1, weights_2):
        assert all((w == first).all() for w in weights)
    reused = run_2 if first == 1 else run_1
    assert reused.tags["tfexp.distill.teacher"].startswith("reused: ") and reused.tags["tfexp.distill.teacher_run_id"] == f"run-{first}"
    assert run_1.metrics == run_2.metrics == {"teacher/test_accuracy": first / 10}  # the reusing trial logs the trainer's test metrics
    tags_1 = run_1.tags
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{tags_1['tfexp.distill.teacher_key']}{ext}" for ext in (".json", ".lock", ".weights.h5"))


def children(directory) -> dict[int, object]:
    return {int(r.data.tags["tfexp.job"]): r for r in mlflow_runs(directory) if "tfexp.job" in r.data.tags}


@pytest.mark.slow
def test_a_sweep_trains_each_teacher_once(tmp_path):
    """Four jobs, two teacher learning rates: jobs 0 and 1 train a teacher each, jobs 2 and 3
    (other temperatures, same teachers) reuse them: no teacher epochs, same teacher test accuracy."""
    result = run_cli([*FAST_SWEEP, "technique.temperature=1,2", "technique.teacher_learning_rate=0.001,0.003"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = children(tmp_path)
    assert sorted(jobs) == [0, 1, 2, 3] and {r.info.status for r in jobs.values()} == {"FINISHED"}
    for trained, reused in ((0, 2), (1, 3)):
        first, later = jobs[trained], jobs[reused]
        assert first.data.params["technique.teacher_learning_rate"] == later.data.params["technique.teacher_learning_rate"]
        assert "teacher/val_accuracy" in first.data.metrics and "teacher/val_accuracy" not in later.data.metrics
        assert later.data.tags["tfexp.distill.teacher"].startswith("reused: ")
        assert later.data.tags["tfexp.distill.teacher_run_id"] == first.info.run_id
        assert later.data.metrics["teacher/test_accuracy"] == pytest.approx(first.data.metrics["teacher/test_accuracy"], abs=1e-6)
        assert "student/val_accuracy" in later.data.metrics
    assert jobs[0].data.tags["tfexp.distill.teacher_key"] != jobs[1].data.tags["tfexp.distill.teacher_key"]
    (sweep_dir,) = (tmp_path / "multirun").glob("*/*")
    assert sorted(p.name for p in (sweep_dir / "teachers").glob("*.weights.h5")) == sorted(
        f"{jobs[j].data.tags['tfexp.distill.teacher_key']}.weights.h5" for j in (0, 1))
    assert result.stderr.count("distill: teacher reused from") == 2
    logits = {p.name: sorted(q.name for q in p.iterdir()) for p in (sweep_dir / "teachers").glob("*.logits")}
    assert logits == {f"{jobs[j].data.tags['tfexp.distill.teacher_key']}.logits": ["train", "val"] for j in (0, 1)}  # and read by jobs 2, 3


@pytest.mark.slow
@pytest.mark.long
def test_parallel_trials_wait_for_the_one_training_the_teacher(tmp_path):
    """joblib, two jobs at once with the same teacher: the second waits on the lock and reuses."""
    result = run_cli([*FAST_SWEEP, "technique.temperature=1,2", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = children(tmp_path)
    sources = sorted(r.data.tags["tfexp.distill.teacher"].split(":")[0] for r in jobs.values())
    assert sources == ["reused", "trained in this run (artifact"]
    assert len({r.data.metrics["teacher/test_accuracy"] for r in jobs.values()}) == 1

