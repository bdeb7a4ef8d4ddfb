"""Device policy: tf.distribute strategy, mixed precision and XLA, decided per device.

Distribution uses TensorFlow's own engines (MirroredStrategy on several local GPUs,
MultiWorkerMirroredStrategy when TF_CONFIG describes a cluster); cnnkit adds no engine of its own.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from cnnkit.errors import ConfigError


@dataclass
class DevicePolicy:
    strategy: Any
    jit_compile: bool
    mixed_precision: bool
    gpus: int

    def describe(self) -> str:
        return (f"{type(self.strategy).__name__} on {self.gpus or 'no'} GPU(s), "
                f"{self.strategy.num_replicas_in_sync} replica(s); XLA "
                f"{'on' if self.jit_compile else 'off'}; "
                f"{'mixed_float16' if self.mixed_precision else 'float32'}")


def check_cluster(config: dict[str, Any]) -> None:
    """A rule of the validation pass: TF_CONFIG, when it is used, describes a cluster."""
    mode = (config.get("trainer") or {}).get("distribute", "auto")
    raw = os.environ.get("TF_CONFIG")
    if mode == "multi_worker" and not raw:
        raise ConfigError(
            "`trainer.distribute=multi_worker` needs the TF_CONFIG environment variable "
            "describing the cluster. Received: TF_CONFIG unset")
    if mode not in ("auto", "multi_worker") or not raw:
        return
    example = '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}'
    try:
        spec = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"`TF_CONFIG` is not valid JSON ({exc.msg} at character {exc.pos}). "
                          f"Expected e.g. {example}") from exc
    cluster = spec.get("cluster") if isinstance(spec, dict) else None
    task = spec.get("task") if isinstance(spec, dict) else None
    if not isinstance(cluster, dict) or not any(isinstance(v, list) and v for v in cluster.values()):
        raise ConfigError(f"`TF_CONFIG` has no `cluster` with a list of hosts. Received: {raw!r}. "
                          f"Expected e.g. {example}")
    if not isinstance(task, dict) or task.get("type") not in cluster or not isinstance(
            task.get("index"), int) or not 0 <= task["index"] < len(cluster[task["type"]]):
        raise ConfigError(f"`TF_CONFIG.task` must name this process's role in the cluster, "
                          f"e.g. {{\"type\": \"worker\", \"index\": 0}}. Received: {task!r}")


def _pick(value: Any, auto: bool) -> bool:
    return auto if value == "auto" else bool(value)


def build_policy(trainer_cfg: Any) -> DevicePolicy:
    """Choose the strategy, XLA and precision; must run before any model is built."""
    import keras
    import tensorflow as tf

    gpus = len(tf.config.list_physical_devices("GPU"))
    mode = str(trainer_cfg.distribute)
    if mode == "auto":
        mode = "multi_worker" if os.environ.get("TF_CONFIG") else ("mirrored" if gpus > 1 else "none")
    if mode == "multi_worker":
        check_cluster({"trainer": {"distribute": "multi_worker"}})
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    elif mode == "mirrored":
        strategy = tf.distribute.MirroredStrategy()
    else:
        strategy = tf.distribute.get_strategy()
    mixed = _pick(trainer_cfg.mixed_precision, gpus > 0)
    keras.mixed_precision.set_global_policy("mixed_float16" if mixed else "float32")
    return DevicePolicy(strategy, _pick(trainer_cfg.jit_compile, gpus > 0), mixed, gpus)
