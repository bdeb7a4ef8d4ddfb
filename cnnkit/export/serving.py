"""The serving function: raw inputs as the data source gives them -> what `cnnkit predict`
reports (class probabilities, values in target units).

The run's `Preprocessing` is reused op for op (scale by the raw maximum, channel adaptation,
standardisation), except resizing: TensorFlow's antialiased resize (ScaleAndTranslate) has no
ONNX or TFLite kernel, so each spatial axis's resize is baked in as the matrix that the
pipeline's own `resize_to` applies to that axis (resizing is separable and linear), and the
exported graph multiplies by it. Parity with the pipeline is then exact up to float rounding.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnkit.data.pipeline import Preprocessing, adapt_channels, resize_to


def axis_matrices(preprocessing: Preprocessing) -> list[np.ndarray | None]:
    """Per spatial axis, the (in, out) matrix of the pipeline's resize; None where unchanged."""
    import tensorflow as tf

    raw = [int(d) for d in preprocessing.raw_shape[:-1]]
    target = [int(d) for d in preprocessing.target_shape[:-1]]
    if len(target) != len(raw):
        return [None] * len(raw)
    matrices: list[np.ndarray | None] = []
    for axis, (size_in, size_out) in enumerate(zip(raw, target, strict=True)):
        if size_in == size_out:
            matrices.append(None)
            continue
        # one probe image per input position: 1 on that slice, constant along the other axes
        shape = [size_in, *raw, 1]
        probe = np.zeros(shape, "float32")
        index = [np.arange(size_in)] + [slice(None)] * len(raw) + [0]
        index[1 + axis] = np.arange(size_in)
        probe[tuple(index)] = 1.0
        resized = np.asarray(resize_to(tf.constant(probe), target, "bilinear"))
        first = [slice(None)] + [0] * len(raw) + [0]
        first[1 + axis] = slice(None)
        matrices.append(resized[tuple(first)].astype("float32"))  # (in, out)
    return matrices


def apply_axis(x: Any, matrix: np.ndarray, axis: int) -> Any:
    """`x` (N, *spatial, C) with spatial axis `axis` mapped through `matrix` (in, out)."""
    import tensorflow as tf

    rank = x.shape.rank
    position = 1 + axis
    order = [i for i in range(rank) if i != position] + [position]
    moved = tf.transpose(x, order)
    flat = tf.reshape(moved, [-1, matrix.shape[0]]) @ tf.constant(matrix)
    # static sizes but the batch: TFLite's convolutions need them known
    out = tf.reshape(flat, [-1, *(int(d) for d in moved.shape[1:-1]), matrix.shape[1]])
    return tf.transpose(out, np.argsort(order).tolist())


def serving_function(model: Any, task: Any, preprocessing: Preprocessing) -> Any:
    """A tf.function of one float32 batch (N, *raw_shape) -> the task's reported outputs."""
    import tensorflow as tf

    matrices = axis_matrices(preprocessing)
    channels = int(preprocessing.target_shape[-1])
    spec = tf.TensorSpec([None, *[int(d) for d in preprocessing.raw_shape]], tf.float32,
                         name="inputs")

    @tf.function(input_signature=[spec])
    def serve(inputs: Any) -> Any:
        x = tf.cast(inputs, tf.float32) / float(preprocessing.value_max)
        for axis, matrix in enumerate(matrices):
            if matrix is not None:
                x = apply_axis(x, matrix, axis)
        if len(preprocessing.target_shape) in (3, 4):
            x = adapt_channels(x, channels)
        x = preprocessing.normalize_fn(x)
        return tf.cast(task.finalize(model, model(x, training=False)), tf.float32)

    return serve
