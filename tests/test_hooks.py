"""One contract test per hookspec (datasette's ``test_hook_<name>``): each shows that the
hook is called, with its documented arguments, at its documented moment.

Runs are shared by the module (in this process, tracking off, so only the recording plugins
see them): a finished one, its resume (by a run id a recording tracker resolves), one that
fails, and a two-job Hydra multirun. They train a tiny model, registered here, on 48
generated examples.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import numpy as np
import pytest

from tfexp import hookimpl, hookspecs
from tfexp.components import DatasetSpec, ModelSpec, StrategySpec, TechniqueSpec
from tfexp.plugins import build_plugin_manager, get_plugin_manager, get_registry
from tfexp.resolvers import load_model
from tfexp.runner import run_experiment
from tfexp.testing import FAST, FailsAfterFit, RecordingTracker, compose

OVERRIDES = ["tracking=none", "model.name=tiny_dense", "data.name=blobs", "strategy.name=recorded_default", "trainer.epochs=2",
             "debug.trainer.epochs=2", "debug.trainer.steps_per_epoch=1"]


def build_tiny_dense(model_cfg, input_shape, num_outputs):
    import keras

    return keras.Sequential([keras.Input(input_shape), keras.layers.Dense(num_outputs)])


def load_blobs(data_cfg, seed):
    from tfexp.data import Datasets

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(48, 3)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")
    return Datasets(x[:32], y[:32], x[32:40], y[32:40], x[40:], y[40:], class_names=["neg", "pos"])


class Everything(RecordingTracker):
    """The recording tracker, plus the components and the run-lifecycle hooks (the
    firstresult ones return None, so the defaults still run)."""

    def __init__(self):
        super().__init__()
        self.created: list = []

    @hookimpl
    def tfexp_register_models(self):
        self._record("register_models")
        return [ModelSpec("tiny_dense", build_tiny_dense, "one Dense layer")]

    @hookimpl
    def tfexp_register_datasets(self):
        self._record("register_datasets")
        return [DatasetSpec("blobs", load_blobs, "48 generated examples")]

    @hookimpl
    def tfexp_register_strategies(self):
        self._record("register_strategies")

        def create(strategy_cfg):
            import tensorflow as tf

            self.created.append(strategy_cfg)
            return tf.distribute.get_strategy()

        return [StrategySpec("recorded_default", create, "the default strategy, recorded")]

    @hookimpl
    def tfexp_register_techniques(self):
        self._record("register_techniques")
        return [TechniqueSpec("recorded_technique", lambda cfg: self.created.append(cfg) or object(), "does nothing")]

    @hookimpl
    def tfexp_configure(self, cfg):
        self._record("configure", cfg=cfg)

    @hookimpl
    def tfexp_after_strategy_created(self, run, strategy):
        self._record("after_strategy_created", run=run, strategy=strategy)

    @hookimpl
    def tfexp_build_data(self, run):
        self._record("build_data", run=run)

    @hookimpl
    def tfexp_build_model(self, run, data):
        self._record("build_model", run=run, data=data)

    @hookimpl
    def tfexp_before_compile(self, run, model, compile_kwargs):
        self._record("before_compile", run=run, model=model, compile_kwargs=dict(compile_kwargs))

    @hookimpl
    def tfexp_before_fit(self, run, model):
        import keras

        self._record("before_fit", run=run, model=model)
        recorder = self

        class Trained(keras.callbacks.Callback):
            def on_train_end(self, logs=None):
                recorder._record("keras_callback_trained")

        return [Trained()]

    @hookimpl
    def tfexp_run_fit(self, run, model, data, callbacks):
        self._record("run_fit", run=run, model=model, data=data, callbacks=list(callbacks))

    @hookimpl
    def tfexp_fit_stage(self, run, model, stage, train, val, epochs, steps_per_epoch, callbacks):
        self._record("fit_stage", run=run, model=model, stage=stage, train=train, val=val, epochs=epochs,
                     steps_per_epoch=steps_per_epoch, callbacks=list(callbacks))

    @hookimpl
    def tfexp_on_epoch_end(self, run, epoch, logs):
        self._record("on_epoch_end", run=run, epoch=epoch, logs=dict(logs))

    @hookimpl
    def tfexp_after_fit(self, run, model, history):
        self._record("after_fit", run=run, model=model, history=history)

    @hookimpl
    def tfexp_evaluate(self, run, model, data):
        self._record("evaluate", run=run, model=model, data=data)

    @hookimpl
    def tfexp_export_model(self, run, model):
        self._record("export_model", run=run, model=model)


def run_with(tracker, output_dir: Path, overrides=(), plugins=()):
    cfg = compose([*FAST, *OVERRIDES, *overrides])
    return run_experiment(cfg, output_dir, pm=build_plugin_manager((tracker, *plugins)), overrides=list(overrides))


class Locates:
    """A tracker that knows one run by an id of its own."""

    def __init__(self, ref: str, directory: Path):
        self.ref, self.directory, self.asked = ref, directory, []

    @hookimpl
    def tfexp_locate_run(self, cfg, ref):
        self.asked.append((cfg, ref))
        return self.directory if ref == self.ref else None


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A run that finished, the tracker that saw it, and that run resumed for a third epoch
    by the id a tracker knows it by."""
    tracker = Everything()
    run = run_with(tracker, tmp_path_factory.mktemp("finished") / "run", ["seed=3", "tracking.log_model=true"])
    resumed_tracker, locates = Everything(), Locates("recorded-run-1", run.output_dir)
    resumed = run_with(resumed_tracker, run.output_dir, ["resume=recorded-run-1", "trainer.epochs=3"], plugins=[locates])
    resumed.info["located"] = locates.asked
    return run, tracker, resumed, resumed_tracker


