"""Sampling helpers: spatial resizing of signals, images and volumes."""

from __future__ import annotations

import tensorflow as tf

from cnnkit.augment import resize_spatial


def test_resize_spatial_handles_signals() -> None:
    signal = tf.reshape(tf.range(4, dtype=tf.float32), [1, 4, 1])
    assert resize_spatial(signal, [8], "bilinear").shape == (1, 8, 1)
