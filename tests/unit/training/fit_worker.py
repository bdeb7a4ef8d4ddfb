"""One worker of the two-worker fits in test_distribute.py (run as a script, not collected).

    python fit_worker.py OUT_DIR shim|plain

`shim`: the strategy comes from cnnkit's build_policy (which applies the keras#20585 shim);
`plain`: a bare MultiWorkerMirroredStrategy, to see whether Keras still needs the shim.
Fits two small CNNs, one with BatchNormalization, and saves each one's weights to
OUT_DIR/<model>.npz; prints the device line.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import keras
import numpy as np
import tensorflow as tf

from cnnkit.training.distribute import fix_multi_worker_fit
from cnnkit.training.replicas import replica_callbacks
from cnnkit.training.strategy import build_policy

GLOBAL_BATCH = 16


def _model(batch_norm: bool) -> keras.Model:
    return keras.Sequential([
        keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3),
        *([keras.layers.BatchNormalization()] if batch_norm else []),
        keras.layers.ReLU(), keras.layers.Flatten(), keras.layers.Dense(3, activation="softmax")])


def main(out: Path, mode: str) -> None:
    if mode == "shim":
        policy = build_policy(SimpleNamespace(distribute="multi_worker", jit_compile=False,
                                              mixed_precision=False))
        strategy = policy.strategy
        from keras.src.backend.tensorflow import trainer

        patched = trainer.reduce_per_replica
        again = fix_multi_worker_fit(strategy)  # idempotent: nothing is wrapped twice
        print(f"device: {policy.describe()}; shim active: {again}; "
              f"idempotent: {trainer.reduce_per_replica is patched}")
    else:
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 8, 8, 1)).astype("float32")
    y = rng.integers(0, 3, 96)
    train = tf.data.Dataset.from_tensor_slices((x[:64], y[:64])).batch(GLOBAL_BATCH)
    val = tf.data.Dataset.from_tensor_slices((x[64:], y[64:])).batch(GLOBAL_BATCH)
    for name, batch_norm in (("plain", False), ("batchnorm", True)):
        keras.utils.set_random_seed(0)
        with strategy.scope():
            model = _model(batch_norm)
            model.compile(keras.optimizers.SGD(0.1, momentum=0.9),
                          "sparse_categorical_crossentropy", metrics=["accuracy"])
        history = model.fit(train, validation_data=val, epochs=2, verbose=0,
                            callbacks=replica_callbacks(strategy))
        np.savez(out / f"{name}.npz", *model.get_weights())
        print(f"{name} history:", {k: [round(float(v), 6) for v in vs]
                                   for k, vs in history.history.items()})


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
