"""Test-time augmentation: flip-invariant models are unchanged, others are averaged over their
flipped views (as probabilities; dense outputs flipped back), and unknown modes are refused."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from omegaconf import OmegaConf

from cnnkit.commands.common import tta_option
from cnnkit.errors import ConfigError
from cnnkit.tasks import get_task
from cnnkit.tasks.tta import flip_axes, with_tta

RNG = np.random.default_rng(0)
X = RNG.normal(size=(4, 6, 5, 2)).astype("float32")


def task(name: str, **options):
    return get_task(OmegaConf.create({"name": name, **options}), OmegaConf.create({}))


def classifier(head: keras.layers.Layer, activation: str) -> keras.Model:
    keras.utils.set_random_seed(1)
    inputs = keras.Input((6, 5, 2))
    return keras.Model(inputs, keras.layers.Dense(3, activation=activation)(head(inputs)))


def run(model: keras.Model, x: np.ndarray) -> np.ndarray:
    return np.asarray(model(x))


def test_views_are_the_identity_and_the_mirror_or_every_combination_of_flips():
    assert flip_axes("none", 4) == [()]
    assert flip_axes("flips", 4) == [(), (2,)]
    assert flip_axes("flips_all", 4) == [(), (1,), (2,), (1, 2)]
    assert len(flip_axes("flips_all", 5)) == 8 and flip_axes("flips", 5)[1] == (3,)


def test_a_flip_invariant_model_is_unchanged():
    model = classifier(keras.layers.GlobalAveragePooling2D(), "softmax")
    wrapped = with_tta(model, "flips_all", task("classification"))
    np.testing.assert_allclose(run(wrapped, X), run(model, X), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("activation", ["softmax", "linear"])
def test_a_classifier_averages_the_probabilities_of_the_input_and_its_mirror(activation):
    model = classifier(keras.layers.Flatten(), activation)
    cls = task("classification")
    wrapped = with_tta(model, "flips", cls)
    views = [np.asarray(cls.finalize(model, run(model, x))) for x in (X, X[:, :, ::-1])]
    assert not np.allclose(views[0], views[1])  # the model is not mirror-invariant
    probs = cls.predict(wrapped, X)  # logits stay logits: finalize reads the wrapper alike
    np.testing.assert_allclose(probs, np.mean(views, axis=0), rtol=1e-4, atol=1e-6)
    assert cls.probability_activation(wrapped) == cls.probability_activation(model)
    y = np.array([0, 1, 2, 1])
    scores = wrapped.evaluate(X, y, return_dict=True, verbose=0)  # compiled with the task's loss
    assert scores["accuracy"] == pytest.approx(np.mean(probs.argmax(-1) == y))


def test_regression_averages_the_values():
    model = classifier(keras.layers.Flatten(), "linear")
    wrapped = with_tta(model, "flips_all", task("regression"))
    views = [run(model, X[:, ::a, ::b]) for a in (1, -1) for b in (1, -1)]
    np.testing.assert_allclose(run(wrapped, X), np.mean(views, axis=0),
                               rtol=1e-4, atol=1e-5)


def test_dense_outputs_are_flipped_back_before_averaging():
    keras.utils.set_random_seed(2)
    inputs = keras.Input((6, 5, 2))
    model = keras.Model(inputs, keras.layers.Conv2D(1, (1, 3), padding="same",
                                                    activation="sigmoid")(inputs))
    wrapped = with_tta(model, "flips", task("segmentation", classes=["bg", "fg"]))
    mirrored = run(model, X[:, :, ::-1])[:, :, ::-1]
    np.testing.assert_allclose(run(wrapped, X), (run(model, X) + mirrored) / 2, rtol=1e-5)


def test_none_is_the_model_itself_and_other_tasks_are_refused():
    model = classifier(keras.layers.Flatten(), "softmax")
    assert with_tta(model, "none", task("classification")) is model
    with pytest.raises(ConfigError, match=r"`tta=flips` supports single-output classification"):
        with_tta(model, "flips", task("autoencoder"))


def test_the_tta_key_is_checked_with_did_you_mean():
    assert tta_option(["run=r", "tta=flips", "data.split=val"]) == ("flips", ["run=r",
                                                                           "data.split=val"])
    assert tta_option(["run=r"]) == ("none", ["run=r"])
    with pytest.raises(ConfigError, match=r"`tta` must be one of none, flips, flips_all\. "
                                          r"Received: 'flip'.*Did you mean: flips"):
        tta_option(["tta=flip"])
