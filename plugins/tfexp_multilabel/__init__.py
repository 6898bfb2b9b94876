"""Built-in technique plugin ``multilabel``, with its datasets ``synthetic_multilabel`` and
``multilabel_file`` (docs/multilabel.md). Nothing heavy is imported here."""

from tfexp import hookimpl
from tfexp.components import DatasetSpec, TechniqueSpec


def _technique(cfg):
    from tfexp_multilabel.technique import Multilabel

    return Multilabel(cfg)


def _load_synthetic(cfg, seed):
    from tfexp_multilabel.datasets import load_synthetic_multilabel

    return load_synthetic_multilabel(cfg, seed)


def _load_file(cfg, seed):
    from tfexp_multilabel.datasets import load_multilabel_file

    return load_multilabel_file(cfg, seed)


@hookimpl
def tfexp_register_techniques():
    return [TechniqueSpec("multilabel", _technique, "sigmoid outputs + BCE, F1-tuned thresholds, multi-label metrics")]


@hookimpl
def tfexp_register_datasets():
    return [
        DatasetSpec("synthetic_multilabel", _load_synthetic, "sklearn make_multilabel_classification (data.n_labels, cardinality, n_samples)"),
        DatasetSpec("multilabel_file", _load_file, "a CSV/Parquet file: multi-hot label columns or a label-list column (data.path)"),
    ]


@hookimpl
def tfexp_configure(cfg):
    """Check this plugin's data keys early, before TensorFlow is imported."""
    from tfexp_multilabel.config import check_file, check_synthetic

    checks = {"synthetic_multilabel": check_synthetic, "multilabel_file": check_file}
    if (check := checks.get(cfg.data.name)) is not None:
        check(cfg.data)
