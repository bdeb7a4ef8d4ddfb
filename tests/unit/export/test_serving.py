"""The serving function's baked-in preprocessing equals the pipeline's, resize included."""

import numpy as np
import pytest

from cnnkit.data.pipeline import Preprocessing


@pytest.mark.parametrize("raw, target", [
    ([8, 8, 1], [16, 16, 1]),      # digits upscaled
    ([20, 12, 3], [9, 7, 1]),      # antialiased downscale, RGB -> gray
    ([6, 10, 8, 1], [4, 12, 8, 1]),  # a volume, two of three axes resized
])
def test_baked_preprocessing_matches_the_pipeline(raw, target):
    import tensorflow as tf

    from cnnkit.export.serving import apply_axis, axis_matrices

    prep = Preprocessing(raw_shape=raw, target_shape=target, value_max=255.0,
                         normalize="standardize", mean=[0.4], std=[0.2])
    x = np.random.default_rng(0).uniform(0, 255, (3, *raw)).astype("float32")
    want = np.asarray(prep(tf.constant(x)))
    got = tf.constant(x) / 255.0
    for axis, matrix in enumerate(axis_matrices(prep)):
        if matrix is not None:
            got = apply_axis(got, matrix, axis)
    from cnnkit.data.pipeline import adapt_channels

    got = np.asarray(prep.normalize_fn(adapt_channels(got, target[-1])))
    assert got.shape == want.shape
    assert np.max(np.abs(got - want)) < 1e-4
