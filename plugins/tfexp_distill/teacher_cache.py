"""Train a sweep's teacher once: trials with the same teacher config reuse its weights,
its test metrics and its cached logits.

In a sweep over the student's keys (temperature, alpha, learning rate, student size) every
trial would otherwise retrain the same teacher. A teacher trained here is stored under a key
that hashes everything in the config that can change it (so the config without the student,
the distillation-only keys and the bookkeeping); the next trial with that key loads its
weights instead of training. Files are written under a temporary name and renamed, and one
lock file per key makes parallel trials (joblib, Ray on one machine) wait for the trial that
trains that teacher rather than train it too. A trial that reuses a teacher is then mostly the
student's epochs, which is what a pruner can cut. See docs/distill.md, "One teacher per sweep".
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import warnings
from pathlib import Path
from typing import Callable

from omegaconf import DictConfig, OmegaConf

log = logging.getLogger("tfexp.distill")

PREFIX = "teacher/"
"""The teacher's metrics in the run: ``teacher/test_accuracy``, ..."""

NOT_TEACHER = ("model", "tracking", "export", "sweep", "resume")
"""Top-level keys that cannot change the teacher: the student (``model``) and bookkeeping."""
NOT_TEACHER_TECHNIQUE = ("temperature", "alpha", "baseline", "cache_teacher_logits", "reuse_teacher", "teacher_cache_dir")


def teacher_key(cfg: DictConfig) -> str:
    """A hash of every key that can change a teacher trained in this run. Unknown keys (other
    plugins') count: a teacher is retrained rather than reused when in doubt."""
    config = OmegaConf.to_container(cfg, resolve=True)
    for key in NOT_TEACHER:
        config.pop(key, None)
    for key in NOT_TEACHER_TECHNIQUE:
        config["technique"].pop(key, None)
    if config["technique"].get("teacher_learning_rate") is not None:
        config["trainer"].pop("learning_rate")  # the student's only
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]


def cache_dir(cfg: DictConfig) -> Path | None:
    """``technique.teacher_cache_dir``, else ``<hydra.sweep.dir>/teachers`` in a sweep; None
    (train, as always) for a single run without one, or with ``technique.reuse_teacher=false``."""
    from tfexp.run_facts import hydra_job_num

    technique = cfg.technique
    if not technique.reuse_teacher:
        return None
    if technique.teacher_cache_dir:
        return Path(technique.teacher_cache_dir).expanduser().resolve()
    if hydra_job_num() is None:
        return None
    from hydra.core.hydra_config import HydraConfig

    return Path(HydraConfig.get().sweep.dir).resolve() / "teachers"


def train_or_reuse(run, teacher, train: Callable[[], None], evaluate: Callable[[], dict[str, float]]) -> Path | None:
    """``train()`` and ``evaluate()`` the (built, compiled) ``teacher`` and store its weights
    and test metrics, or load the weights and log the test metrics an earlier run with the
    same :func:`teacher_key` stored; either way the run's tags say which, and where the
    teacher came from. Returns where this teacher's cached logits are shared with the sweep's
    other trials (:func:`tfexp_distill.logits_cache.write_once`), None where teachers are not
    reused."""
    directory = cache_dir(run.cfg)
    if directory is None:
        train()
        evaluate()
        return None
    key = teacher_key(run.cfg)
    shared_logits = directory / f"{key}.logits"
    directory.mkdir(parents=True, exist_ok=True)
    weights, facts = directory / f"{key}.weights.h5", directory / f"{key}.json"
    tags = {"tfexp.distill.teacher_key": key}
    with open(directory / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also on an error or a kill
        if weights.is_file():
            with warnings.catch_warnings():  # the file has the optimizer's state too; a teacher needs only its weights
                warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
                teacher.load_weights(weights)
            known = json.loads(facts.read_text())
            run.log_metrics({f"{PREFIX}test_{name}": value for name, value in known["test"].items()}, step=run.cfg.trainer.epochs)
            trained_by = known.get("run_id")
            log.info("distill: teacher reused from %s (trained by run %s); technique.reuse_teacher=false retrains it", weights, trained_by)
            run.set_tags({**tags, "tfexp.distill.teacher": f"reused: {weights}", **({"tfexp.distill.teacher_run_id": trained_by} if trained_by else {})})
            return shared_logits
        train()
        known = {"run_id": run.tracker_refs.get("mlflow"), "output_dir": str(run.output_dir), "test": evaluate()}  # run_id: as for runs:/<id>/teacher
        replace_atomically(facts, lambda tmp: tmp.write_text(json.dumps(known)))
        replace_atomically(weights, teacher.save_weights)  # last: its presence means complete
        run.set_tags({**tags, "tfexp.distill.teacher": f"trained in this run (artifact: teacher), kept for reuse: {weights}"})
    return shared_logits


def replace_atomically(path: Path, write: Callable[[Path], object]) -> None:
    """``write`` a temporary file beside ``path`` (same suffix, which Keras checks), then rename it."""
    tmp = path.with_name(f".{os.getpid()}.{path.name}")
    write(tmp)
    os.replace(tmp, path)
