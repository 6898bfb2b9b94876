"""Bad input, as users type it: one clear line naming the problem and the way out, no
traceback on the console, a non-zero exit, and a FAILED run when one had started."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import write_plugin_dist
from tfexp.testing import artifact_paths, mlflow_runs, run_cli

FAST = ["debug=fast", "tracking.log_model=false"]


def corrupt_parquet(tmp: Path) -> str:
    path = tmp / "corrupt.parquet"
    path.write_bytes(b"\x00\xff\xfe not parquet at all \x00\n\x01\x02")
    return str(path)


def empty_csv(tmp: Path) -> str:
    path = tmp / "empty.csv"
    path.write_text("f0,f1,label_a,label_b\n")
    return str(path)


def tabbed_config_dir(tmp: Path) -> list[str]:
    (tmp / "conf" / "model").mkdir(parents=True)
    (tmp / "conf" / "model" / "tabbed.yaml").write_text("name: mlp\nhidden_units:\n\t- 32\n")
    return ["--config-dir", str(tmp / "conf"), "model=tabbed"]


def raising_plugin(tmp: Path) -> dict:
    site = write_plugin_dist(tmp / "site", "raising-plugin", "raising_plugin",
                             "from tfexp import hookimpl\n\n@hookimpl\ndef tfexp_before_fit(run, model):\n    raise ValueError('plugin says no')\n")
    return {"PYTHONPATH": str(site)}


# (id, arguments (a callable gets the temp dir), expected text on stderr, did a run start?)
CASES = [
    ("unknown model group option", ["model=resnet"], "Could not find 'model/resnet'", False),
    ("unknown model name", ["model.name=resnet"], "unknown model 'resnet'; known model names:", False),
    ("unknown data name", ["data.name=imagenet"], "unknown data 'imagenet'; known data names:", False),
    ("unknown technique name", ["technique.name=magic"], "unknown technique 'magic'; known technique names:", False),
    ("unknown strategy name", ["strategy.name=quantum"], "unknown strategy 'quantum'; known strategy names:", False),
    ("unknown preset", ["+experiment=nope"], "Could not find 'experiment/nope'", False),
    ("misspelled key", ["trainer.epoch=3"], "Key 'epoch' not in 'TrainerConfig'", False),
    ("wrong type", ["trainer.epochs=abc"], "trainer.epochs", False),
    ("wrong type in model config", ["model.dropout=lots"], "dropout", False),
    ("negative epochs", ["trainer.epochs=-1"], "trainer.epochs=-1 is invalid: expected an integer >= 1", False),
    ("batch size 0", ["trainer.batch_size=0"], "trainer.batch_size=0 is invalid", False),
    ("zero learning rate", ["trainer.learning_rate=0"], "trainer.learning_rate=0", False),
    ("test fraction out of range", ["data.test_fraction=1.5"], "data.test_fraction=1.5 is invalid", False),
    ("bad sweep direction", ["sweep.direction=up"], "sweep.direction='up' is invalid: expected maximize or minimize", False),
    ("nan recovery without checkpoints", ["trainer.nan_recovery=2", "trainer.checkpoint_every=0"], "trainer.nan_recovery", False),
    ("labeled fraction 1.5", ["+experiment=semisup", "technique.labeled_fraction=1.5"], "technique.labeled_fraction", False),
    ("temperature 0", ["+experiment=distill", "technique.temperature=0"], "technique.temperature", False),
    ("unknown optimizer", ["trainer.optimizer=adamm"], "trainer.optimizer='adamm' is not a Keras optimizer", True),
    ("batch larger than the data", ["trainer.batch_size=100000"], "trainer.batch_size=100000 is larger than the training split", True),
    ("missing data file", ["+experiment=multilabel", "data=multilabel_file", "data.path=/nonexistent/labels.csv"], "/nonexistent/labels.csv", None),
    ("corrupt data file", lambda tmp: ["+experiment=multilabel", "data=multilabel_file", f"data.path={corrupt_parquet(tmp)}", "data.label_prefix=label_"], "corrupt.parquet cannot be read as Parquet", None),
    ("empty dataset", lambda tmp: ["+experiment=multilabel", "data=multilabel_file", f"data.path={empty_csv(tmp)}", "data.label_prefix=label_"], "empty.csv has no rows", None),
    ("multi-label technique on single-label data", ["+experiment=multilabel", "data=digits"], "needs multi-hot labels", None),
    ("single-label technique on multi-label data", ["data=synthetic_multilabel"], "multi-label", None),
    ("unknown gymnasium env", ["+experiment=rl", "technique.env_id=NoSuchEnv-v0"], "NoSuchEnv-v0", None),
    ("DQN on a continuous action space", ["+experiment=rl", "technique.agent=dqn", "technique.env_id=Pendulum-v1"], "Pendulum-v1", None),
    ("teacher URI that does not exist", ["+experiment=distill", "technique.teacher=runs:/0123456789abcdef/model"], "technique.teacher", None),
    ("unreachable tracking server", ["tracking.uri=http://127.0.0.1:9"], "MLflow server http://127.0.0.1:9 is unreachable", False),
    ("unwritable output directory", ["hydra.run.dir=/proc/tfexp-out"], "cannot write the output directory /proc/tfexp-out", False),
    ("resume without a checkpoint", lambda tmp: [f"resume={tmp}"], "no checkpoint in", False),
    ("resume with an unknown run id", ["resume=0123456789abcdef"], "resume=0123456789abcdef: neither a directory nor a run id a tracker knows (asked: mlflow_tracker)", False),
    ("YAML with a tab under --config-dir", tabbed_config_dir, "tabbed.yaml line 3, column 1 is not valid YAML: found character '\\t'", False),
    ("a plugin hook that raises", raising_plugin, "ValueError: plugin says no (raised in plugin raising_plugin (raising-plugin 1.0))", True),
]


# Cases refused before TensorFlow starts cost seconds; those that reach a run (started True or
# None) cost ~20 s each and run with the slow set.
PARAMS = [pytest.param(*case[1:], id=case[0], marks=() if case[3] is False else pytest.mark.slow) for case in CASES]


@pytest.mark.parametrize("args,expected,started", PARAMS)
def test_bad_input_gets_one_clear_line(tmp_path, args, expected, started):
    env = None
    if callable(args):
        produced = args(tmp_path)
        env, args = (produced, []) if isinstance(produced, dict) else (None, produced)
    if not any(a.startswith(("resume=", "trainer.epochs=", "trainer.batch_size=")) for a in args):
        args = [*FAST, *args]  # debug=fast would override the very values these cases test
    result = run_cli(args, cwd=tmp_path, env=env)
    assert result.returncode != 0
    assert expected in result.stderr + result.stdout, result.stderr[-2000:]
    assert "Traceback" not in result.stderr + result.stdout
    runs = mlflow_runs(tmp_path) if (tmp_path / "mlflow.db").exists() else []
    if started:
        assert [r.info.status for r in runs] == ["FAILED"]
    elif started is False:
        assert runs == []
    else:  # the technique may check before or after opening the run; never FINISHED
        assert all(r.info.status == "FAILED" for r in runs)
    if runs:
        assert "error/traceback.txt" in artifact_paths(tmp_path, runs[0].info.run_id)
