"""keras.applications backbones: registry, preprocessing layer, input checks, weights, freezing."""

import time

import keras
import numpy as np
import pytest
from omegaconf import OmegaConf

from cnnkit.errors import ConfigError, ModelSpecError
from cnnkit.models import backbones
from cnnkit.models.backbones import BACKBONES
from cnnkit.models.build import align_data_normalize, build_model
from cnnkit.models.layers import PREPROCESSING_MODES, BackbonePreprocessing
from cnnkit.training.finetune import fine_tune_plan

MODULE_OF_MODE = {  # a keras.applications module whose preprocess_input uses each mode
    "caffe": keras.applications.resnet50,
    "tf": keras.applications.mobilenet_v2,
    "torch": keras.applications.densenet,
    "none": keras.applications.efficientnet,
}


def model_cfg(**overrides):
    base = OmegaConf.load("conf/model/backbone.yaml")
    base.merge_with({"name": "MobileNetV2", "weights": None, "input_shape": [32, 32, 1],
                     "num_classes": 3, "output_activation": "softmax", "freeze": "all"})
    base.merge_with(overrides)
    return OmegaConf.create({"model": base}).model  # `${model.num_classes}` resolves


def test_every_keras_application_is_registered():
    constructors = {n for n in dir(keras.applications) if n[0].isupper()}
    assert set(BACKBONES.list()) == constructors
    assert BACKBONES.get("Xception").min_size == 71


def test_unknown_backbone_name_suggests_close_names():
    with pytest.raises(ConfigError, match=r"`model.name`.*'Resnet5'.*Did you mean: ResNet50"):
        BACKBONES.get("Resnet5")


@pytest.mark.parametrize("mode", PREPROCESSING_MODES)
def test_preprocessing_layer_equals_keras_preprocess_input(mode):
    x = np.random.default_rng(0).uniform(0, 1, (2, 4, 4, 3)).astype("float32")
    expected = MODULE_OF_MODE[mode].preprocess_input(x * 255.0)
    got = keras.ops.convert_to_numpy(BackbonePreprocessing(mode)(x))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-4)


