"""Segmentation and image outputs: model config, loss checks, evaluate on known masks, writers
that keep the input's size (PNG) and geometry (NIfTI), fully convolutional prediction."""

from __future__ import annotations

import keras
import nibabel as nib
import numpy as np
import pytest
import tensorflow as tf
from omegaconf import OmegaConf
from PIL import Image

from cnnkit.data.pipeline import Preprocessing
from cnnkit.errors import ConfigError
from cnnkit.io.image_files import InputInfo, write_array
from cnnkit.io.predictions import write_predictions
from cnnkit.tasks import get_task
from cnnkit.tasks.dense import fully_convolutional, predict_dense


def segmentation(**options):
    return get_task(OmegaConf.create({"name": "segmentation", **options}))


def sigmoid_passthrough(shape=(4, 4, 1)):
    """A model whose output is sigmoid(input): known logits in, known masks out."""
    inputs = keras.Input(shape)
    return keras.Model(inputs, keras.layers.Activation("sigmoid")(inputs))


def test_model_config_binary_and_multiclass():
    cfg = OmegaConf.create({"num_classes": None, "output_activation": None})
    segmentation().complete_model_config(cfg, None, [32, 32, 1])
    assert (cfg.num_classes, cfg.output_activation) == (1, "sigmoid")
    cfg = OmegaConf.create({"num_classes": None, "output_activation": None})
    segmentation(classes=["bg", "a", "b"]).complete_model_config(cfg, None, [32, 32, 1])
    assert (cfg.num_classes, cfg.output_activation) == (3, "softmax")


def test_losses_that_do_not_fit_the_model_are_refused():
    with pytest.raises(ConfigError, match=r"`task.loss=weighted_bce` needs two classes"):
        segmentation(classes=["bg", "a", "b"], loss="weighted_bce").loss(sigmoid_passthrough())
    with pytest.raises(ConfigError, match=r"model has 1 output channels but `task.classes` has 3"):
        segmentation(classes=["bg", "a", "b"], loss="dice").loss(sigmoid_passthrough())
    with pytest.raises(ConfigError, match=r"`task.loss` must be one of .* for segmentation"):
        segmentation(loss="ssim").loss(sigmoid_passthrough())


def test_evaluate_scores_known_masks():
    truth = np.zeros((1, 4, 4, 1), "int32")
    truth[0, 0, :, 0] = 1
    logits = np.full((1, 4, 4, 1), -10.0, "float32")
    logits[0, 0, 1:4, 0] = 10.0
    logits[0, 1, 0:3, 0] = 10.0
    task = segmentation(loss="dice")
    model = sigmoid_passthrough()
    model.compile(loss=task.loss(model), metrics=task.metrics(model))
    report = task.evaluate(model, tf.data.Dataset.from_tensor_slices((logits, truth)).batch(1), None)
    # TP 3, FP 3, FN 1 -> Dice 0.6, IoU 3/7; 12 of 16 pixels right
    assert report["dice"] == pytest.approx(0.6)
    assert report["dice/foreground"] == pytest.approx(0.6)
    assert report["iou"] == pytest.approx(3 / 7)
    assert report["pixel_accuracy"] == pytest.approx(12 / 16)
    assert report["dice/background"] == pytest.approx(2 * 9 / (2 * 9 + 1 + 3))


def test_fully_convolutional_model_predicts_at_the_input_size():
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.MaxPooling2D()(keras.layers.Conv2D(2, 3, padding="same")(inputs))
    x = keras.layers.Conv2D(1, 1, activation="sigmoid")(keras.layers.UpSampling2D()(x))
    model = keras.Model(inputs, x)
    assert fully_convolutional(model).input_shape == (None, None, None, 1)
    prep = Preprocessing(raw_shape=[8, 8, 1], target_shape=[8, 8, 1], value_max=1.0,
                         normalize="none")
    outputs = predict_dense(model, [np.ones((13, 21, 1), "float32")], prep, 4, nearest=False)
    assert outputs[0].shape == (13, 21, 1)
    # a model with a dense head is not fully convolutional: it runs at 8x8, resized back
    flat = keras.Model(inputs, keras.layers.Reshape((8, 8, 1))(
        keras.layers.Dense(64)(keras.layers.Flatten()(inputs))))
    assert fully_convolutional(flat) is None
    assert predict_dense(flat, [np.ones((13, 21, 1), "float32")], prep, 4, True)[0].shape == (13, 21, 1)


def test_png_masks_keep_the_input_size_and_nifti_the_affine(tmp_path):
    task = segmentation()
    probs = np.zeros((5, 7, 1), "float32")
    probs[1:3, 2:6] = 0.9
    write_predictions(task, [probs], ["a/img.png"], None, tmp_path,
                      inputs=[InputInfo("a/img.png", (5, 7))])
    mask = np.asarray(Image.open(tmp_path / "a" / "img.png"))
    assert mask.shape == (5, 7) and mask.max() == 255 and (mask > 0).sum() == 8
    affine = np.array([[0.5, 0, 0, -3], [0, 0.7, 0, 2], [0, 0, 2.5, 1], [0, 0, 0, 1]])
    header = nib.Nifti1Image(np.zeros((4, 5, 6), "float32"), affine).header
    volume = np.zeros((4, 5, 6, 1), "uint8")
    write_array(volume, InputInfo("v.nii.gz", (4, 5, 6), affine, header), tmp_path, "auto", 1.0)
    written = nib.load(tmp_path / "v.nii.gz")
    assert written.shape == (4, 5, 6)
    np.testing.assert_allclose(written.affine, affine)
    assert written.header.get_zooms() == pytest.approx((0.5, 0.7, 2.5))
