"""The distill technique: teacher stage, optional from-scratch baseline, distilled student.

Everything is tracked in the run's one MLflow run, each stage under its prefix
(``teacher/``, ``baseline/``, ``student/``); the student is the run's model, so the
core logs it as ``model`` and its test metrics as ``test_*`` as well.
"""

from __future__ import annotations

import shutil

from tfexp import defaults, hookimpl
from tfexp.errors import ConfigError
from tfexp_distill.config import check_distill_config

GAIN = "distill_gain/test_accuracy"
CACHE_DIR = "teacher_logits"
"""Under the run's output directory: the cached examples with their teacher logits, one folder per split."""


class Distill:
    def __init__(self, cfg):
        self.cfg = cfg
        self.teacher = None
        self.teacher_trained_here = False
        self.baseline_test: dict[str, float] = {}

    @hookimpl
    def tfexp_configure(self, cfg):
        self.cfg = check_distill_config(cfg.technique)

    @hookimpl
    def tfexp_build_model(self, run, data):
        """Student from ``model`` (the core's default); teacher loaded or built, checked before any training."""
        from tfexp_distill.teacher import check_teacher_fits, load_teacher

        spec = data.spec
        if spec.task != "multiclass":
            raise ConfigError(f"technique=distill needs a multiclass dataset; data={run.cfg.data.name} is {spec.task}. Choose e.g. data=digits.")
        student = defaults.tfexp_build_model(run, data)
        if self.cfg.teacher:
            from tfexp_mlflow.session import tracking_uri

            loaded = load_teacher(self.cfg.teacher, tracking_uri(run.cfg), spec.input_shape)
            self.teacher = loaded.model
            run.set_tags({"tfexp.distill.teacher": self.cfg.teacher, **({"tfexp.distill.teacher_run_id": loaded.run_id} if loaded.run_id else {})})
        else:
            model_spec = run.registry.get("model", self.cfg.teacher_model.name)
            self.teacher = model_spec.build(self.cfg.teacher_model, spec.input_shape, spec.num_outputs)
            self.teacher_trained_here = True
            run.set_tags({"tfexp.distill.teacher": "trained in this run (artifact: teacher)"})
        check_teacher_fits(self.teacher, data)
        return student

    @hookimpl
    def tfexp_run_fit(self, run, model, data, callbacks):
        from tfexp.callbacks import CheckpointCallback, HookCallback

        defaults.check_batch_size(run, data)
        if self.teacher_trained_here:
            train_stage(run, self.teacher, data, "teacher/", learning_rate=self.cfg.teacher_learning_rate)
            run.log_model(self.teacher, "teacher")
        else:
            compile_like(run, self.teacher, model, data)
            evaluate_stage(run, self.teacher, "teacher/")
        if self.cfg.baseline:
            self.baseline_test = train_stage(run, fresh_copy(run, model, data), data, "baseline/")
        # The student's epochs go under student/; resume checkpoints are left out: they would
        # hold the Distiller, not the run's model, and a resumed run would redo the teacher.
        stage_callbacks = [cb for cb in callbacks if not isinstance(cb, (HookCallback, CheckpointCallback))]
        stage_callbacks.append(HookCallback(run, prefix="student/"))
        distill(run, model, self.teacher, data, self.cfg, stage_callbacks)
        return run.history

    @hookimpl
    def tfexp_evaluate(self, run, model, data):
        metrics = defaults.tfexp_evaluate(run, model, data)
        logged = {f"student/test_{k}": float(v) for k, v in metrics.items()}
        if self.baseline_test:
            logged[GAIN] = float(metrics["accuracy"]) - self.baseline_test["accuracy"]
        run.log_metrics(logged, step=run.cfg.trainer.epochs)
        return metrics


