"""Layer statistics (BatchNormalization's moving mean and variance) kept equal on every replica.

Keras 3 creates them with aggregation "none", so under tf.distribute each replica updates its own
copy from its own share of each batch and nothing ever averages them: two workers end with
different statistics, and the chief saves statistics of its share of the data only. Training
itself is unaffected (it normalises with each batch's own statistics), so averaging them over the
replicas whenever they are about to be used — before validation and at the end of every epoch,
when checkpoints are written — gives every replica, and the saved model, the same statistics.
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf


def layer_statistics(model: Any) -> list[Any]:
    """The floating-point variables layers create as non-trainable (statistics they update, not
    weights that are frozen), each once."""
    found: dict[int, Any] = {}
    for layer in model._flatten_layers():
        for variable in layer._non_trainable_variables:
            if "float" in str(variable.dtype):
                found.setdefault(id(variable), variable)
    return list(found.values())


class AverageStatistics(keras.callbacks.Callback):
    """Averages the layer statistics over all replicas of `strategy` (one all-reduce)."""

    def __init__(self, strategy: Any) -> None:
        super().__init__()
        self.strategy = strategy
        self._average: Any = None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        variables = layer_statistics(self.model)
        if not variables:
            return

        def replica_step() -> None:
            context = tf.distribute.get_replica_context()
            means = context.all_reduce("MEAN", [tf.identity(v.value) for v in variables])
            for variable, mean in zip(variables, means, strict=True):
                variable.assign(mean)  # aggregation "none": this replica's own copy

        self._average = tf.function(lambda: self.strategy.run(replica_step))

    def _sync(self) -> None:
        if self._average is not None:
            self._average()

    def on_test_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._sync()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._sync()


def replica_callbacks(strategy: Any) -> list[Any]:
    """What `model.fit` needs first in its callbacks under `strategy`: nothing on one replica."""
    return [AverageStatistics(strategy)] if strategy.num_replicas_in_sync > 1 else []
