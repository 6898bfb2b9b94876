"""Training and evaluation under MultiWorkerMirroredStrategy without ``model.fit``.

Keras 3's ``fit``/``evaluate`` fail under MultiWorkerMirroredStrategy ("Attempt to convert
a value (PerReplica...) to a Tensor", keras-team/keras#20585). This loop does what they
do, with the model's own compiled ``train_step``/``test_step`` run per replica:

- the train split is one repeated stream of *global* batches (``trainer.batch_size``,
  ``drop_remainder`` so every worker takes the same number of steps), split by tf.data
  across workers and replicas; each replica's loss is scaled by Keras to the global batch
  and the optimizer all-reduces (sums) the gradients;
- a stage that brings batches of its own (a technique's data view: cached teacher logits,
  labeled and unlabeled batches, pseudo-labels) hands over *global* batches of a
  deterministic pipeline: every worker builds the same one and keeps its replicas' part of
  each batch (:func:`spread`), so a technique writes no per-worker code;
- epoch metrics are read from the metric variables in cross-replica context: they are
  summed over every replica of every worker, so they are exact, and identical on all workers;
- the same Keras callbacks as ``fit`` (tfexp's HookCallback, checkpoints, NaN guard, the
  user's), through ``keras.callbacks.CallbackList``.

Every worker runs every line here (collectives need all of them); only the chief tracks.
"""

from __future__ import annotations

import logging
import warnings

log = logging.getLogger("tfexp.strategies")


class DistributedSteps:
    """The model's train/test steps under ``strategy.run``, traced once."""

    def __init__(self, model, strategy):
        import tensorflow as tf

        self.model, self.strategy = model, strategy
        # Keras jit-compiles the per-replica step, not the collective around it.
        self._train_replica = tf.function(model.train_step, jit_compile=True) if model.jit_compile else model.train_step
        self._train = tf.function(self._train_global)
        self._test = tf.function(self._test_all)
        self._test_names: set[str] = set()

    def _train_global(self, iterator):
        logs = self.strategy.run(self._train_replica, args=(next(iterator),))
        return {name: self.strategy.reduce("MEAN", value, axis=None) for name, value in logs.items()}

    def _test_all(self, dataset):
        for batch in dataset:  # in a tf.function: workers agree on the end (partial last batch)
            # What test_step reports, noted while tracing (a wrapper's train-only metrics are not).
            self._test_names.update(self.strategy.run(self.model.test_step, args=(batch,)))

    def train_step(self, iterator) -> dict:
        """One global batch; returns the replicas' mean running metrics (as tensors)."""
        return self._train(iterator)

    def results(self) -> dict[str, float]:
        """The metrics so far, over every replica of every worker."""
        return {name: float(value) for name, value in self.model.get_metrics_result().items()}

    def evaluate(self, dataset) -> dict[str, float]:
        self.model.reset_metrics()
        with warnings.catch_warnings():  # tf.data warns about options read while tracing
            warnings.filterwarnings("ignore", message="To make it possible to preserve tf.data options")
            self._test(dataset)
        return {name: value for name, value in self.results().items() if name in self._test_names}


def steps_of(run, model) -> DistributedSteps:
    """The traced steps of ``model``, one set per model (a technique trains several: a
    teacher, a baseline, a Distiller), kept in ``run.info`` so that a stage's fit and the
    evaluations after it share them."""
    steps = run.info.setdefault("distributed_steps", {})
    if id(model) not in steps:  # the steps hold the model, so its id is not reused in the run
        steps[id(model)] = DistributedSteps(model, run.strategy)
    return steps[id(model)]


def distribute(run, split: str, training: bool = False):
    """One pipeline per worker, built from its ``InputContext``: a file source reads only
    this worker's files, arrays keep every N-th example; batches are split over replicas."""

    def per_worker(input_context):
        return run.dataset(split, training=training, input_context=input_context, drop_remainder=training).repeat(-1 if training else 1)

    return run.strategy.distribute_datasets_from_function(per_worker)


def spread(run, batches):
    """A stage's own global batches over the workers: every worker runs the same pipeline
    (same seed, same order) and keeps its replicas' part of each batch (tf.data's DATA
    sharding), so each step sees the batch one worker would see."""
    import tensorflow as tf

    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return run.strategy.experimental_distribute_dataset(batches.with_options(options))


