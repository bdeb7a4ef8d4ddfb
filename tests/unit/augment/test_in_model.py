"""`augment.where=model`: geometric transforms inside the model, identity at inference."""

import keras
import numpy as np
import pytest
from omegaconf import open_dict

from cnnkit.augment import build_augmentation
from cnnkit.config.compose import compose
from cnnkit.errors import ConfigError
from cnnkit.models.build import build_model

FLIP = {"where": "model", "transforms": [{"name": "horizontal_flip", "p": 1.0}]}


def small_model(augment: dict) -> keras.Model:
    cfg = compose("train", ["model.input_shape=[6,6,1]", "model.num_classes=2",
                            "model.output_activation=softmax"])
    with open_dict(cfg):
        cfg.model.input_augmentation = {"transforms": augment["transforms"], "seed": 3}
    return build_model(cfg.model)


def test_layer_flips_in_training_and_is_the_identity_at_inference():
    model = small_model(FLIP)
    layer = model.get_layer("augmentation")
    x = np.arange(36, dtype="float32").reshape(1, 6, 6, 1)
    assert np.array_equal(np.asarray(layer(x, training=False)), x)
    assert np.array_equal(np.asarray(layer(x, training=True)), x[:, :, ::-1])


def test_model_with_the_layer_reloads_in_safe_mode(tmp_path):
    model = small_model(FLIP)
    model.save(tmp_path / "m.keras")
    again = keras.models.load_model(tmp_path / "m.keras", safe_mode=True)
    x = np.random.default_rng(0).random((2, 6, 6, 1)).astype("float32")
    assert np.allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    assert again.get_layer("augmentation").transforms == FLIP["transforms"]


def test_intensity_transforms_and_spatial_targets_are_refused_inside_the_model():
    with pytest.raises(ConfigError, match=r"transforms\[0\]\.name.*gamma runs in the input pipeline"):
        build_augmentation({"where": "model", "transforms": [{"name": "gamma", "p": 1}]}, "label", 0)
    with pytest.raises(ConfigError, match=r"where=model.*\(mask\) must move with them"):
        build_augmentation(FLIP, "mask", 0)


def test_the_pipeline_does_not_augment_when_the_model_does():
    from cnnkit.data.build import prepare_data

    cfg = compose("train", ["augment=none", "data.max_samples=100"])
    cfg.augment = FLIP
    data = prepare_data(cfg, "label")
    assert data.augments_in_model

    def examples(training: bool) -> np.ndarray:
        rows = np.concatenate([np.asarray(x) for x, _ in data.dataset("train", training=training)])
        return np.sort(rows.reshape(len(rows), -1), axis=0)

    # the same examples, only shuffled: a pipeline flip (p=1) would have changed them all
    assert np.allclose(examples(True), examples(False), atol=1e-6)
