"""TFLite quantization on digits: file size, test accuracy next to the Keras model, latency.

    python benchmarks/export_tflite.py [--models mlp,cnn] [--epochs 20] [--seeds 1,2,3]

For each model and seed, trains through tfexp in this process (no tracking), exports the
serving SavedModel, converts it with every ``export.tflite.quantization`` and runs the
TFLite interpreter on the raw test inputs, streamed batch by batch like the exporter's
check (``tfexp_export.exporter.compare_on_test``). Prints a markdown table per model: file size,
Keras and TFLite test accuracy (mean ± std over seeds), the largest gap to Keras over the
seeds, the share of test examples where TFLite and Keras predict the same class, and
milliseconds per single-example call (median).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

QUANTIZATIONS = ("none", "dynamic", "float16", "int8")


def single_example_ms(model_path: Path, signature_name: str, raw: np.ndarray) -> float:
    from tfexp_export.tflite import interpreter
    from tfexp_export.serving import INPUT_NAME

    runner = interpreter(model_path).get_signature_runner(signature_name)
    times = []
    for row in raw:
        start = time.perf_counter()
        runner(**{INPUT_NAME: row[None].astype("float32")})
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def tflite_logits(model_path: Path, signature_name: str, data) -> np.ndarray:
    """The TFLite model's logits on the raw test split, in one streaming pass (in order)."""
    from tfexp_export import tflite

    return np.concatenate([tflite.predict(model_path, signature_name, raw.numpy())["logits"]
                           for raw, _ in data.dataset("test", batch_size=1024, raw=True)])


def measure(model_name: str, epochs: int, seed: int, scratch: Path) -> dict[str, dict[str, float]]:
    from tfexp_export import tflite

    from tfexp.data import predict
    from tfexp.runner import run_experiment
    from tfexp.testing import compose

    cfg = compose([f"model={model_name}", f"trainer.epochs={epochs}", f"seed={seed}", "tracking=none", "trainer.verbose=0", "export.formats=[saved_model]"])
    run = run_experiment(cfg, scratch / f"{model_name}-{seed}")
    (saved_model,) = (run.output_dir / "export" / model_name).iterdir()
    data, signature = run.data, cfg.export.signature_name
    keras_logits, y_test = predict(run.model, data, "test", batch_size=1024)
    _, keras_accuracy = tflite.score("multiclass", keras_logits, y_test, np.array([0.5]))
    representative = data.sample("train", cfg.export.tflite.representative_samples, raw=True, seed=seed)  # as the exporter calibrates
    rows = {}
    for quantization in QUANTIZATIONS:
        path = scratch / f"{model_name}-{seed}-{quantization}.tflite"
        path.write_bytes(tflite.convert(saved_model, signature, quantization, representative))
        logits = tflite_logits(path, signature, data)
        _, accuracy = tflite.score("multiclass", logits, y_test, np.array([0.5]))
        rows[quantization] = {
            "bytes": path.stat().st_size,
            "keras_accuracy": keras_accuracy,
            "tflite_accuracy": accuracy,
            "agreement": float(np.mean(logits.argmax(-1) == keras_logits.argmax(-1))),
            "ms": single_example_ms(path, signature, data.sample("test", 200, raw=True)),
        }
    return rows


def mean_std(values: list[float]) -> str:
    return f"{statistics.fmean(values):.4f} ± {statistics.stdev(values) if len(values) > 1 else 0.0:.4f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="mlp,cnn")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seeds", default="1,2,3")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    with tempfile.TemporaryDirectory() as scratch:
        for model_name in args.models.split(","):
            per_seed = [measure(model_name, args.epochs, seed, Path(scratch)) for seed in seeds]
            print(f"\n{model_name} on digits, {args.epochs} epochs, seeds {args.seeds}\n")
            print("| quantization | tflite bytes | keras test acc | tflite test acc | largest gap | same class | ms / example |")
            print("|---|---|---|---|---|---|---|")
            for q in QUANTIZATIONS:
                rows = [seed_rows[q] for seed_rows in per_seed]
                gap = max(abs(r["tflite_accuracy"] - r["keras_accuracy"]) for r in rows)
                print(f"| {q} | {int(statistics.fmean(r['bytes'] for r in rows))} | {mean_std([r['keras_accuracy'] for r in rows])} "
                      f"| {mean_std([r['tflite_accuracy'] for r in rows])} | {gap:.4f} | {statistics.fmean(r['agreement'] for r in rows):.4f} "
                      f"| {statistics.median(r['ms'] for r in rows):.3f} |")


if __name__ == "__main__":
    main()