class registered:
    """``plugin`` in the process's plugin manager (the one the sweep callback asks)."""

    def __init__(self, plugin):
        self.plugin = plugin

    def __enter__(self):
        get_plugin_manager().register(self.plugin)

    def __exit__(self, *exc):
        get_plugin_manager().unregister(self.plugin)


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """``python -m tfexp -m seed=1,2`` in this process (Hydra's basic launcher runs the jobs
    here), seen by one recording tracker."""
    from tfexp.__main__ import cli

    directory = tmp_path_factory.mktemp("sweep")
    tracker = RecordingTracker()
    argv = ["tfexp", "-m", "seed=1,2", *FAST, "tracking=none", "export.formats=[]", f"hydra.sweep.dir={directory}"]
    with pytest.MonkeyPatch.context() as patch, registered(tracker):
        patch.setattr("sys.argv", argv)
        patch.chdir(directory)
        cli()
    return directory, tracker


@pytest.fixture(scope="module")
def failed(tmp_path_factory):
    tracker = Everything()
    with pytest.raises(RuntimeError, match="broken after fit") as raised:
        run_with(tracker, tmp_path_factory.mktemp("failed") / "run", plugins=[FailsAfterFit()])
    (run,) = {id(args["run"]): args["run"] for args in tracker.of("before_run")}.values()
    return run, tracker, raised.value


def only(tracker, hook) -> dict:
    (args,) = tracker.of(hook)
    return args


# -- registration ---------------------------------------------------------------------


def test_hook_register_models(finished):
    run, tracker, *_ = finished
    assert "register_models" in tracker.hooks()
    assert run.registry.entry("model", "tiny_dense").spec.description == "one Dense layer"
    assert run.model.layers[-1].units == 2  # built by its build(model_cfg, input_shape, num_outputs)


def test_hook_register_datasets(finished):
    run, tracker, *_ = finished
    assert "register_datasets" in tracker.hooks()
    assert run.data.spec.class_names == ("neg", "pos") and dict(run.data.spec.num_examples) == {"train": 32, "val": 8, "test": 8}


def test_hook_register_strategies(finished):
    run, tracker, *_ = finished
    assert "register_strategies" in tracker.hooks()
    assert tracker.created[0].name == "recorded_default"  # create(strategy_cfg)


