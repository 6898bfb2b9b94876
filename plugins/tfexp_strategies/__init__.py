"""Built-in distribution strategies, precision, XLA and determinism (docs/strategies.md).

``strategy=NAME`` picks one of: default, cpu, gpu, mirrored, multi_worker, tpu, auto.
Every strategy also has ``precision``, ``jit_compile``, ``gpu_memory_growth`` and
``deterministic``. Under ``multi_worker`` this plugin trains and evaluates with its own
distributed loop (Keras 3's ``fit`` cannot); single-host strategies keep ``model.fit``.
Nothing heavy is imported here.
"""

from __future__ import annotations

import logging

from tfexp import hookimpl
from tfexp.components import StrategySpec

log = logging.getLogger("tfexp.strategies")

DESCRIPTIONS = {
    "default": "TensorFlow's default strategy (the first GPU if any, else the CPU)",
    "cpu": "one CPU device, even when GPUs are present",
    "gpu": "one GPU (strategy.device_index)",
    "mirrored": "data parallel over every local GPU (or strategy.devices / strategy.logical_cpus)",
    "multi_worker": "data parallel over several processes/machines ($TF_CONFIG or strategy.cluster)",
    "tpu": "TPUStrategy through TPUClusterResolver (strategy.tpu)",
    "auto": "picks tpu > mirrored (2+ GPUs) > gpu > cpu from what is present, and logs the choice",
}


def _creator(name: str):
    def create_strategy(node):
        from tfexp_strategies.factories import create

        return create(name, node)

    return create_strategy


def _ours(cfg) -> bool:
    return cfg.strategy.name in DESCRIPTIONS


@hookimpl
def tfexp_register_strategies():
    return [StrategySpec(name, _creator(name), description) for name, description in DESCRIPTIONS.items()]


@hookimpl
def tfexp_configure(cfg):
    if not _ours(cfg):
        return
    from tfexp_strategies.config import check_strategy_config
    from tfexp_strategies.multi_worker import export_tf_config

    cfg.strategy = check_strategy_config(cfg.strategy)
    if cfg.strategy.name == "multi_worker":
        export_tf_config(cfg.strategy)


PLAIN_WORDS = {
    "_DefaultDistributionStrategy": "one device, no distribution",
    "OneDeviceStrategy": "one device",
    "MirroredStrategy": "a copy of the model on each of {n} devices of this machine",
    "MultiWorkerMirroredStrategy": "{n} copies of the model across the cluster's workers",
    "CollectiveAllReduceStrategy": "{n} copies of the model across the cluster's workers",
    "TPUStrategy": "{n} TPU cores",
}


def in_words(kind: str, replicas: int) -> str:
    """The strategy as a user would say it (TensorFlow's class names are private)."""
    return PLAIN_WORDS.get(kind, f"{kind} with {{n}} replica(s)").format(n=replicas)


@hookimpl
def tfexp_after_strategy_created(run, strategy):
    """What was created goes to the log and the tags; numerics are set before the model exists."""
    kind, replicas = type(strategy).__name__, strategy.num_replicas_in_sync
    log.info("strategy=%s: %s", run.cfg.strategy.name, in_words(kind, replicas))
    run.set_tags({"tfexp.strategy.class": kind, "tfexp.strategy.replicas": str(replicas)})
    if not _ours(run.cfg):
        return
    from tfexp_strategies.numerics import apply_precision, enable_determinism

    apply_precision(run.cfg.strategy.precision)
    if run.cfg.strategy.deterministic:
        run.info["op_determinism_was_on"] = enable_determinism()


@hookimpl
def tfexp_before_compile(run, model, compile_kwargs):
    if not _ours(run.cfg):
        return
    from tfexp_strategies.numerics import check_float32_outputs

    if run.cfg.strategy.jit_compile is not None:
        compile_kwargs["jit_compile"] = run.cfg.strategy.jit_compile
    if run.cfg.strategy.precision != "float32":
        check_float32_outputs(model)


@hookimpl
def tfexp_fit_stage(run, model, train, val, epochs, steps_per_epoch, callbacks):
    from tfexp_strategies.multi_worker import is_multi_worker

    if not is_multi_worker(run.strategy):
        return None
    from tfexp_strategies.distributed_fit import fit

    fit(run, model, callbacks, epochs, train=train, val=val, n_steps=steps_per_epoch)
    return True


@hookimpl
def tfexp_evaluate_stage(run, model, batches):
    from tfexp_strategies.multi_worker import is_multi_worker

    if not is_multi_worker(run.strategy):
        return None
    from tfexp_strategies.distributed_fit import evaluate

    return evaluate(run, model, batches=batches)


@hookimpl
def tfexp_evaluate(run, model, data):
    from tfexp_strategies.multi_worker import is_multi_worker

    if not is_multi_worker(run.strategy):
        return None
    from tfexp.classification import log_classification_report
    from tfexp_strategies.distributed_fit import evaluate

    metrics = evaluate(run, model)
    if data.spec.task == "multiclass":
        metrics |= log_classification_report(run, model, data)  # test_ece
    return metrics


@hookimpl(wrapper=True)
def tfexp_after_run(run, status):
    """Put back what this run changed process-wide (the runner resets the dtype policy), and
    let multi-worker processes leave together: the barrier comes after every other plugin's
    ``tfexp_after_run`` (the chief's MLflow run is finished by then), so no worker outlives
    another by long enough to report it as crashed."""
    try:
        return (yield)
    finally:
        if status == "FINISHED" and run.strategy is not None:
            from tfexp_strategies.multi_worker import is_multi_worker

            if is_multi_worker(run.strategy):
                from tfexp_strategies.distributed_fit import wait_for_all_workers

                wait_for_all_workers(run.strategy)
        if "op_determinism_was_on" in run.info:
            from tfexp_strategies.numerics import restore_determinism

            restore_determinism(run.info["op_determinism_was_on"])
