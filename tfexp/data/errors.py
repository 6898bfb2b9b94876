"""Bad records, reported in one line.

A check inside a tf.data pipeline can only fail as a TensorFlow error, raised far away
where the run reads the batch (``fit``, ``predict``). :func:`check_records` tags its message;
:func:`read_error` turns a tagged TensorFlow error back into a one-line :class:`ConfigError`.
"""

from __future__ import annotations

import re

from tfexp.errors import ConfigError

TAG = "tfexp-bad-record: "
_TAGGED = re.compile(re.escape(TAG) + r"(.*?)[\]\"']*$", re.MULTILINE)
_SIZE = re.compile(r"Key: ([^,\s]+), Index: \d+\.\s+Number of \w+ values != expected\.\s+Values size: (\d+) but output shape: \[([\d, ]*)\]")
_MISSING = re.compile(r"Feature: (\S+) \(data type: (\w+)\) is required but could not be found")
_UNPARSED = re.compile(r"Key: ([^,\s]+), Index: \d+\.\s+(.*?)\s*$", re.MULTILINE)


def check_records(ok, message, value):
    """``value``, once ``ok`` (a scalar bool tensor) holds; else the pipeline fails with
    ``message()`` (a string tensor, built only on failure: good batches pay one test)."""
    import tensorflow as tf

    def fail():
        with tf.control_dependencies([tf.debugging.Assert(False, [tf.strings.join([TAG, message()])])]):
            return tf.identity(value)

    return tf.cond(ok, lambda: tf.identity(value), fail)


def check_finite(x, names: list[str]):
    """Inputs ``x`` ``[batch, len(names)]`` once every value is finite; else the pipeline
    fails naming the first column that holds NaN or inf (a CSV's empty cell reads as NaN)."""
    import tensorflow as tf

    finite = tf.math.is_finite(x)

    def message():
        column = tf.argmin(tf.reduce_min(tf.cast(finite, tf.int32), axis=0))
        return tf.strings.join(["column '", tf.gather(tf.constant(names), column), "' holds NaN, inf or an empty cell in a record; fix or drop those rows"])

    return check_records(tf.reduce_all(finite), message, x)


def read_error(exc: BaseException) -> ConfigError | None:
    """The one-line error a failed :func:`check_records` or ``parse_example`` stands for,
    or None for any other error."""
    if not type(exc).__module__.startswith("tensorflow"):
        return None
    text = str(exc).replace("\\'", "'")
    if match := _TAGGED.search(text):
        return ConfigError(f"bad data: {match.group(1)}")
    if match := _SIZE.search(text):
        key, size, shape = match.groups()
        return ConfigError(f"bad data: feature '{key}' has {size} value(s) in a record, expected shape [{shape}] (check data.features.{key} against the files)")
    if match := _MISSING.search(text):
        key, dtype = match.groups()
        return ConfigError(f"bad data: a record lacks feature '{key}' ({dtype}); check data.features and data.label against the files")
    if match := _UNPARSED.search(text):
        key, problem = match.groups()
        return ConfigError(f"bad data: a record does not parse: feature '{key}': {problem} (check data.features.{key} against the files)")
    return None