def test_hook_register_techniques():
    tracker = Everything()
    registry = get_registry(build_plugin_manager((tracker,)))
    assert tracker.hooks() == ["register_models", "register_datasets", "register_strategies", "register_techniques"]
    technique_cfg = compose(["technique.name=recorded_technique"]).technique
    registry.get("technique", "recorded_technique").factory(technique_cfg)
    assert tracker.created == [technique_cfg]  # factory(technique_cfg)


# -- run lifecycle --------------------------------------------------------------------


def test_hook_configure(finished):
    run, tracker, *_ = finished
    cfg = only(tracker, "configure")["cfg"]
    assert cfg is run.cfg and cfg.trainer.steps_per_epoch == 1  # debug merged before it
    assert tracker.hooks().index("configure") < tracker.hooks().index("before_run")


def test_hook_before_run(finished):
    run, tracker, *_ = finished
    assert only(tracker, "before_run")["run"] is run
    assert tracker.hooks().index("before_run") < tracker.hooks().index("log_params")  # opened before anything is sent


def test_hook_after_strategy_created(finished):
    run, tracker, *_ = finished
    args = only(tracker, "after_strategy_created")
    assert args["run"] is run and args["strategy"] is run.strategy


def test_hook_build_data(finished):
    run, tracker, *_ = finished
    assert only(tracker, "build_data")["run"] is run


def test_hook_build_model(finished):
    run, tracker, *_ = finished
    args = only(tracker, "build_model")
    assert args["data"] is run.data and tracker.hooks().index("build_model") < tracker.hooks().index("before_compile")


def test_hook_before_compile(finished):
    run, tracker, *_ = finished
    args = only(tracker, "before_compile")
    assert args["model"] is run.model and {"optimizer", "loss", "metrics"} <= set(args["compile_kwargs"])


def test_hook_before_fit(finished):
    run, tracker, *_ = finished
    assert only(tracker, "before_fit")["model"] is run.model
    assert "keras_callback_trained" in tracker.hooks()  # the callback it returned took part in training


def test_hook_run_fit(finished):
    run, tracker, *_ = finished
    args = only(tracker, "run_fit")
    assert args["model"] is run.model and args["data"] is run.data
    assert any(type(cb).__name__ == "Trained" for cb in args["callbacks"])  # what tfexp_before_fit returned


def test_hook_fit_stage(finished):
    run, tracker, *_ = finished
    args = only(tracker, "fit_stage")
    assert args["model"] is run.model and args["epochs"] == 2 and args["steps_per_epoch"] == 1
    assert args["train"] is None and args["val"] is None  # the run's own splits


def test_hook_evaluate_stage(finished):
    """A technique's ``run.evaluate`` (a teacher, a baseline) asks the strategy's hook: the
    first implementation that answers gives the metrics; the default is ``model.evaluate``."""
    run, *_ = finished
    by_default = run.evaluate(run.model)
    assert {"loss", "accuracy", "ece"} <= set(by_default) and 0 <= by_default["accuracy"] <= 1

    class Strategy:
        @hookimpl(tryfirst=True)
        def tfexp_evaluate_stage(self, run, model, batches):
            self.asked = model, batches
            return {"loss": 0.25, "accuracy": 0.5}

    strategy = Strategy()
    run.plugin_manager.register(strategy)
    try:
        metrics = run.evaluate(run.model)
    finally:
        run.plugin_manager.unregister(strategy)
    assert (metrics["loss"], metrics["accuracy"]) == (0.25, 0.5) and strategy.asked[0] is run.model


def test_hook_on_epoch_end(finished):
    run, tracker, *_ = finished
    calls = tracker.of("on_epoch_end")
    assert [c["epoch"] for c in calls] == [0, 1]
    assert calls[-1]["logs"]["val_loss"] == run.history["val_loss"][-1] and isinstance(calls[-1]["logs"]["loss"], float)


def test_hook_after_fit(finished):
    run, tracker, *_ = finished
    args = only(tracker, "after_fit")
    assert args["model"] is run.model and len(args["history"]["loss"]) == 2


def test_hook_evaluate(finished):
    run, tracker, *_ = finished
    assert only(tracker, "evaluate")["data"] is run.data
    assert tracker.hooks().index("after_fit") < tracker.hooks().index("evaluate") < tracker.hooks().index("export_model")


