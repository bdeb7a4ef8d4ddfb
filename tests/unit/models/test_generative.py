"""Model kinds gan and vae: the presets build at the sizes they promise, conditional heads take
labels, spectral norm wraps the discriminator, a saved model reloads and samples the same."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from cnnkit.config.compose import compose
from cnnkit.errors import ModelSpecError
from cnnkit.io.rundir import RunDir, save_model
from cnnkit.models.build import build_model


def build(preset: str, *overrides: str):
    task = "task=vae" if preset == "vae" else "task=gan"
    return build_model(compose("train", [f"model={preset}", task, *overrides]).model)


@pytest.mark.parametrize("size", [28, 32, 64])
def test_dcgan_makes_images_of_the_data_size(size):
    model = build("dcgan", f"model.input_shape=[{size},{size},3]")
    z = np.zeros((2, model.latent_dim), "float32")
    images = np.asarray(model.decode(z))
    assert images.shape == (2, size, size, 3)
    assert images.min() >= 0.0 and images.max() <= 1.0  # tanh mapped to the data's [0, 1]
    assert model.discriminator(images * 2 - 1).shape == (2, 1)
    # the engine's optimizer (and its EMA) sees the generator only
    assert {id(v) for v in model.trainable_weights} == {
        id(v) for v in model.generator.trainable_weights}


def test_dcgan3d_makes_volumes():
    model = build("dcgan3d", "model.input_shape=[16,16,16,1]")
    assert tuple(model.generator.output.shape[1:]) == (16, 16, 16, 1)


@pytest.mark.parametrize("head", ["projection", "auxiliary"])
def test_conditional_heads_take_labels(head):
    model = build("dcgan", "model.input_shape=[28,28,1]", "model.num_classes=10",
                  f"model.discriminator_head={head}", "model.spectral_norm=true")
    images = np.zeros((3, 28, 28, 1), "float32")
    labels = np.array([0, 4, 9], "int32")
    logit, classes = model.critic(images, labels, training=False)
    assert logit.shape == (3, 1)
    assert (classes is None) == (head == "projection")
    assert np.asarray(model.decode(np.zeros((3, 64), "float32"), labels)).shape == (3, 28, 28, 1)
    assert any(isinstance(layer, keras.layers.SpectralNormalization)
               for layer in model.discriminator._flatten_layers())


def test_generator_of_the_wrong_size_is_named():
    with pytest.raises(ModelSpecError, match=r"`model.generator.layers` ends in shape \(28, 28, 1\)"):
        build("dcgan", "model.input_shape=[32,32,1]", "model.size=28")


def test_spec_errors_name_the_network():
    with pytest.raises(ModelSpecError, match=r"model.discriminator.layers\[0\]"):
        build("dcgan", "model.input_shape=[28,28,1]",
              "model.discriminator.layers=[{Conv2D: {filterz: 3}}]")


def test_vae_encodes_to_mean_and_log_variance():
    model = build("vae", "model.input_shape=[28,28,1]")
    mean, log_var = model.encoder(np.zeros((2, 28, 28, 1), "float32"))
    assert mean.shape == log_var.shape == (2, 16)
    assert np.asarray(model(np.zeros((2, 28, 28, 1), "float32"))).shape == (2, 28, 28, 1)


@pytest.mark.parametrize("preset", ["dcgan", "vae"])
def test_saved_model_reloads_and_decodes_the_same(preset, tmp_path):
    overrides = ["model.input_shape=[28,28,1]"]
    if preset == "dcgan":
        overrides += ["model.num_classes=10", "model.discriminator_head=projection"]
    model = build(preset, *overrides)
    for name in ("config.yaml", "preprocessing.json"):
        (tmp_path / name).write_text("{}")
    save_model(model, tmp_path / "model.keras")
    loaded = RunDir.open(tmp_path).load_model()
    z = np.random.default_rng(0).standard_normal((4, model.latent_dim)).astype("float32")
    labels = np.arange(4, dtype="int32") if model.num_classes else None
    np.testing.assert_allclose(np.asarray(loaded.decode(z, labels)),
                               np.asarray(model.decode(z, labels)), atol=1e-6)
    assert type(loaded) is type(model) and loaded.num_classes == model.num_classes