def test_model_survives_save_and_safe_load(tmp_path):
    model = build_model(model_cfg(name="VGG16", gray_to_rgb="conv"))  # few layers: fast
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    x = np.random.default_rng(1).uniform(0, 1, (2, 32, 32, 1)).astype("float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-5)
    assert loaded.get_layer("preprocess_input").mode == "caffe"
    assert type(loaded.get_layer("gray_to_rgb")).__name__ == "Conv2D"


def test_frozen_summary_counts_only_the_head_as_trainable():
    from cnnkit.models.summary import summarize

    summary = summarize(build_model(model_cfg()))
    # the default head: GAP -> Dropout -> Dense(3) on MobileNetV2's 1280 features
    assert summary["trainable_params"] == 1280 * 3 + 3
    assert summary["non_trainable_params"] > 2_000_000


def test_input_smaller_than_the_backbone_minimum_is_named():
    with pytest.raises(ModelSpecError, match=r"`model.input_shape`.*InceptionV3.*75x75.*\[32, 32, 1\]"):
        build_model(model_cfg(name="InceptionV3"))


def test_unknown_settings_and_bad_gray_mode_are_rejected():
    with pytest.raises(ConfigError, match=r"`model.freez` is not.*Did you mean: freeze"):
        build_model(model_cfg(freez=3))
    with pytest.raises(ConfigError, match=r"`model.gray_to_rgb`.*repeat, conv.*'tile'"):
        build_model(model_cfg(gray_to_rgb="tile"))


def test_freeze_n_and_freeze_until_freeze_leading_layers():
    model = build_model(model_cfg(freeze=10))
    layers = backbones.find_backbone(model).layers
    assert [layer.trainable for layer in layers[:10]] == [False] * 10
    assert all(layer.trainable for layer in layers[10:])
    model = build_model(model_cfg(freeze=None, freeze_until="block_16_expand"))
    layers = backbones.find_backbone(model).layers
    names = [layer.name for layer in layers]
    first = names.index("block_16_expand")
    assert not any(layer.trainable for layer in layers[:first])
    assert all(layer.trainable for layer in layers[first:])


def test_freeze_auto_trains_a_random_backbone_whole_and_explicit_freeze_warns(caplog):
    model = build_model(model_cfg(freeze="auto"))  # weights=null: nothing frozen
    assert all(layer.trainable for layer in backbones.find_backbone(model).layers)
    assert not caplog.records
    model = build_model(model_cfg(freeze="all"))
    assert not any(layer.trainable for layer in backbones.find_backbone(model).layers)
    assert "stay frozen at random weights" in caplog.text
    assert "model.freeze=auto" in caplog.text


def test_freeze_auto_freezes_loaded_weights(tmp_path):
    source = build_model(model_cfg(freeze=None))
    weights = tmp_path / "mobilenet.weights.h5"
    backbones.find_backbone(source).save_weights(weights)
    model = build_model(model_cfg(freeze="auto", weights=str(weights)))
    assert not any(layer.trainable for layer in backbones.find_backbone(model).layers)


def test_unknown_freeze_until_layer_suggests_names():
    with pytest.raises(ModelSpecError, match=r"`model.freeze_until`.*'block_16_expnd'.*Did you mean: block_16_expand"):
        build_model(model_cfg(freeze=None, freeze_until="block_16_expnd"))
    with pytest.raises(ConfigError, match=r"`model.freeze` must be auto, null, all, or a number.*Received: -1"):
        build_model(model_cfg(freeze=-1))


def test_frozen_backbone_keeps_weights_and_batchnorm_statistics_while_training():
    model = build_model(model_cfg())
    backbone = backbones.find_backbone(model)
    before = [w.copy() for w in backbone.get_weights()]
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    x = np.random.default_rng(2).uniform(0, 1, (8, 32, 32, 1)).astype("float32")
    model.fit(x, np.arange(8) % 3, epochs=1, verbose=0)
    for old, new in zip(before, backbone.get_weights(), strict=True):
        np.testing.assert_array_equal(old, new)  # moving mean/variance included


def test_local_weights_file_is_loaded(tmp_path):  # a legacy .h5 is loaded in the cache test
    source = keras.applications.MobileNetV2(include_top=False, weights=None, input_shape=(32, 32, 3))
    source.set_weights([w + 0.5 for w in source.get_weights()])  # differ from a fresh init
    path = tmp_path / "backbone.weights.h5"
    source.save_weights(path)
    loaded = backbones.find_backbone(build_model(model_cfg(weights=str(path))))
    for saved, got in zip(source.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_array_equal(saved, got)


def test_missing_weights_path_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match=r"`model.weights`.*no such file"):
        build_model(model_cfg(weights=str(tmp_path / "nope.h5")))


def test_imagenet_offline_fails_fast_naming_the_cache_file(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(backbones, "reachable", lambda url, timeout=3.0: False)
    start = time.monotonic()
    with pytest.raises(ModelSpecError) as info:
        build_model(model_cfg(weights="imagenet"))
    assert time.monotonic() - start < 30
    message = str(info.value)
    assert "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5" in message
    assert str(tmp_path / "keras" / "models") in message and "model.weights=<path" in message


def test_imagenet_weights_come_from_the_keras_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(backbones, "reachable", lambda url, timeout=3.0: False)
    source = keras.applications.MobileNetV2(include_top=False, weights=None, input_shape=(32, 32, 3))
    (tmp_path / "models").mkdir()
    source.save(tmp_path / "models" / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5")
    loaded = backbones.find_backbone(build_model(model_cfg(weights="imagenet")))
    for saved, got in zip(source.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_array_equal(saved, got)


def test_backbone_kind_asks_the_data_for_images_in_0_1():
    cfg = OmegaConf.create({"model": {"kind": "backbone"}, "data": {"normalize": "standardize"}})
    assert "data.normalize=rescale" in align_data_normalize(cfg)
    assert cfg.data.normalize == "rescale"
    assert align_data_normalize(cfg) is None
    spec = OmegaConf.create({"model": {"kind": "spec"}, "data": {"normalize": "standardize"}})
    assert align_data_normalize(spec) is None and spec.data.normalize == "standardize"


def test_fine_tune_plan_is_checked():
    with pytest.raises(ConfigError, match=r"`model.fine_tune.at_epoch`.*between 1 and.*\(2\).*Received: 3"):
        fine_tune_plan(model_cfg(fine_tune={"unfreeze_from": "block_16_expand", "at_epoch": 3}), 3)
    with pytest.raises(ModelSpecError, match=r"`model.fine_tune.unfreeze_from`.*Did you mean"):
        build_model(model_cfg(fine_tune={"unfreeze_from": "block_16_expan", "at_epoch": 1}))


def test_head_errors_name_model_head():
    with pytest.raises(ModelSpecError, match=r"model\.head\[1\].*unknown layer type.*'Dens'.*Did you mean: Dense"):
        build_model(model_cfg(head=[{"GlobalAveragePooling2D": {}}, {"Dens": {"units": 3}}]))
