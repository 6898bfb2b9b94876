"""The data contract itself: arrays as one source, file sources sharded per input pipeline,
explicit whole-split reads, the pipeline policy in config."""

from __future__ import annotations

import numpy as np
import pytest

from tfexp.data import ArrayData, Data, DataSpec, Datasets, FileData, materialize, predict
from tfexp.errors import ConfigError
from tfexp.testing import compose, tiny_run


def arrays(n: int = 60, features: int = 4, seed: int = 0) -> ArrayData:
    rng = np.random.default_rng(seed)
    x, y = rng.random((n, features), dtype=np.float32), rng.integers(0, 3, n).astype("int32")
    return Datasets(x, y, x[:10], y[:10], x[:20], y[:20])


class Lines(FileData):
    """A file source whose records are text lines "feature,label": one line per example."""

    def read(self, filename):
        import tensorflow as tf

        return tf.data.TextLineDataset(filename)

    def parse(self, batch):
        import tensorflow as tf

        x, y = tf.io.decode_csv(batch, [[0.0], [0]])
        return tf.expand_dims(x, -1), y


def write_lines(tmp_path, files: int, per_file: int) -> str:
    for f in range(files):
        (tmp_path / f"part-{f}.csv").write_text("".join(f"{f * 100 + i},{i % 2}\n" for i in range(per_file)))
    return str(tmp_path / "part-*.csv")


def lines_data(pattern: str) -> Lines:
    return Lines(DataSpec("multiclass", (1,), 2, ("even", "odd")), {"train": pattern, "val": pattern, "test": pattern})


def test_arrays_keep_the_old_constructor_and_describe_themselves():
    data = arrays()
    assert isinstance(data, Data)
    assert data.spec.input_shape == (4,) and data.spec.num_outputs == 3
    assert data.spec.num_examples == {"train": 60, "val": 10, "test": 20}
    batches = list(data.dataset("train", batch_size=16, training=True, seed=1))
    assert [len(x) for x, _ in batches] == [16, 16, 16, 12]
    seen = np.sort(np.concatenate([x.numpy()[:, 0] for x, _ in batches]))
    assert np.array_equal(seen, np.sort(data.x_train[:, 0]))  # every example once per epoch


def test_each_input_pipeline_reads_only_its_own_files(tmp_path):
    import tensorflow as tf

    data = lines_data(write_lines(tmp_path, files=4, per_file=5))
    shares = []
    for worker in range(2):
        context = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=worker, num_replicas_in_sync=2)
        values = np.concatenate([x.numpy()[:, 0] for x, _ in data.dataset("train", batch_size=4, input_context=context)])
        shares.append({int(v) // 100 for v in values})  # the file each record came from
        assert len(values) == 10
    assert shares[0].isdisjoint(shares[1]) and shares[0] | shares[1] == {0, 1, 2, 3}


def test_fewer_files_than_workers_falls_back_to_record_sharding_with_a_warning(tmp_path, caplog):
    import tensorflow as tf

    data = lines_data(write_lines(tmp_path, files=1, per_file=10))
    context = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=0, num_replicas_in_sync=2)
    with caplog.at_level("WARNING", logger="tfexp.data"):
        count = sum(len(x) for x, _ in data.dataset("train", batch_size=4, input_context=context))
    assert count == 5
    assert "has 1 file(s) for 2 workers" in caplog.text


def test_a_glob_that_matches_nothing_names_the_glob_and_the_directory(tmp_path):
    data = lines_data(str(tmp_path / "nothing-*.csv"))
    with pytest.raises(ConfigError, match=r"data.train=.*nothing-\*\.csv matches no file \(relative to "):
        data.dataset("train", batch_size=4)


def test_the_fingerprint_follows_the_files_without_reading_them(tmp_path):
    pattern = write_lines(tmp_path, files=2, per_file=3)
    before = lines_data(pattern).fingerprint()
    assert lines_data(pattern).fingerprint() == before
    (tmp_path / "part-0.csv").write_text("1,0\n2,1\n3,0\n4,1\n")
    assert lines_data(pattern).fingerprint() != before


def test_predict_streams_outputs_and_targets_only():
    import keras

    data = arrays()
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    outputs, targets = predict(model, data, "test", batch_size=7)
    assert outputs.shape == (20, 3) and np.array_equal(targets, data.y_test)


def test_materialize_fails_in_one_line_naming_size_limit_and_key(tmp_path):
    with pytest.raises(ConfigError, match=r"FixMatch's pool needs the train split in memory, which has 60 examples: over technique.limit=50"):
        materialize(arrays(), "train", limit=50, key="technique.limit", why="FixMatch's pool")
    streamed = lines_data(write_lines(tmp_path, files=3, per_file=20))  # size unknown until read
    with pytest.raises(ConfigError, match="more than 50 examples"):
        materialize(streamed, "train", limit=50, key="technique.limit", why="a test")
    x, y = materialize(streamed, "train", limit=60, key="technique.limit", why="a test")
    assert x.shape == (60, 1) and y.shape == (60,)


def test_pipeline_policy_is_config_and_checked():
    cfg = compose(["pipeline.shuffle_buffer=500", "pipeline.cache=memory"])
    assert cfg.pipeline.shuffle_buffer == 500 and cfg.pipeline.cache == "memory"
    from tfexp.config import validate

    with pytest.raises(ConfigError, match=r"pipeline.shuffle_buffer=0 is invalid: expected an integer >= 1"):
        validate(compose(["pipeline.shuffle_buffer=0"]))


def test_a_loader_that_returns_something_else_fails_naming_the_way_out(tmp_path):
    from tfexp import hookimpl

    class Wrong:
        @hookimpl
        def tfexp_build_data(self, run):
            return {"x_train": np.zeros((4, 2))}

    with pytest.raises(TypeError, match=r"data=digits returned dict, not a tfexp.data.Data: return tfexp.data.ArrayData"):
        tiny_run(tmp_path, ["tracking=none"], plugins=[Wrong()])


def test_a_run_on_a_file_source_trains_and_evaluates(tmp_path):
    from tfexp import hookimpl

    pattern = write_lines(tmp_path, files=3, per_file=40)

    class FromFiles:
        @hookimpl
        def tfexp_build_data(self, run):
            return lines_data(pattern)

    run = tiny_run(tmp_path, ["tracking=none", "pipeline.cache=memory"], plugins=[FromFiles()])
    assert run.data.spec.class_names == ("even", "odd")
    assert 0 <= run.test_metrics["test_accuracy"] <= 1
    assert (run.output_dir / "plots" / "confusion_matrix.png").is_file()  # one streaming pass over test
