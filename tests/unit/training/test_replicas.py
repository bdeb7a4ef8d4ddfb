"""BatchNormalization statistics are averaged over replicas (two logical CPUs, MirroredStrategy).

Multi-worker: test_distribute.py's workers compare their BatchNormalization model too.
"""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import REPO

# logical devices must be set before TensorFlow starts, hence a process of its own
SCRIPT = """
import sys
import keras, numpy as np, tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from cnnkit.training.replicas import layer_statistics, replica_callbacks
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
rng = np.random.default_rng(0)
data = tf.data.Dataset.from_tensor_slices(
    (rng.normal(size=(64, 8, 8, 1)).astype("float32"), rng.integers(0, 3, 64))).batch(16)
with strategy.scope():
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3),
                              keras.layers.BatchNormalization(), keras.layers.Flatten(),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy")
model.fit(data, epochs=1, verbose=0,
          callbacks=replica_callbacks(strategy) if sys.argv[1] == "averaged" else [])
for variable in layer_statistics(model):
    first, second = (t.numpy() for t in variable.value.values)
    print(variable.name, "equal" if np.array_equal(first, second) else "differ")
"""


def _statistics(mode: str) -> list[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", SCRIPT, mode], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.split()


def test_replicas_end_with_the_same_statistics() -> None:
    assert _statistics("averaged") == ["moving_mean", "equal", "moving_variance", "equal"]
    assert _statistics("alone") == ["moving_mean", "differ", "moving_variance", "differ"], (
        "Keras now keeps the replicas' statistics equal on its own: remove AverageStatistics")


def test_one_replica_needs_no_callback() -> None:
    import tensorflow as tf

    from cnnkit.training.replicas import replica_callbacks

    assert replica_callbacks(tf.distribute.get_strategy()) == []
