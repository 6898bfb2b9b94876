"""Where a teacher comes from (a tracker's URI or a saved file) and whether it fits the data."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tfexp.errors import ConfigError

HOW_TO = (
    "Give technique.teacher=runs:/<run_id>/model, models:/<name>/<version> or models:/<name>@<alias> "
    "(from the run's tracking URI), a .keras file or a SavedModel directory written by model.export(); "
    "or technique.teacher=null to train a teacher."
)


@dataclass
class LoadedTeacher:
    model: Any
    run_id: str | None
    """The tracker run that logged it, when the URI names one (``runs:/<id>/...``)."""


def is_tracker_uri(source: str) -> bool:
    """``runs:/...``, ``models:/...``: a URI a tracker resolves (``tfexp_load_model``), not a path."""
    scheme, sep, _ = source.partition(":/")
    return bool(sep) and scheme.isalpha() and len(scheme) > 1


def load_teachers(run, sources: list[str], input_shape: tuple[int, ...]) -> LoadedTeacher:
    """One teacher, or for several their :func:`ensemble` (the run ids joined by commas)."""
    if len(sources) == 1:
        return load_teacher(run, sources[0], input_shape)
    loaded = [load_teacher(run, source, input_shape) for source in sources]
    run_ids = ",".join(teacher.run_id for teacher in loaded if teacher.run_id)
    return LoadedTeacher(ensemble([teacher.model for teacher in loaded], input_shape), run_ids or None)


def ensemble(teachers: list, input_shape: tuple[int, ...]):
    """One model whose logits are the mean of the ``teachers``' logits. At temperature T its
    softened prediction is the normalized geometric mean of theirs, softmax(mean(z) / T); the
    mean of the probabilities would be no logits at all (only its log is, and only at T = 1).
    A model like any teacher: evaluated, cached and distilled as one."""
    import keras

    inputs = keras.Input(shape=input_shape, name="inputs")
    logits = keras.layers.Average(dtype="float32")([teacher(inputs) for teacher in teachers])
    return keras.Model(inputs, logits, name=f"ensemble_of_{len(teachers)}_teachers")


def load_teacher(run, source: str, input_shape: tuple[int, ...]) -> LoadedTeacher:
    """Load ``source``; any failure becomes one :class:`ConfigError` line that says what to give."""
    import tfexp.losses  # noqa: F401  (registers the loss a tfexp model compiled with label smoothing or class weights has)
    from tfexp.resolvers import load_model

    try:
        if is_tracker_uri(source):
            run_id = source.removeprefix("runs:/").split("/")[0] if source.startswith("runs:/") else None
            return LoadedTeacher(load_model(run.plugin_manager, run.cfg, source, "technique.teacher"), run_id)
        return LoadedTeacher(_load_from_path(Path(source).expanduser(), input_shape), None)
    except ConfigError:
        raise
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"technique.teacher={source!r} could not be loaded ({type(exc).__name__}: {reason}). {HOW_TO}") from exc


def _load_from_path(path: Path, input_shape: tuple[int, ...]):
    import keras

    if path.is_file() and path.suffix in (".keras", ".h5"):
        return keras.saving.load_model(path, compile=False)
    if (path / "MLmodel").is_file():
        import mlflow

        return mlflow.keras.load_model(str(path))
    if (path / "saved_model.pb").is_file():
        inputs = keras.Input(shape=input_shape, name="inputs")
        return keras.Model(inputs, keras.layers.TFSMLayer(str(path), call_endpoint="serve")(inputs), name="saved_model_teacher")
    raise FileNotFoundError(f"{path} is not a .keras/.h5 file, an MLflow model directory or a SavedModel directory")


def check_teacher_fits(teacher, data) -> None:
    """Fail before training when the teacher cannot read the inputs or predicts another number of classes."""
    spec = data.spec
    try:
        logits = teacher.predict(data.sample("train", 2), verbose=0)
    except Exception as exc:
        raise ConfigError(
            f"the teacher cannot read this data's inputs of shape {spec.input_shape} "
            f"({type(exc).__name__}: {str(exc).strip().splitlines()[0]}). Use a teacher trained on the same data config."
        ) from exc
    shape = getattr(logits, "shape", None)
    if shape is None or len(shape) != 2 or shape[-1] != spec.num_outputs:
        raise ConfigError(
            f"the teacher outputs shape {shape} per batch but the student predicts {spec.num_outputs} classes: "
            f"teacher and student need the same classes (logits of shape (batch, {spec.num_outputs})). "
            "Use a teacher trained on the same data."
        )
