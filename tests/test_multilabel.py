"""The multilabel technique: metrics, thresholds, datasets, and a run as a user starts it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn import metrics as skm
from tfexp_multilabel.config import check_file, check_technique
from tfexp_multilabel.datasets import load_multilabel_file, load_synthetic_multilabel
from tfexp_multilabel.metrics import multilabel_metrics, per_label_report, predict_labels
from tfexp_multilabel.thresholds import best_f1_threshold, tune_thresholds

from tfexp import hookimpl
from tfexp.data import Data
from tfexp.errors import ConfigError, TfexpError
from tfexp.testing import artifact_paths, compose, mlflow_runs, run_cli, store_uri, tiny_run

# -- metrics --------------------------------------------------------------------------


def fixed_predictions():
    """Six samples, four labels: label 2 never occurs, label 3 is never predicted at 0.5."""
    y = np.array([[1, 0, 0, 1], [0, 1, 0, 0], [1, 1, 0, 0], [0, 0, 0, 1], [1, 0, 0, 0], [0, 1, 0, 1]])
    scores = np.array(
        [[0.9, 0.2, 0.1, 0.4], [0.6, 0.7, 0.3, 0.1], [0.8, 0.4, 0.6, 0.3], [0.1, 0.3, 0.2, 0.45], [0.55, 0.1, 0.0, 0.2], [0.3, 0.9, 0.4, 0.35]],
        dtype="float32",
    )
    return y, scores


def test_thresholded_metrics_agree_with_sklearn_exactly():
    y, scores = fixed_predictions()
    thresholds = np.array([0.5, 0.5, 0.5, 0.5], dtype="float32")
    found = multilabel_metrics(y, scores, thresholds)
    pred = (scores >= 0.5).astype(int)
    for average in ("micro", "macro"):
        assert found[f"{average}_f1"] == skm.f1_score(y, pred, average=average, zero_division=0)
        assert found[f"{average}_precision"] == skm.precision_score(y, pred, average=average, zero_division=0)
        assert found[f"{average}_recall"] == skm.recall_score(y, pred, average=average, zero_division=0)
    assert found["hamming_loss"] == skm.hamming_loss(y, pred)
    assert found["subset_accuracy"] == skm.accuracy_score(y, pred)
    assert found["label_cardinality_true"] == 9 / 6 and found["label_cardinality_pred"] == pred.sum() / 6
    assert "accuracy" not in found and "binary_accuracy" not in found


def test_ranking_metrics_agree_with_sklearn_and_skip_undefined_labels():
    y, scores = fixed_predictions()
    found = multilabel_metrics(y, scores, np.full(4, 0.5, dtype="float32"))
    defined = [0, 1, 3]  # label 2 has no positives: ROC-AUC and AP are undefined for it
    assert found["roc_auc_macro"] == pytest.approx(skm.roc_auc_score(y[:, defined], scores[:, defined], average="macro"), abs=1e-15)
    assert found["average_precision_macro"] == pytest.approx(skm.average_precision_score(y[:, defined], scores[:, defined], average="macro"), abs=1e-15)
    assert found["roc_auc_micro"] == skm.roc_auc_score(y.ravel(), scores.ravel())
    assert found["average_precision_micro"] == skm.average_precision_score(y, scores, average="micro")

    report = per_label_report(y, scores, np.full(4, 0.5, dtype="float32"), ["a", "b", "c", "d"])
    assert list(report["support"]) == [3, 3, 0, 3] and list(report["predicted"]) == [4, 2, 1, 0]
    assert np.isnan(report.loc[2, "roc_auc"]) and report.loc[0, "roc_auc"] == skm.roc_auc_score(y[:, 0], scores[:, 0])
    assert list(report["f1"]) == list(skm.f1_score(y, predict_labels(scores, 0.5), average=None, zero_division=0))


# -- thresholds -----------------------------------------------------------------------


def test_per_label_tuning_finds_the_known_best_threshold():
    # Label 0: cutting between 0.30 and 0.35 keeps all 4 positives and one negative (F1 8/9),
    # the best possible. Label 1: separable, best cut between 0.6 and 0.7. Label 2: no positives.
    y = np.array([[1, 0, 0], [1, 0, 0], [1, 1, 0], [1, 1, 0], [0, 1, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0]])
    scores = np.array(
        [[0.35, 0.1, 0.2], [0.4, 0.5, 0.2], [0.8, 0.7, 0.2], [0.9, 0.8, 0.2], [0.85, 0.9, 0.2], [0.1, 0.6, 0.2], [0.2, 0.2, 0.2], [0.3, 0.3, 0.2]],
        dtype="float32",
    )
    chosen = tune_thresholds(y, scores, "per_label", default=0.5)
    assert chosen.dtype == np.float32
    assert chosen[0] == pytest.approx(0.325) and chosen[1] == pytest.approx(0.65) and chosen[2] == 0.5
    assert skm.f1_score(y[:, 0], scores[:, 0] >= chosen[0]) == pytest.approx(8 / 9)


def brute_force_best_f1(y, scores):
    return max(skm.f1_score(y, scores >= t, zero_division=0) for t in np.unique(scores))


def test_tuned_thresholds_reach_the_brute_force_optimum():
    rng = np.random.default_rng(0)
    y = (rng.random((80, 4)) < [0.1, 0.2, 0.5, 0.8]).astype(int)
    scores = np.clip(y * 0.3 + rng.random((80, 4)) * 0.8, 0, 1).astype("float32")
    per_label = tune_thresholds(y, scores, "per_label", 0.5)
    for j in range(4):
        assert skm.f1_score(y[:, j], predict_labels(scores[:, j], per_label[j])) == pytest.approx(brute_force_best_f1(y[:, j], scores[:, j]))
    (global_t,) = set(tune_thresholds(y, scores, "global", 0.5))
    micro = skm.f1_score(y, predict_labels(scores, global_t), average="micro")
    assert micro == pytest.approx(brute_force_best_f1(y.ravel(), scores.ravel()))
    assert skm.f1_score(y, predict_labels(scores, per_label), average="macro") >= skm.f1_score(y, predict_labels(scores, global_t), average="macro")
    assert list(tune_thresholds(y, scores, "none", 0.3)) == [np.float32(0.3)] * 4


def test_threshold_never_accepts_the_score_below_the_cut():
    # Two adjacent float32 scores: the halfway point rounds onto one of them.
    low = np.float32(0.5)
    high = np.nextafter(low, np.float32(1))
    t = best_f1_threshold(np.array([1, 0]), np.array([high, low]), fallback=0.5)
    assert predict_labels(np.array([high, low]), t).tolist() == [1, 0]


# -- the exported predictor and the loss ----------------------------------------------


def test_predictor_applies_the_thresholds_and_keeps_them_in_the_model_file(tmp_path):
    import keras
    from tfexp_multilabel.predictor import build_predictor, predictor_thresholds

    network = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4)])
    thresholds = np.array([0.1, 0.5, 0.7, 0.93], dtype="float32")
    build_predictor(network, (3,), thresholds).save(tmp_path / "predictor.keras")
    predictor = keras.saving.load_model(tmp_path / "predictor.keras")  # Keras layers only: no plugin needed
    x = np.random.default_rng(1).normal(size=(500, 3)).astype("float32") * 3
    probabilities = keras.ops.convert_to_numpy(keras.ops.sigmoid(network.predict(x, verbose=0)))
    assert (predictor.predict(x, verbose=0) == predict_labels(probabilities, thresholds)).all()
    assert (predictor_thresholds(predictor) == thresholds).all()


def test_weighted_loss_with_unit_weights_is_binary_cross_entropy():
    import keras
    from tfexp_multilabel.training import WeightedBinaryCrossentropy, auto_pos_weight

    rng = np.random.default_rng(2)
    y, logits = (rng.random((16, 3)) < 0.3).astype("float32"), rng.normal(size=(16, 3)).astype("float32") * 4
    plain = keras.losses.BinaryCrossentropy(from_logits=True)(y, logits)
    assert float(WeightedBinaryCrossentropy([1, 1, 1])(y, logits)) == pytest.approx(float(plain), rel=1e-5)
    assert float(WeightedBinaryCrossentropy([5, 5, 5])(y, logits)) > float(plain)
    batches = [np.array([[1, 0, 0], [0, 0, 1]]), np.array([[0, 0, 1], [0, 0, 1]])]  # counted batch by batch
    assert list(auto_pos_weight(iter(batches))) == [3.0, 4.0, 1 / 3]


# -- datasets -------------------------------------------------------------------------


def test_synthetic_multilabel_is_multi_hot_and_configurable():
    cfg = compose(["data=synthetic_multilabel", "data.n_labels=7", "data.cardinality=3", "data.n_samples=400"]).data
    data = load_synthetic_multilabel(cfg, seed=0)
    spec = data.spec
    assert spec.task == "multilabel" and spec.num_outputs == 7 and len(spec.class_names) == 7
    assert sum(spec.num_examples.values()) == 400
    assert set(np.unique(data.y_train)) <= {0.0, 1.0} and data.y_train.sum(axis=1).mean() > 1.5
    assert abs(data.x_train.mean()) < 1e-5  # standardized on train only
    assert spec.preprocessing.scale.shape == (spec.input_shape[0],)  # exporters serve raw inputs
    assert (load_synthetic_multilabel(cfg, seed=0).x_test == data.x_test).all()


def file_cfg(path, *overrides):
    return compose(["data=multilabel_file", f"data.path={path}", *overrides]).data


def test_file_loader_reads_multi_hot_label_columns(tmp_path):
    import pandas as pd

    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"f1": rng.normal(size=60), "f2": rng.normal(size=60) * 10, "tag_cat": rng.integers(0, 2, 60), "tag_dog": rng.integers(0, 2, 60)})
    frame.to_csv(tmp_path / "pets.csv", index=False)
    data = load_multilabel_file(file_cfg(tmp_path / "pets.csv", "data.label_prefix=tag_"), seed=0)
    assert data.spec.class_names == ("tag_cat", "tag_dog") and data.spec.input_shape == (2,)
    assert dict(data.spec.num_examples) == {"train": 39, "val": 9, "test": 12}
    restored = np.concatenate([data.y_train, data.y_val, data.y_test]).sum(axis=0)
    assert list(restored) == list(frame[["tag_cat", "tag_dog"]].sum())
    new_rows = data.featurizer.transform(frame[["f1", "f2"]].head(3))  # what a user does to predict
    assert new_rows.shape == (3, 2)
    raw = frame[["f1", "f2"]].head(3).to_numpy()  # exporters serve raw inputs through this
    assert np.allclose(data.spec.preprocessing.apply(raw), new_rows, atol=1e-5)
    assert np.allclose(data.spec.preprocessing.apply(data.sample("train", 5, raw=True)), data.x_train[:5], atol=1e-5)  # raw reads invert it

    same = load_multilabel_file(file_cfg(tmp_path / "pets.csv", "data.label_columns=[tag_cat,tag_dog]", "data.feature_columns=[f1]"), seed=0)
    assert same.spec.input_shape == (1,) and (same.y_test == data.y_test).all()


def test_file_loader_reads_text_with_label_lists(tmp_path):
    import pandas as pd

    texts = ["the match ended in a draw", "parliament passed the budget", "the striker scored twice",
             "a vote on the sports budget", "new election polls", "football and politics mix"] * 5
    labels = ["sports", "politics", "sports", "politics|sports", "politics", "sports|politics"] * 5
    pd.DataFrame({"text": texts, "labels": labels}).to_csv(tmp_path / "news.csv", index=False)
    data = load_multilabel_file(file_cfg(tmp_path / "news.csv", "data.text_column=text", "data.labels_column=labels", "data.max_features=8"), seed=1)
    assert data.spec.class_names == ("politics", "sports") and data.spec.input_shape == (8,)
    assert data.y_train.sum(axis=1).max() == 2
    vectors = data.featurizer.transform(pd.DataFrame({"text": ["the budget vote"]}))
    assert vectors.shape == (1, 8) and vectors.sum() > 0 and data.spec.preprocessing is None

    pd.DataFrame({"text": texts, "labels": [s.split("|") for s in labels]}).to_parquet(tmp_path / "news.parquet")
    from_parquet = load_multilabel_file(file_cfg(tmp_path / "news.parquet", "data.text_column=text", "data.labels_column=labels", "data.max_features=8"), seed=1)
    assert from_parquet.spec.class_names == data.spec.class_names and (from_parquet.y_test == data.y_test).all()


def test_file_loader_errors_say_what_to_change(tmp_path):
    import pandas as pd

    pd.DataFrame({"x": [1.0, 2.0, 3.0], "genre": ["a", "b", "a"]}).to_csv(tmp_path / "single.csv", index=False)
    with pytest.raises(TfexpError, match="labels_column=genre"):
        load_multilabel_file(file_cfg(tmp_path / "single.csv", "data.label_columns=[genre]"), seed=0)
    with pytest.raises(ConfigError, match="data.path is required"):
        check_file(compose(["data=multilabel_file"]).data)
    with pytest.raises(ConfigError, match="data.path"):
        check_file(file_cfg(tmp_path / "missing.csv", "data.label_prefix=y"))
    with pytest.raises(ConfigError, match="exactly one of"):
        check_file(file_cfg(tmp_path / "single.csv"))


def test_technique_keys_are_checked():
    cfg = compose(["+experiment=multilabel"])
    assert check_technique(cfg.technique).tune_thresholds == "global"
    with pytest.raises(ConfigError, match="technique.tune_thresholds"):
        check_technique(compose(["+experiment=multilabel", "technique.tune_thresholds=best"]).technique)
    with pytest.raises(ConfigError, match="technique.threshold"):
        check_technique(compose(["+experiment=multilabel", "technique.threshold=1.0"]).technique)


# -- runs -----------------------------------------------------------------------------


def test_single_label_data_with_the_multilabel_technique_fails_clearly(tmp_path):
    with pytest.raises(TfexpError, match="data=digits is a multiclass dataset.*data=synthetic_multilabel"):
        tiny_run(tmp_path, ["+experiment=multilabel", "data=digits", "tracking=none"])


def test_multilabel_data_with_the_supervised_technique_fails_clearly(tmp_path):
    with pytest.raises(TfexpError, match="multi-label.*technique=multilabel"):
        tiny_run(tmp_path, ["data=synthetic_multilabel", "tracking=none"])


class StreamOnly(Data):
    """The synthetic set behind the contract only: no ``x_train`` to reach for, as from files."""

    def __init__(self, arrays):
        self.spec, self.arrays = arrays.spec, arrays

    def records(self, split, **kwargs):
        return self.arrays.records(split, **kwargs)

    def decode(self, batch, raw):
        return self.arrays.decode(batch, raw)


class StreamedSynthetic:
    @hookimpl
    def tfexp_build_data(self, run):
        return StreamOnly(load_synthetic_multilabel(run.cfg.data, run.cfg.seed))


def test_per_label_thresholds_pos_weight_and_baseline_run_on_streamed_data(tmp_path):
    run = tiny_run(tmp_path, ["+experiment=multilabel", "technique.tune_thresholds=per_label", "technique.pos_weight=auto", "tracking=none"],
                   plugins=[StreamedSynthetic()])
    thresholds = run.info["multilabel_thresholds"]
    assert list(thresholds) == [f"label_{j}" for j in range(5)] and all(0 < t < 1 for t in thresholds.values())
    assert {"test_micro_f1", "test_macro_f1", "test_hamming_loss", "test_subset_accuracy", "test_loss", "test_baseline_micro_f1"} <= set(run.test_metrics)
    assert "val_micro_f1" in run.history and not any("accuracy" in k for k in run.history)
    assert run.model.loss.name == "binary_crossentropy"  # the weighted loss does not travel with the model

    import keras

    arrays = run.data.arrays  # the same test split, read the old way: the streamed metrics match
    logits = run.model.predict(arrays.x_test, verbose=0)
    expected = multilabel_metrics(arrays.y_test, 1 / (1 + np.exp(-logits)), np.array(list(thresholds.values()), "float32"))
    assert run.test_metrics["test_micro_f1"] == pytest.approx(expected["micro_f1"])
    bce = float(keras.losses.BinaryCrossentropy(from_logits=True)(arrays.y_test, logits))
    assert run.test_metrics["test_loss"] == pytest.approx(bce, rel=1e-5)


def test_baseline_reads_at_most_its_limit_into_memory():
    from tfexp_multilabel.baseline import one_vs_rest_probabilities

    data = load_synthetic_multilabel(compose(["data=synthetic_multilabel", "data.n_samples=100"]).data, seed=0)
    with pytest.raises(ConfigError, match=r"the scikit-learn baseline needs the train split in memory, which has 65 examples: over technique.baseline_max_examples=50"):
        one_vs_rest_probabilities(data, limit=50)
    scores = one_vs_rest_probabilities(data, limit=65)
    assert scores["test"][0].shape == (20, 5) and (scores["test"][1] == data.y_test).all()


@pytest.mark.slow
def test_debug_fast_run_is_tracked_with_metrics_thresholds_and_predictor(tmp_path):
    result = run_cli(["+experiment=multilabel", "debug=fast"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    (run,) = mlflow_runs(tmp_path, "multilabel")
    assert run.info.status == "FINISHED"
    metrics = run.data.metrics
    assert {"test_micro_f1", "test_macro_f1", "test_micro_precision", "test_macro_recall", "test_hamming_loss",
            "test_subset_accuracy", "test_roc_auc_macro", "test_average_precision_macro", "test_label_cardinality_pred",
            "test_baseline_micro_f1", "val_micro_f1"} <= set(metrics)
    assert not any("accuracy" in k and "subset" not in k for k in metrics)
    artifacts = artifact_paths(tmp_path, run.info.run_id)
    assert {"multilabel/thresholds.json", "multilabel/per_label_report.csv", "multilabel/featurizer.joblib", "pr_curves.png"} <= artifacts

    import mlflow
    import pandas as pd

    client = mlflow.MlflowClient(store_uri(tmp_path))
    document = json.loads(Path(client.download_artifacts(run.info.run_id, "multilabel/thresholds.json", str(tmp_path))).read_text())
    assert document["mode"] == "global" and document["labels"] == [f"label_{j}" for j in range(5)]
    assert len(set(document["thresholds"].values())) == 1
    report = pd.read_csv(client.download_artifacts(run.info.run_id, "multilabel/per_label_report.csv", str(tmp_path)))

    # The predictor logged with the run applies exactly those thresholds to new inputs.
    mlflow.set_tracking_uri(store_uri(tmp_path))
    predictor = mlflow.keras.load_model(f"runs:/{run.info.run_id}/multilabel_predictor")
    from tfexp_multilabel.predictor import predictor_thresholds

    assert list(predictor_thresholds(predictor)) == pytest.approx(list(document["thresholds"].values()), abs=0)
    data = load_synthetic_multilabel(compose(["+experiment=multilabel"]).data, seed=42)  # the run's test split
    assert list(predictor.predict(data.x_test, verbose=0).sum(axis=0)) == list(report["predicted"])
