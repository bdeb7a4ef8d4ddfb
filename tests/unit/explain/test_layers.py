"""Layer paths inside nested models, and activation models that do not disconnect the graph."""

import numpy as np
import pytest

from cnnkit.errors import ConfigError


@pytest.fixture(scope="module")
def nested():
    import keras

    inner_in = keras.Input((8, 8, 1))
    h = keras.layers.Conv2D(4, 3, padding="same", name="c1")(inner_in)
    h = keras.layers.Conv2D(6, 3, padding="same", name="c2")(h)
    backbone = keras.Model(inner_in, h, name="backbone")
    x = keras.Input((8, 8, 1))
    y = keras.layers.Dense(3, activation="softmax", name="out")(
        keras.layers.GlobalAveragePooling2D()(backbone(x)))
    return keras.Model(x, y)


def test_paths_reach_inside_the_nested_model(nested):
    from cnnkit.explain.layers import conv_paths, default_conv, resolve_path

    assert conv_paths(nested) == ["backbone/c1", "backbone/c2"]
    assert default_conv(nested) == "backbone/c2"
    assert default_conv(nested, last=False) == "backbone/c1"
    assert resolve_path(nested, "c1") == "backbone/c1"  # an inner layer by its own name


def test_an_unknown_layer_is_named_with_suggestions(nested):
    from cnnkit.explain.layers import find_layer

    with pytest.raises(ConfigError, match="`layer=backbone/c3`.*Did you mean: backbone/c2"):
        find_layer(nested, "backbone/c3")


def test_activation_model_of_an_inner_layer_shares_the_weights(nested):
    from cnnkit.explain.layers import activation_model

    x = np.random.default_rng(0).random((2, 8, 8, 1)).astype("float32")
    activation, output = activation_model(nested, "backbone/c1")(x)
    assert activation.shape == (2, 8, 8, 4)
    np.testing.assert_allclose(np.asarray(output), np.asarray(nested(x)), atol=1e-6)


def test_occlusion_finds_the_pixels_a_score_depends_on():
    from cnnkit.explain.attribution import mass_inside, occlusion

    x = np.zeros((1, 12, 12, 1), "float32")
    x[0, 2:5, 7:10] = 1.0
    mask = np.zeros((12, 12), bool)
    mask[2:5, 7:10] = True
    heat = occlusion(lambda b: b[:, 2:5, 7:10, 0].sum((1, 2)), x, np.zeros_like(x), 3, 1)
    assert mass_inside(heat[0], mask) > 0.3 and heat[0][~mask].max() <= heat[0][mask].max()
    assert heat[0, 11, 0] == 0
