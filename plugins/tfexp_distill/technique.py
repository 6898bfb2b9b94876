"""The distill technique: teacher stage, optional from-scratch baseline, distilled student.

Everything is tracked in the run's one MLflow run, each stage under its prefix
(``teacher/``, ``baseline/``, ``student/``); the student is the run's model, so the
core logs it as ``model`` and its test metrics as ``test_*`` as well.
"""

from __future__ import annotations

import shutil

from tfexp import hookimpl
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

    @hookimpl(wrapper=True)
    def tfexp_build_model(self, run, data):
        """Student: whatever builds the run's model (the core, or another plugin); teacher
        loaded or built, checked before any training."""
        from tfexp_distill.config import teacher_sources
        from tfexp_distill.teacher import check_teacher_fits, load_teachers

        spec = data.spec
        if spec.task != "multiclass":
            raise ConfigError(f"technique=distill needs a multiclass dataset; data={run.cfg.data.name} is {spec.task}. Choose e.g. data=digits.")
        student = yield
        if self.cfg.teacher:
            sources = teacher_sources(self.cfg.teacher)
            loaded = load_teachers(run, sources, spec.input_shape)
            self.teacher = loaded.model
            check_teacher_fits(self.teacher, data)  # one built here from the data's spec fits it
            run.set_tags({"tfexp.distill.teacher": ", ".join(sources), **({"tfexp.distill.teacher_run_id": loaded.run_id} if loaded.run_id else {})})
        else:
            model_spec = run.registry.get("model", self.cfg.teacher_model.name)
            self.teacher = model_spec.build(self.cfg.teacher_model, spec.input_shape, spec.num_outputs)
            self.teacher_trained_here = True
            run.set_tags({"tfexp.distill.teacher": "trained in this run (artifact: teacher)"})
        return student

    @hookimpl
    def tfexp_run_fit(self, run, model, data, callbacks):
        """Stages ``teacher`` (unless loaded), ``baseline`` (optional) and ``student``, each
        through the core's ``run.fit``: checkpointed, resumable, preemptible."""
        from tfexp_distill.teacher_cache import PREFIX, train_or_reuse

        compile_like(run, self.teacher, model, data, self.cfg.teacher_learning_rate if self.teacher_trained_here else None)
        evaluate_teacher = lambda: run.evaluate(self.teacher, prefix=PREFIX)  # noqa: E731
        shared_logits = None  # a loaded teacher's key does not cover its file's contents: nothing shared
        if self.teacher_trained_here:
            shared_logits = train_or_reuse(run, self.teacher, lambda: self.train_teacher(run), evaluate_teacher)
        else:
            evaluate_teacher()
        if self.cfg.baseline:
            baseline = fresh_copy(run, model, data)
            compile_like(run, baseline, model, data)
            run.fit(baseline, stage="baseline")
            self.baseline_test = run.evaluate(baseline, prefix="baseline/")
        distill(run, model, self.teacher, data, self.cfg, callbacks, shared_cache=shared_logits)
        return run.history

    def train_teacher(self, run) -> None:
        from tfexp.stages import skipped

        run.fit(self.teacher, stage="teacher")
        if not skipped(run, "teacher"):
            run.log_model(self.teacher, "teacher")

    @hookimpl(wrapper=True)
    def tfexp_evaluate(self, run, model, data):
        metrics = yield
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
        target.compile(**{**run.compile_kwargs(data.spec), "optimizer": optimizer})


def fresh_copy(run, student, data):
    """The student's architecture with its initial weights: a from-scratch twin for the baseline."""
    spec = run.registry.get("model", run.cfg.model.name)
    with run.strategy.scope():
        twin = spec.build(run.cfg.model, data.spec.input_shape, data.spec.num_outputs)
        twin.set_weights(student.get_weights())
    return twin


def distill(run, student, teacher, data, cfg, callbacks, shared_cache=None) -> None:
    """Train ``student`` through Keras's Distiller: the teacher runs on every batch, or once
    per example into a cache: ``shared_cache`` (kept for the sweep's other trials with this
    teacher), else one under the run's output directory (removed afterwards)."""
    from tfexp_distill.distiller import make_cached_distiller, make_distiller

    spec = data.spec
    with run.strategy.scope():
        if cfg.cache_teacher_logits:
            distiller = make_cached_distiller(student, spec.input_shape, spec.num_outputs, cfg.temperature, cfg.alpha)
        else:
            distiller = make_distiller(student, teacher, cfg.temperature, cfg.alpha)
        # The student's own optimizer (compiled by the run): its state is exported with the student.
        distiller.compile(**{**run.compile_kwargs(spec), "optimizer": student.optimizer})
    # The checkpoints hold the student (and its optimizer), never the Distiller around it.
    if not cfg.cache_teacher_logits:
        run.fit(distiller, stage="student", callbacks=callbacks, saves=student)
        return
    cache = shared_cache or run.output_dir / CACHE_DIR
    try:
        train = with_cached_teacher_logits(run, teacher, data, "train", cache)
        val = with_cached_teacher_logits(run, teacher, data, "val", cache)
        run.fit(distiller, stage="student", train=train, val=val, callbacks=callbacks, saves=student)
    finally:
        if not shared_cache:
            shutil.rmtree(cache, ignore_errors=True)


def with_cached_teacher_logits(run, teacher, data, split: str, cache):
    """``split`` as batches of ``({"inputs": x, "teacher_logits": logits}, y)``: one pass of
    the teacher over the run's pipeline writes them to ``cache/<split>`` (unless complete
    there already), the batches stream
    from there (for ``train``, shuffled like the run's own training pipeline)."""
    from tfexp_distill import logits_cache

    cached = logits_cache.write_once(teacher, run.dataset(split), data.spec.num_outputs, cache / split)
    return logits_cache.examples(
        cached, batch_size=run.cfg.trainer.batch_size, shuffle_buffer=data.shuffle_buffer(split, run.pipeline) if split == "train" else 0,
        seed=run.cfg.seed, prefetch=run.pipeline.prefetch,
    )