def test_hook_export_model(finished):
    run, tracker, *_ = finished
    assert only(tracker, "export_model")["model"] is run.model


def test_hook_on_run_error(failed):
    run, tracker, error = failed
    args = only(tracker, "on_run_error")
    assert args["run"] is run and args["error"] is error
    # the core logged the traceback and the error line before trackers were told
    before = tracker.hooks()[: tracker.hooks().index("on_run_error")]
    assert before[-2:] == ["log_artifact", "set_tags"]


def test_hook_after_run(finished, failed):
    for (run, tracker, *_), status in ((finished, "FINISHED"), (failed, "FAILED")):
        assert tracker.hooks()[-1] == "after_run" and only(tracker, "after_run") == {"run": run, "status": status}


# -- tracking sink --------------------------------------------------------------------


def test_hook_log_params(finished):
    run, tracker, *_ = finished
    args, model_size = tracker.of("log_params")  # the config when the run starts, the model's size once built
    assert args["run"] is run and model_size["params"] == {"model.params": str(run.model.count_params())}
    assert args["params"]["model.name"] == "tiny_dense" and args["params"]["seed"] == 3 and args["params"]["trainer.epochs"] == 2
    assert args["params"]["model.hidden_units"] == [256, 128]  # flat dotted keys, lists whole, typed values


def test_hook_log_params_masks_secrets(tmp_path):
    tracker = Everything()
    run_with(tracker, tmp_path / "run", ["+data.api_token=s3cr3t", "tracking.uri=http://bob:pa55@host:5000"])
    assert tracker.params["data.api_token"] == "***" and tracker.params["tracking.uri"] == "http://bob:***@host:5000"
    assert "s3cr3t" not in tracker.tags["tfexp.overrides"] and "+data.api_token=***" in tracker.tags["tfexp.overrides"]


def test_hook_set_tags(finished):
    run, tracker, *_ = finished
    tags = tracker.tags
    assert {k: tags[k] for k in ("tfexp.technique", "tfexp.model", "tfexp.data", "tfexp.strategy")} == {
        "tfexp.technique": "supervised", "tfexp.model": "tiny_dense", "tfexp.data": "blobs", "tfexp.strategy": "recorded_default"}
    assert tags["tfexp.output_dir"] == str(run.output_dir) and tags["tfexp.overrides"] == "seed=3 tracking.log_model=true"
    assert "supervised==" in tags["tfexp.plugins"] and all(isinstance(v, str) for v in tags.values())


def test_hook_log_metrics(finished):
    run, tracker, *_ = finished
    assert [step for step, _ in tracker.metric("val_loss")] == [0, 1]
    assert tracker.metric("test_accuracy") == [(2, run.test_metrics["test_accuracy"])]  # at step trainer.epochs
    assert tracker.metric("objective") == [(2, run.history["val_accuracy"][-1])]


def test_hook_flush_tracking(finished):
    run, tracker, *_ = finished
    hooks = tracker.hooks()
    epochs_logged = [i for i, call in enumerate(tracker.calls) if call.hook == "log_metrics" and "val_loss" in call.args["metrics"]]
    for logged, next_logged in zip(epochs_logged, [*epochs_logged[1:], len(hooks)]):
        assert "flush_tracking" in hooks[logged:next_logged]  # each epoch's checkpoint is committed after a flush
    assert tracker.of("flush_tracking")[0] == {"run": run}


def test_hook_on_checkpoint_restored(finished):
    *_, resumed, tracker = finished
    assert only(tracker, "on_checkpoint_restored") == {"run": resumed, "epoch": 1}
    assert [step for step, _ in tracker.metric("val_loss")] == [2]  # only the new epoch after it
    assert "model.name" not in tracker.params  # a resumed run has its config params already


def test_hook_log_model(finished):
    run, tracker, *_ = finished
    args = only(tracker, "log_model")
    assert args["model"] is run.model and args["name"] == "model"


