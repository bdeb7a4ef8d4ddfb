"""Sliding-window inference: equal to the whole-input prediction for local models (2D, 3D),
Gaussian blending that keeps constants constant, flips undone, and the rule that picks it."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from omegaconf import OmegaConf

from cnnkit.commands.predict import predict_options
from cnnkit.data.pipeline import Preprocessing
from cnnkit.errors import ConfigError
from cnnkit.tasks.dense import predict_dense
from cnnkit.tasks.sliding_window import (
    WindowOptions,
    flip_averaged,
    gaussian_weights,
    sliding_window,
    window_options,
    window_starts,
)


def conv_net(shape: tuple[int, ...], kernel: int, seed: int = 0) -> keras.Model:
    """Two same-padded convolutions, random weights: pointwise (kernel 1) or local (3)."""
    keras.utils.set_random_seed(seed)
    conv = keras.layers.Conv2D if len(shape) == 3 else keras.layers.Conv3D
    inputs = keras.Input(shape)
    x = conv(4, kernel, padding="same", activation="tanh")(inputs)
    return keras.Model(inputs, conv(2, kernel, padding="same")(x))


def predict_fn(model: keras.Model):
    return lambda batch: model.predict(batch, verbose=0)


def test_gaussian_weights_are_positive_and_peak_at_the_centre() -> None:
    weights = gaussian_weights((16, 9))
    assert weights.shape == (16, 9) and weights.min() > 0 and weights.max() == 1.0
    assert weights[7:9, 4].min() == weights.max() and weights[0, 0] < 0.01


def test_blending_constant_predictions_gives_that_constant_everywhere() -> None:
    x = np.zeros((37, 45, 1), "float32")
    out = sliding_window(lambda b: np.full((*b.shape[:-1], 2), 3.0), x, (16, 16), overlap=0.5,
                         batch_size=3)
    assert out.shape == (37, 45, 2)
    np.testing.assert_allclose(out, 3.0, rtol=1e-6)


def test_window_starts_step_by_the_overlap_and_end_at_the_border() -> None:
    starts = window_starts(100, 32, 0.5)
    assert starts[0] == 0 and starts[-1] == 100 - 32
    assert max(np.diff(starts)) <= 16
    assert window_starts(20, 32, 0.5) == [0]


def test_pointwise_model_windows_equal_the_whole_input_2d_and_3d() -> None:
    for shape, window in (((40, 52, 1), (16, 16)), ((18, 20, 22, 1), (8, 8, 8))):
        model = conv_net((None,) * (len(shape) - 1) + (1,), kernel=1)
        x = np.random.default_rng(1).normal(size=shape).astype("float32")
        whole = model.predict(x[None], verbose=0)[0]
        windows = sliding_window(predict_fn(model), x, window, overlap=0.5, batch_size=4)
        np.testing.assert_allclose(windows, whole, atol=1e-5)


def test_local_conv_net_windows_match_the_whole_input_up_to_blending() -> None:
    model = conv_net((None, None, 1), kernel=3)  # receptive field 5x5
    x = np.random.default_rng(2).normal(size=(70, 58, 1)).astype("float32")
    whole = model.predict(x[None], verbose=0)[0]
    windows = sliding_window(predict_fn(model), x, (32, 32), overlap=0.5, batch_size=8)
    # pixels near a window's border see its zero padding, but carry Gaussian weights of < 1%
    np.testing.assert_allclose(windows, whole, atol=0.02)
    assert np.abs(windows - whole).mean() < 1e-3


def test_flips_are_undone_before_averaging() -> None:
    batch = np.random.default_rng(3).normal(size=(2, 5, 6, 7, 1)).astype("float32")
    for tta in ("flips", "flips_all"):
        np.testing.assert_allclose(flip_averaged(lambda b: b * 2, batch, tta), batch * 2,
                                   rtol=1e-6)
    seen = []
    flip_averaged(lambda b: seen.append(b) or b, batch, "flips_all")
    assert len(seen) == 8  # every combination of the three spatial axes


def test_predict_dense_slides_over_inputs_larger_than_the_training_patch() -> None:
    patch = conv_net((16, 16, 1), kernel=1)  # fixed input: trained on 16x16 patches
    prep = Preprocessing(raw_shape=[64, 64, 1], target_shape=[16, 16, 1], value_max=255.0,
                         normalize="rescale", patch_shape=[16, 16])
    raw = np.random.default_rng(4).integers(0, 255, (40, 36, 1)).astype("float32")
    expected = conv_net((None, None, 1), kernel=1).predict(raw[None] / 255.0, verbose=0)[0]
    for options in (WindowOptions(), WindowOptions(window=(32, 32), tta="flips")):
        (out,) = predict_dense(patch, [raw], prep, 16, nearest=False, options=options)
        assert out.shape == (40, 36, 2)
        np.testing.assert_allclose(out, expected, atol=1e-5)
    with pytest.raises(ConfigError, match=r"`predict.window` must be multiples .* \[20, 20\]"):
        predict_dense(patch, [raw], prep, 16, nearest=False, options=WindowOptions((20, 20)))


def test_predict_keys_are_checked_and_reach_the_tasks() -> None:
    options = predict_options(["predict.window=[32,32]"])
    assert options == {"window": [32, 32], "overlap": 0.5, "batch_size": 8}
    run_cfg = OmegaConf.create({"predict": {**options, "tta": "flips"}})  # as predict sets it
    assert window_options(run_cfg) == WindowOptions((32, 32), 0.5, 8, "flips")
    assert window_options(OmegaConf.create({})) == WindowOptions()
    with pytest.raises(ConfigError, match="predict.overlp"):
        predict_options(["predict.overlp=0.3"])
