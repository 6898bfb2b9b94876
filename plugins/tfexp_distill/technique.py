"""The distill technique: teacher stage, optional from-scratch baseline, distilled student.

Everything is tracked in the run's one MLflow run, each stage under its prefix
(``teacher/``, ``baseline/``, ``student/``); the student is the run's model, so the
core logs it as ``model`` and its test metrics as ``test_*`` as well.
"""

from __future__ import annotations

from tfexp import defaults, hookimpl
from tfexp.errors import ConfigError
from tfexp_distill.config import check_distill_config

GAIN = "distill_gain/test_accuracy"


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
    def tfexp_build_model(self, run, datasets):
        """Student from ``model`` (the core's default); teacher loaded or built, checked before any training."""
        from tfexp_distill.teacher import check_teacher_fits, load_teacher

        if datasets.task != "multiclass":
            raise ConfigError(f"technique=distill needs a multiclass dataset; data={run.cfg.data.name} is {datasets.task}. Choose e.g. data=digits.")
        student = defaults.tfexp_build_model(run, datasets)
        if self.cfg.teacher:
            from tfexp_mlflow.session import tracking_uri

            loaded = load_teacher(self.cfg.teacher, tracking_uri(run.cfg), datasets.input_shape)
            self.teacher = loaded.model
            run.set_tags({"tfexp.distill.teacher": self.cfg.teacher, **({"tfexp.distill.teacher_run_id": loaded.run_id} if loaded.run_id else {})})
        else:
            spec = run.registry.get("model", self.cfg.teacher_model.name)
            self.teacher = spec.build(self.cfg.teacher_model, datasets.input_shape, datasets.num_outputs)
            self.teacher_trained_here = True
            run.set_tags({"tfexp.distill.teacher": "trained in this run (artifact: teacher)"})
        check_teacher_fits(self.teacher, datasets)
        return student

    @hookimpl
    def tfexp_run_fit(self, run, model, datasets, callbacks):
        from tfexp.callbacks import CheckpointCallback, HookCallback

        if self.teacher_trained_here:
            train_stage(run, self.teacher, datasets, "teacher/", learning_rate=self.cfg.teacher_learning_rate)
            run.log_model(self.teacher, "teacher")
        else:
            compile_like(run, self.teacher, model, datasets)
            evaluate_stage(run, self.teacher, datasets, "teacher/")
        if self.cfg.baseline:
            self.baseline_test = train_stage(run, fresh_copy(run, model, datasets), datasets, "baseline/")
        # The student's epochs go under student/; resume checkpoints are left out: they would
        # hold the Distiller, not the run's model, and a resumed run would redo the teacher.
        stage_callbacks = [cb for cb in callbacks if not isinstance(cb, (HookCallback, CheckpointCallback))]
        stage_callbacks.append(HookCallback(run, prefix="student/"))
        distill(run, model, self.teacher, datasets, self.cfg, stage_callbacks)
        return run.history

    @hookimpl
    def tfexp_evaluate(self, run, model, datasets):
        metrics = defaults.tfexp_evaluate(run, model, datasets)
        logged = {f"student/test_{k}": float(v) for k, v in metrics.items()}
        if self.baseline_test:
            logged[GAIN] = float(metrics["accuracy"]) - self.baseline_test["accuracy"]
        run.log_metrics(logged, step=run.cfg.trainer.epochs)
        return metrics


def compile_like(run, target, student, datasets, learning_rate: float | None = None) -> None:
    """Compile ``target`` like the run's student: loss and metrics for the task, a fresh copy
    of its optimizer (with ``learning_rate`` when given)."""
    import keras

    optimizer_config = keras.optimizers.serialize(student.optimizer)
    if learning_rate is not None:
        optimizer_config["config"]["learning_rate"] = float(learning_rate)
    with run.strategy.scope():
        optimizer = keras.optimizers.deserialize(optimizer_config)
        target.compile(**{**defaults.compile_kwargs_for(run, datasets), "optimizer": optimizer})


def fresh_copy(run, student, datasets):
    """The student's architecture with its initial weights: a from-scratch twin for the baseline."""
    spec = run.registry.get("model", run.cfg.model.name)
    with run.strategy.scope():
        twin = spec.build(run.cfg.model, datasets.input_shape, datasets.num_outputs)
        twin.set_weights(student.get_weights())
    return twin


def fit(run, model, train, val, callbacks) -> None:
    t = run.cfg.trainer
    model.fit(train, validation_data=val, epochs=t.epochs, steps_per_epoch=t.steps_per_epoch, callbacks=callbacks, verbose=t.verbose, shuffle=False)


def train_stage(run, model, datasets, prefix: str, learning_rate: float | None = None) -> dict[str, float]:
    """Plain supervised training with the run's budget; metrics under ``prefix``."""
    from tfexp.callbacks import HookCallback

    compile_like(run, model, run.model, datasets, learning_rate)
    t = run.cfg.trainer
    train = datasets.as_tf("train", t.batch_size, shuffle=True, seed=run.cfg.seed)
    fit(run, model, train, datasets.as_tf("val", t.batch_size), [HookCallback(run, prefix=prefix)])
    return evaluate_stage(run, model, datasets, prefix)


def evaluate_stage(run, model, datasets, prefix: str) -> dict[str, float]:
    metrics = model.evaluate(datasets.as_tf("test", run.cfg.trainer.batch_size), verbose=0, return_dict=True)
    run.log_metrics({f"{prefix}test_{k}": float(v) for k, v in metrics.items()}, step=run.cfg.trainer.epochs)
    return {k: float(v) for k, v in metrics.items()}


def distill(run, student, teacher, datasets, cfg, callbacks) -> None:
    """Train ``student`` through Keras's Distiller, on cached teacher logits when enabled."""
    from tfexp_distill.distiller import make_cached_distiller, make_distiller, with_teacher_logits

    t = run.cfg.trainer
    with run.strategy.scope():
        if cfg.cache_teacher_logits:
            distiller = make_cached_distiller(student, datasets.input_shape, datasets.num_outputs, cfg.temperature, cfg.alpha)
        else:
            distiller = make_distiller(student, teacher, cfg.temperature, cfg.alpha)
        # The student's own optimizer (compiled by the run): its state is exported with the student.
        distiller.compile(**{**defaults.compile_kwargs_for(run, datasets), "optimizer": student.optimizer})
    if cfg.cache_teacher_logits:
        logits = {split: teacher.predict(datasets.split(split)[0], batch_size=t.batch_size, verbose=0) for split in ("train", "val")}
        train = with_teacher_logits(*datasets.split("train"), logits["train"], t.batch_size, shuffle=True, seed=run.cfg.seed)
        val = with_teacher_logits(*datasets.split("val"), logits["val"], t.batch_size)
    else:
        train = datasets.as_tf("train", t.batch_size, shuffle=True, seed=run.cfg.seed)
        val = datasets.as_tf("val", t.batch_size)
    fit(run, distiller, train, val, callbacks)
