"""Write a run's model as one version of ``<base>/<model_name>/<version>/``:

- ``model.keras``: the trained network as Keras saves it (takes preprocessed inputs, gives
  logits: for loading, fine-tuning, evaluating in Python);
- ``saved_model.pb``, ``variables/``, ``assets/``: the serving SavedModel (raw inputs);
- ``model.tflite``: the same signature for TFLite, quantized as ``export.tflite.quantization``;
- ``prediction_params.json`` and ``export_info.json`` (what made it, sizes, test scores).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tfexp_export import serving, tflite
from tfexp_export.config import ExportConfig
from tfexp_export.prediction_params import FILENAME as PARAMS_FILE
from tfexp_export.prediction_params import prediction_params, thresholds
from tfexp_export.versions import publish, staging_dir

KERAS_FILE, TFLITE_FILE, INFO_FILE = "model.keras", "model.tflite", "export_info.json"


@dataclass
class Export:
    """One published version and what was measured while writing it."""

    model_name: str
    version: int
    path: Path
    sizes: dict[str, int] = field(default_factory=dict)
    """Bytes per format (``keras``, ``saved_model``, ``tflite``)."""
    scores: dict[str, float] = field(default_factory=dict)
    """Test metric per format, computed alike (``keras_test_accuracy``, ``tflite_test_accuracy``)."""

    def tags(self) -> dict[str, str]:
        return {"tfexp.export.version": str(self.version), **{f"tfexp.export.{k}_bytes": str(v) for k, v in self.sizes.items()}}

    def describe(self, quantization: str) -> str:
        sizes = ", ".join(f"{fmt}{f' ({quantization})' if fmt == 'tflite' else ''} {human(n)}" for fmt, n in self.sizes.items())
        scores = ", ".join(f"{k}={v:.4f}" for k, v in self.scores.items())
        return f"export: {self.model_name} version {self.version} in {self.path}: {sizes}" + (f"; {scores}" if scores else "")


def human(n: int) -> str:
    return f"{n / 1e6:.2f} MB" if n >= 1e6 else f"{n / 1e3:.1f} kB"


SAVED_MODEL_PARTS = ("saved_model.pb", "fingerprint.pb", "variables", "assets")


def saved_model_size(path: Path) -> int:
    """Bytes of the SavedModel's own files in ``path`` (the other formats lie beside them)."""
    parts = [path / name for name in SAVED_MODEL_PARTS]
    files = [p for p in parts if p.is_file()] + [f for d in parts if d.is_dir() for f in d.rglob("*") if f.is_file()]
    return sum(f.stat().st_size for f in files)


def base_dir(run, cfg: ExportConfig) -> Path:
    return Path(cfg.dir).expanduser().resolve() if cfg.dir else run.output_dir / "export"


def export_run(run, model, cfg: ExportConfig) -> Export:
    """Write every format of ``cfg.formats`` into a staging directory, then publish it."""
    name = cfg.model_name or run.subject.get("model") or "-".join(run.subject.values())  # RL: ppo-CartPole-v1
    model_dir = base_dir(run, cfg) / name
    staged = staging_dir(model_dir)
    try:
        sizes, scores = write_formats(run, model, cfg, prediction_params(run), staged)
        (staged / INFO_FILE).write_text(json.dumps(export_info(run, cfg, name, sizes, scores), indent=2) + "\n")
        version = publish(staged, model_dir)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    return Export(name, version, model_dir / str(version), sizes, scores)


def export_info(run, cfg: ExportConfig, name: str, sizes: dict, scores: dict) -> dict:
    """Where a version came from: enough to find its run in a shared export directory."""
    best = run.info.get("best_checkpoint")
    return {
        "model_name": name,
        "formats": list(cfg.formats),
        "tflite_quantization": cfg.tflite.quantization if "tflite" in cfg.formats else None,
        "bytes": sizes,
        "test": scores,
        "best_checkpoint": best.best if best else None,
        "tracker_refs": dict(run.tracker_refs),
        "output_dir": str(run.output_dir),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def write_formats(run, model, cfg: ExportConfig, params: dict, out: Path) -> tuple[dict[str, int], dict[str, float]]:
    spec = run.data.spec
    (out / PARAMS_FILE).write_text(json.dumps(params, indent=2) + "\n")
    cuts = thresholds(params, spec.num_outputs)
    sizes: dict[str, int] = {}
    scores: dict[str, float] = {}
    if "keras" in cfg.formats:
        model.save(out / KERAS_FILE)
        sizes["keras"] = (out / KERAS_FILE).stat().st_size
    if not {"saved_model", "tflite"} & set(cfg.formats):
        return sizes, scores
    with tempfile.TemporaryDirectory() as scratch:
        saved_model = out if "saved_model" in cfg.formats else Path(scratch) / "saved_model"
        serving.write_saved_model(model, spec, cuts, saved_model, cfg.signature_name)
        if "saved_model" in cfg.formats:
            sizes["saved_model"] = saved_model_size(saved_model)
        if "tflite" in cfg.formats:
            representative = run.data.sample("train", cfg.tflite.representative_samples, raw=True, seed=run.cfg.seed)
            (out / TFLITE_FILE).write_bytes(tflite.convert(saved_model, cfg.signature_name, cfg.tflite.quantization, representative))
            sizes["tflite"] = (out / TFLITE_FILE).stat().st_size
            scores = compare_on_test(run, model, out / TFLITE_FILE, cfg.signature_name, cuts)
    return sizes, scores


def compare_on_test(run, model, tflite_path: Path, signature_name: str, cuts: np.ndarray) -> dict[str, float]:
    """The Keras model on preprocessed test inputs and the TFLite model on raw ones, scored
    alike, in one streaming pass over the raw test split."""
    spec = run.data.spec
    keras_out, lite_out, targets = [], [], []
    for raw, y in run.dataset("test", raw=True, batch_size=1024):
        x = spec.preprocessing.apply(raw) if spec.preprocessing else raw
        keras_out.append(np.asarray(model(x, training=False)))
        lite_out.append(tflite.predict(tflite_path, signature_name, raw.numpy())[serving.model_output_key(spec.task)])
        targets.append(y.numpy())
    targets = np.concatenate(targets)
    metric, keras_value = tflite.score(spec.task, np.concatenate(keras_out), targets, cuts)
    _, lite_value = tflite.score(spec.task, np.concatenate(lite_out), targets, cuts)
    return {f"keras_test_{metric}": keras_value, f"tflite_test_{metric}": lite_value}
