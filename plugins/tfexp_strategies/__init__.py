"""Built-in distribution strategies."""

from tfexp import hookimpl
from tfexp.components import StrategySpec


def default_strategy(cfg):
    import tensorflow as tf

    return tf.distribute.get_strategy()


@hookimpl
def tfexp_register_strategies():
    return [StrategySpec("default", default_strategy, "TensorFlow's default strategy (one device)")]