def test_hook_log_model_file(finished):
    """The exporter adds its prediction parameters to the run's logged model, after it was logged."""
    run, tracker, *_ = finished
    args = only(tracker, "log_model_file")
    assert args["name"] == "model" and Path(args["path"]).name == "prediction_params.json"
    assert tracker.hooks().index("log_model") < tracker.hooks().index("log_model_file")


def test_hook_log_artifact(finished, failed):
    run, tracker, *_ = finished
    logged = {(args["artifact_path"], Path(args["path"]).name): Path(args["path"]) for args in tracker.of("log_artifact")}
    assert (logged["config", "config"] / "config.yaml").is_file() and logged[None, "model_summary.txt"].is_file()
    run, tracker, error = failed
    (traceback_file,) = [Path(a["path"]) for a in tracker.of("log_artifact") if a["artifact_path"] == "error"]
    assert "broken after fit" in traceback_file.read_text() and traceback_file.parent.parent == run.output_dir
    assert tracker.tags["tfexp.error"].startswith("RuntimeError: broken after fit")


# -- sweep ----------------------------------------------------------------------------


def test_hook_sweep_start(swept):
    directory, tracker = swept
    assert tracker.hooks()[0] == "sweep_start"  # before the first job's run opens
    sweep = only(tracker, "sweep_start")["sweep"]
    assert sweep.directory == directory and sweep.space == {"seed": "1,2"} and sweep.n_jobs == 2
    assert sweep.objective == "val_accuracy" and sweep.direction == "maximize" and sweep.cfg is not None


def test_hook_sweep_job_end(swept):
    directory, tracker = swept
    runs = [args["run"] for args in tracker.of("before_run")]
    jobs = [args["job"] for args in tracker.of("sweep_job_end")]
    assert [job.index for job in jobs] == [0, 1] and [job.overrides["seed"] for job in jobs] == ["1", "2"]
    for job, run in zip(jobs, runs):
        assert job.status == "FINISHED" and job.objective == "val_accuracy" and job.value == run.objective
        assert job.output_dir == run.output_dir == directory / str(job.index)
    ends = [i for i, hook in enumerate(tracker.hooks()) if hook in ("after_run", "sweep_job_end")]
    assert [tracker.hooks()[i] for i in ends] == ["after_run", "sweep_job_end"] * 2  # each job's end, after its run


def test_hook_sweep_end(swept):
    directory, tracker = swept
    assert tracker.hooks()[-1] == "sweep_end"
    args = only(tracker, "sweep_end")
    summary, jobs = args["summary"], [a["job"] for a in tracker.of("sweep_job_end")]
    assert args["sweep"].directory == directory and [j.index for j in summary.jobs] == [0, 1]
    assert summary.best.index == max(jobs, key=lambda job: job.value).index and not summary.failed
    assert summary.files and all(path.is_file() and directory in path.parents for path in summary.files)


# -- resolvers ------------------------------------------------------------------------


def test_hook_locate_run(finished):
    run, _, resumed, tracker = finished
    ((cfg, ref),) = resumed.info["located"]
    assert ref == "recorded-run-1" and cfg.resume == "recorded-run-1"
    assert resumed.output_dir == run.output_dir and only(tracker, "on_checkpoint_restored")["epoch"] == 1


class LoadsModels:
    def __init__(self):
        self.asked = []

    @hookimpl
    def tfexp_load_model(self, cfg, uri):
        import keras

        self.asked.append((cfg, uri))
        return keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]) if uri.startswith("recorded:/") else None


def test_hook_load_model():
    loader, cfg = LoadsModels(), compose(["tracking=none"])
    pm = build_plugin_manager((loader,))
    model = load_model(pm, cfg, "recorded:/teacher", "technique.teacher")
    assert loader.asked == [(cfg, "recorded:/teacher")] and model.output_shape == (None, 2)


# -- the contract itself ---------------------------------------------------------------


def test_every_hookspec_has_a_contract_test():
    specs = {name.removeprefix("tfexp_") for name, _ in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("tfexp_")}
    tested = set(re.findall(r"^def test_hook_(\w+?)\(", Path(__file__).read_text(), re.M))
    assert specs - tested == set(), "hooks without a test_hook_<name> here"
