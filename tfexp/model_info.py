"""The model's size and layout on every run: ``model.params`` (its parameter count) as a
param, ``model_summary.txt`` (Keras's summary) as an artifact at the run's top level, where
MLflow's compare view finds it in every run. Always on, for every technique."""

from __future__ import annotations

from tfexp import hookimpl


@hookimpl
def tfexp_before_fit(run, model):
    if not model.built:  # a subclassed model before its first call: no weights to count yet
        return []
    lines: list[str] = []
    model.summary(print_fn=lambda line, **kwargs: lines.append(line), line_length=100)
    path = run.output_dir / "model_summary.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    run.log_params({"model.params": str(model.count_params())})
    run.log_artifact(path)
    return []
