"""A mixed-precision model's float32 twin: same weights, float32 everywhere, same predictions."""

import keras
import numpy as np
import pytest

from cnnkit.models.precision import as_float32


@pytest.fixture
def bfloat16_model():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        inner = keras.Sequential([keras.Input((6, 6, 4)), keras.layers.Conv2D(4, 3, name="inner")],
                                 name="block")  # a nested model: its layers are rewritten too
        x = keras.Input((6, 6, 1))
        h = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(x)
        h = keras.layers.GlobalAveragePooling2D()(inner(h))
        yield keras.Model(x, keras.layers.Dense(3, activation="softmax", dtype="float32")(h))
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_the_twin_computes_in_float32_with_the_same_weights(bfloat16_model):
    twin = as_float32(bfloat16_model)
    policies = {layer.dtype_policy.name for layer in twin.layers} | {
        layer.dtype_policy.name for layer in twin.get_layer("block").layers}
    assert policies == {"float32"}
    assert all(np.array_equal(a, b) for a, b in zip(twin.get_weights(), bfloat16_model.get_weights(),
                                                    strict=True))
    x = np.random.default_rng(0).random((5, 6, 6, 1)).astype("float32")
    np.testing.assert_allclose(twin.predict(x, verbose=0), bfloat16_model.predict(x, verbose=0),
                               atol=0.02)  # bfloat16 keeps ~3 significant digits


def test_a_float32_model_is_returned_as_it_is():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    assert as_float32(model) is model
