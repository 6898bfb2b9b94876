"""The config keys of every built-in strategy: types (dataclasses) and ranges.

No TensorFlow here: a wrong key fails in ``tfexp_configure``, before anything heavy starts.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Optional

from omegaconf import DictConfig, OmegaConf

from tfexp.config import check_schema
from tfexp.errors import ConfigError

PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
COMMUNICATIONS = ("auto", "ring", "nccl")
TASK_TYPES = ("worker", "chief")


@dataclass
class StrategyConfig:
    """Fields every strategy has."""

    name: str = "default"
    precision: str = "float32"
    """Global Keras dtype policy: float32, mixed_float16 (GPU; loss scaling is automatic)
    or mixed_bfloat16 (TPU, recent CPUs/GPUs). Models keep their output layer in float32."""
    jit_compile: Optional[bool] = None
    """XLA-compile the train step (true/false); null: Keras decides ("auto": XLA on a
    single GPU when the model supports it, never on CPU or under tf.distribute)."""
    gpu_memory_growth: bool = True
    """Allocate GPU memory as needed instead of all of it at start (set before GPUs start)."""
    deterministic: bool = False
    """Op determinism plus seeds: bit-identical reruns, at the cost of speed (docs/strategies.md)."""


@dataclass
class GpuConfig(StrategyConfig):
    device_index: int = 0
    """Which local GPU (``/gpu:<index>``)."""


@dataclass
class MirroredConfig(StrategyConfig):
    devices: Optional[list[str]] = None
    """Devices to mirror over (e.g. ["/gpu:0", "/gpu:1"]); null: every local GPU, or the
    logical CPUs when ``logical_cpus`` >= 2."""
    logical_cpus: int = 0
    """Split the host CPU into this many logical devices (>= 2) to try data parallelism
    without GPUs. Must be set before TensorFlow starts in the process."""


@dataclass
class MultiWorkerConfig(StrategyConfig):
    cluster: Optional[dict[str, Any]] = None
    """Cluster spec ({"worker": ["host1:port", "host2:port"]}); null: read ``$TF_CONFIG``."""
    task_type: str = "worker"
    """This process's job in ``cluster`` (worker or chief); ignored with ``$TF_CONFIG``."""
    task_index: int = 0
    """This process's index in its job; ignored with ``$TF_CONFIG``."""
    communication: str = "auto"
    """Collective implementation: auto, ring (gRPC, CPU) or nccl (GPUs)."""


@dataclass
class TpuConfig(StrategyConfig):
    tpu: str = ""
    """TPU name or ``grpc://host:port``; ``local`` on a Cloud TPU VM; empty: ``$TPU_NAME``."""


@dataclass
class AutoConfig(StrategyConfig):
    tpu: str = ""
    """Passed on when ``auto`` picks the TPU (see TpuConfig.tpu)."""


SCHEMAS: dict[str, type[StrategyConfig]] = {
    "default": StrategyConfig,
    "cpu": StrategyConfig,
    "gpu": GpuConfig,
    "mirrored": MirroredConfig,
    "multi_worker": MultiWorkerConfig,
    "tpu": TpuConfig,
    "auto": AutoConfig,
}
"""Strategy name -> the dataclass its config node is checked against."""

COMMON_FIELDS = tuple(f.name for f in fields(StrategyConfig))


def _require(ok: bool, key: str, expected: str, value: Any) -> None:
    if not ok:
        raise ConfigError(f"strategy.{key}={value!r} is invalid: expected {expected}. Fix it on the command line (strategy.{key}=...).")


def check_strategy_config(node: DictConfig) -> DictConfig:
    """``node`` typed against its strategy's dataclass (defaults filled in), ranges checked."""
    cfg = check_schema(node, SCHEMAS[node.name], "strategy")
    _require(cfg.precision in PRECISIONS, "precision", " | ".join(PRECISIONS), cfg.precision)
    if cfg.name == "gpu":
        _require(cfg.device_index >= 0, "device_index", "an integer >= 0", cfg.device_index)
    if cfg.name == "mirrored":
        _require(cfg.logical_cpus == 0 or cfg.logical_cpus >= 2, "logical_cpus", "0 (off) or an integer >= 2", cfg.logical_cpus)
        _require(cfg.devices is None or len(cfg.devices) >= 1, "devices", "null or a non-empty list of devices", cfg.devices)
    if cfg.name == "multi_worker":
        _require(cfg.communication in COMMUNICATIONS, "communication", " | ".join(COMMUNICATIONS), cfg.communication)
        _require(cfg.task_type in TASK_TYPES, "task_type", " | ".join(TASK_TYPES), cfg.task_type)
        _require(cfg.task_index >= 0, "task_index", "an integer >= 0", cfg.task_index)
        if cfg.cluster is not None:
            check_cluster(OmegaConf.to_container(cfg.cluster), cfg.task_type, cfg.task_index)
    return cfg


def check_cluster(cluster: dict, task_type: str, task_index: int) -> None:
    """A cluster spec names ``host:port`` lists per job, and contains this task."""
    for job, addresses in cluster.items():
        ok = isinstance(addresses, list) and addresses and all(isinstance(a, str) and ":" in a for a in addresses)
        _require(ok, f"cluster.{job}", 'a list of "host:port" addresses', addresses)
    _require(bool(cluster.get("worker") or cluster.get("chief")), "cluster", "a spec with a worker (or chief) job", cluster)
    size = len(cluster.get(task_type) or ())
    _require(size > 0, "task_type", f"a job of strategy.cluster ({', '.join(cluster)})", task_type)
    _require(task_index < size, "task_index", f"an index into cluster.{task_type} (0..{size - 1})", task_index)
