"""A quiet terminal by default: TensorFlow's C++ logging and MLflow's store chatter stay
below WARNING; ``TFEXP_VERBOSE=1`` lets them all through (for a bug report).

Environment variables, because both libraries read them once, when first imported: call
:func:`quiet_libraries` before anything imports TensorFlow or MLflow (the sweep callback
imports MLflow before the first job), and again in each job's process (joblib, Ray).
"""

from __future__ import annotations

import logging
import os

VERBOSE_ENV = "TFEXP_VERBOSE"
QUIET = {
    "TF_CPP_MIN_LOG_LEVEL": "2",  # TensorFlow C++/absl: errors only (cpu_feature_guard, XLA, ...)
    "MLFLOW_LOGGING_LEVEL": "WARNING",  # "Creating initial MLflow database tables..."
    # MLflow's own "View run ... at: <link>" opens its GenAI view; tfexp prints the model-training one
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
}
CHATTY_LOGGERS = ("tensorflow", "absl", "mlflow")
"""Python loggers at INFO (e.g. "Assets written to: <a temporary dir>") unless verbose."""


def verbose() -> bool:
    return os.environ.get(VERBOSE_ENV, "").lower() in ("1", "true", "yes")


def quiet_libraries() -> None:
    """Set the quiet defaults (a value the user exported wins), or with ``TFEXP_VERBOSE=1``
    let the libraries' INFO lines through."""
    if verbose():
        for name in CHATTY_LOGGERS:
            logging.getLogger(name).setLevel(logging.INFO)
        return
    for key, value in QUIET.items():
        os.environ.setdefault(key, value)
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
