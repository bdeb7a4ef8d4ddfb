"""Many machines: the keras#20585 shim for MultiWorkerMirroredStrategy, chief and batch/lr rules.

Keras 3's TensorFlow trainer crashes in `model.fit` under MultiWorkerMirroredStrategy with
"Attempt to convert a value (PerReplica ...) to a Tensor", on every worker
(https://github.com/keras-team/keras/issues/20585, also ray-project/ray#47464), in two places of
keras/src/backend/tensorflow/trainer.py:

- `TensorFlowTrainer._maybe_symbolic_build` builds the model from
  `strategy.reduce("MEAN", batch, axis=None)` of the first batch, a cross-worker reduction that
  MultiWorkerMirroredStrategy cannot do on a structure of PerReplica input values. Only shapes are
  needed there, so the shim builds from this worker's own batch
  (`strategy.experimental_local_results(batch)[0]`).
- `reduce_per_replica` reduces each step's logged values with `strategy.reduce("MEAN", v, axis=0)`,
  which fails on the scalar losses and metrics (no axis 0). The shim reduces with `axis=None`: the
  mean over replicas, element by element, which is what the single-machine branch computes.

The shim replaces those two functions in Keras, only for the versions in TESTED (pinned in
pyproject.toml), and the replacements change nothing unless the strategy is a
MultiWorkerMirroredStrategy with more than one worker. tests/unit/training/test_distribute.py
runs two workers without it to tell when upstream has fixed the bug and the shim can go.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

UPSTREAM_ISSUE = "https://github.com/keras-team/keras/issues/20585"
#: the major.minor versions the shim was written against and tested with
TESTED = {"keras": "3.15", "tensorflow": "2.21"}
_MARK = "_cnnkit_multi_worker_shim"


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def shim_needed(strategy: Any) -> bool:
    """True when `strategy` runs on several workers with the Keras/TF versions the shim knows."""
    import keras
    import tensorflow as tf

    return (isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
            and strategy.extended._in_multi_worker_mode()
            and _minor(keras.__version__) == TESTED["keras"]
            and _minor(tf.__version__) == TESTED["tensorflow"])


def fix_multi_worker_fit(strategy: Any) -> bool:
    """Make `model.fit` work under `strategy` (keras#20585); call once the strategy exists, before
    compiling. Idempotent. Returns whether the shim is active."""
    if not shim_needed(strategy):
        return False
    from keras.src.backend.tensorflow import trainer

    if getattr(trainer.reduce_per_replica, _MARK, False):
        return True
    trainer.reduce_per_replica = _reduce_per_replica(trainer.reduce_per_replica, trainer)
    trainer.TensorFlowTrainer._maybe_symbolic_build = _symbolic_build(
        trainer.TensorFlowTrainer._maybe_symbolic_build, trainer)
    return True


def _reduce_per_replica(original: Any, trainer: Any) -> Any:
    def reduce_per_replica(values: Any, strategy: Any, reduction: str) -> Any:
        if (reduction not in ("auto", "mean")
                or not trainer._collective_all_reduce_multi_worker(strategy)):
            return original(values, strategy, reduction)
        return trainer.tree.map_structure(
            lambda v: strategy.reduce("MEAN", v, axis=None), values)

    setattr(reduce_per_replica, _MARK, True)
    return reduce_per_replica


def _symbolic_build(original: Any, trainer: Any) -> Any:
    import tensorflow as tf

    def _maybe_symbolic_build(self: Any, iterator: Any = None, data_batch: Any = None) -> Any:
        strategy = self._distribute_strategy
        if iterator is None or not trainer._collective_all_reduce_multi_worker(strategy):
            return original(self, iterator=iterator, data_batch=data_batch)
        for _, _, it in iterator:  # Keras resets the iterator afterwards
            data_batch = trainer.tree.map_structure(
                lambda v: strategy.experimental_local_results(v)[0]
                if isinstance(v, tf.distribute.DistributedValues) else v, next(it))
            break
        return original(self, iterator=None, data_batch=data_batch)

    setattr(_maybe_symbolic_build, _MARK, True)
    return _maybe_symbolic_build


def cluster_task() -> tuple[dict[str, list[str]], str, int] | None:
    """(cluster, task type, task index) from TF_CONFIG, or None when it is unset or has no task."""
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        return None
    spec = json.loads(raw)  # checked by strategy.check_cluster in the validation pass
    task = spec.get("task") or {}
    if "type" not in task:
        return None
    return spec.get("cluster") or {}, str(task["type"]), int(task.get("index", 0))


def is_chief(strategy: Any = None) -> bool:
    """Whether this process writes the run directory: the `chief` task, or worker 0 of a cluster
    without one; any process outside a cluster. `strategy`'s own resolver wins over TF_CONFIG."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is not None and getattr(resolver, "task_type", None):
        cluster = resolver.cluster_spec().as_dict()
        task_type, index = resolver.task_type, int(resolver.task_id or 0)
    else:
        found = cluster_task()
        if found is None:
            return True
        cluster, task_type, index = found
    if task_type == "chief":
        return True
    return task_type == "worker" and index == 0 and "chief" not in cluster


def global_batch_size(batch_size: int, replicas: int, per_replica: bool) -> int:
    """The batch the input pipeline makes; tf.distribute splits it among the replicas.
    `per_replica` (trainer.batch_per_replica): `batch_size` is each replica's share."""
    return int(batch_size) * int(replicas) if per_replica else int(batch_size)


def scaled_lr(lr: float, replicas: int, rule: str) -> float:
    """`optimizer.lr` scaled with the number of replicas (trainer.lr_scaling): `linear` for SGD-like
    optimizers whose global batch grows with the replicas (Goyal et al. 2017), `sqrt` for Adam-like;
    the rule is one of TrainerSchema.lr_scaling's choices."""
    factor = {"none": 1.0, "linear": float(replicas), "sqrt": math.sqrt(replicas)}[rule]
    return float(lr) * factor