def batches_per_epoch(batches) -> int:
    """How many batches one pass of a stage's own stream holds: declared, or counted once
    (every worker counts the same pipeline)."""
    import tensorflow as tf

    from tfexp.errors import TfexpError

    n = int(batches.cardinality())
    if n == tf.data.INFINITE_CARDINALITY:
        raise TfexpError("a stage's train batches repeat forever, so an epoch has no end: pass run.fit(..., steps_per_epoch=N)")
    return n if n >= 0 else int(batches.reduce(0, lambda count, _: count + 1))


def steps_per_epoch(run, data) -> int:
    from tfexp.errors import ConfigError

    t = run.cfg.trainer
    if t.steps_per_epoch:
        return t.steps_per_epoch
    size = data.spec.size("train")
    if size is None:
        raise ConfigError(
            f"data={run.cfg.data.name} does not declare the size of its train split, and multi-worker training needs "
            f"the steps per epoch up front: set trainer.steps_per_epoch (or write a schema with counts: python -m tfexp.data convert)"
        )
    steps = size // t.batch_size
    if steps == 0:
        raise ConfigError(
            f"trainer.batch_size={t.batch_size} is larger than the train split ({size} examples): "
            f"multi-worker training drops incomplete global batches. Lower trainer.batch_size."
        )
    return steps


def fit(run, model, callbacks, epochs: int, train=None, val=None, n_steps: int | None = None) -> None:
    """Train like ``model.fit`` from ``run.initial_epoch`` on the run's splits, or on a
    stage's own ``train``/``val`` batches (``n_steps`` per epoch, default one pass); the
    stage service around it checkpoints and recovers from NaN."""
    t = run.cfg.trainer
    replicas = run.strategy.num_replicas_in_sync
    if t.batch_size % replicas:
        log.warning("trainer.batch_size=%d (global) does not split evenly over %d replicas", t.batch_size, replicas)
    if train is None:
        n_steps, stream = steps_per_epoch(run, run.data), distribute(run, "train", training=True)
    else:
        n_steps, stream = n_steps or batches_per_epoch(train), spread(run, train.repeat())
    val = distribute(run, "val") if val is None else spread(run, val)
    _train_epochs(run, model, steps_of(run, model), iter(stream), val, callbacks, n_steps, epochs)
    detach(model)


def _train_epochs(run, model, steps, iterator, val, callbacks, n_steps: int, epochs: int) -> None:
    import keras

    t = run.cfg.trainer
    callback_list = keras.callbacks.CallbackList(
        callbacks, add_history=True, add_progbar=t.verbose != 0, model=model, verbose=t.verbose, epochs=epochs, steps=n_steps
    )
    model.stop_training = False
    callback_list.on_train_begin()
    logs: dict[str, float] = {}
    for epoch in range(run.initial_epoch, epochs):
        model.reset_metrics()
        callback_list.on_epoch_begin(epoch)
        for step in range(n_steps):
            callback_list.on_train_batch_begin(step)
            callback_list.on_train_batch_end(step, steps.train_step(iterator))
            if model.stop_training:
                break
        logs = steps.results()
        logs |= {f"val_{name}": value for name, value in steps.evaluate(val).items()}
        callback_list.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    callback_list.on_train_end(logs)


def evaluate(run, model, split: str = "test", batches=None) -> dict[str, float]:
    """``model.evaluate`` on every worker at once: exact metrics over the whole split of the
    run's data, or over a stage's own ``batches``."""
    return steps_of(run, model).evaluate(distribute(run, split) if batches is None else spread(run, batches))


def detach(model) -> None:
    """After training, let ``predict``/``save``/export run on one worker alone.

    Keras routes ``predict`` through the strategy the model was built under; under
    MultiWorkerMirroredStrategy that gathers across workers and would wait forever when
    only the chief calls it (to log the model). Without it, variables are read locally.
    The models inside a wrapper (a Distiller's student, FixMatch's classifier) too."""
    import keras

    for layer in model._flatten_layers(include_self=True):
        if isinstance(layer, keras.Model):
            layer._distribute_strategy = None


def wait_for_all_workers(strategy) -> None:
    """A barrier (an all-reduce of one number): workers leave the run together, so no
    worker outlives another by long enough to report it as crashed."""
    import tensorflow as tf

    strategy.reduce("SUM", strategy.run(lambda: tf.constant(1.0)), axis=None)