def compile_like(run, target, student, data, learning_rate: float | None = None) -> None:
    """Compile ``target`` like the run's student: loss and metrics for the task, a fresh copy
    of its optimizer (with ``learning_rate`` when given)."""
    import keras

    optimizer_config = keras.optimizers.serialize(student.optimizer)
    if learning_rate is not None:
        optimizer_config["config"]["learning_rate"] = float(learning_rate)
    with run.strategy.scope():
        optimizer = keras.optimizers.deserialize(optimizer_config)
        target.compile(**{**defaults.compile_kwargs_for(run, data.spec), "optimizer": optimizer})


def fresh_copy(run, student, data):
    """The student's architecture with its initial weights: a from-scratch twin for the baseline."""
    spec = run.registry.get("model", run.cfg.model.name)
    with run.strategy.scope():
        twin = spec.build(run.cfg.model, data.spec.input_shape, data.spec.num_outputs)
        twin.set_weights(student.get_weights())
    return twin


def fit(run, model, train, val, callbacks) -> None:
    t = run.cfg.trainer
    model.fit(train, validation_data=val, epochs=t.epochs, steps_per_epoch=t.steps_per_epoch, callbacks=callbacks, verbose=t.verbose, shuffle=False)


def train_stage(run, model, data, prefix: str, learning_rate: float | None = None) -> dict[str, float]:
    """Plain supervised training with the run's budget and pipelines; metrics under ``prefix``."""
    from tfexp.callbacks import HookCallback, StopOnPreemption

    compile_like(run, model, run.model, data, learning_rate)
    fit(run, model, run.dataset("train", training=True), run.dataset("val"), [HookCallback(run, prefix=prefix), StopOnPreemption(run)])
    return evaluate_stage(run, model, prefix)


def evaluate_stage(run, model, prefix: str) -> dict[str, float]:
    metrics = model.evaluate(run.dataset("test"), verbose=0, return_dict=True)
    run.log_metrics({f"{prefix}test_{k}": float(v) for k, v in metrics.items()}, step=run.cfg.trainer.epochs)
    return {k: float(v) for k, v in metrics.items()}


def distill(run, student, teacher, data, cfg, callbacks) -> None:
    """Train ``student`` through Keras's Distiller: the teacher runs on every batch, or once
    per example into a cache under the run's output directory (removed afterwards)."""
    from tfexp_distill.distiller import make_cached_distiller, make_distiller

    spec = data.spec
    with run.strategy.scope():
        if cfg.cache_teacher_logits:
            distiller = make_cached_distiller(student, spec.input_shape, spec.num_outputs, cfg.temperature, cfg.alpha)
        else:
            distiller = make_distiller(student, teacher, cfg.temperature, cfg.alpha)
        # The student's own optimizer (compiled by the run): its state is exported with the student.
        distiller.compile(**{**defaults.compile_kwargs_for(run, spec), "optimizer": student.optimizer})
    if not cfg.cache_teacher_logits:
        fit(run, distiller, run.dataset("train", training=True), run.dataset("val"), callbacks)
        return
    cache = run.output_dir / CACHE_DIR
    try:
        train = with_cached_teacher_logits(run, teacher, data, "train", cache)
        fit(run, distiller, train, with_cached_teacher_logits(run, teacher, data, "val", cache), callbacks)
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def with_cached_teacher_logits(run, teacher, data, split: str, cache):
    """``split`` as batches of ``({"inputs": x, "teacher_logits": logits}, y)``: one pass of
    the teacher over the run's pipeline writes them to ``cache/<split>``, the batches stream
    from there (for ``train``, shuffled like the run's own training pipeline)."""
    from tfexp_distill import logits_cache

    cached = logits_cache.write(teacher, run.dataset(split), data.spec.num_outputs, cache / split)
    return logits_cache.examples(
        cached, batch_size=run.cfg.trainer.batch_size, shuffle_buffer=data.shuffle_buffer(split, run.pipeline) if split == "train" else 0,
        seed=run.cfg.seed, prefetch=run.pipeline.prefetch,
    )
