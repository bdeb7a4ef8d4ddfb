"""Each loss and metric against a value computed by hand, and a safe-mode save/load round trip."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest

from cnnkit.errors import ConfigError
from cnnkit.tasks import losses, metrics

# Two 4x4 masks: truth has 4 foreground pixels, prediction 6, overlapping in 3.
TRUTH = np.zeros((1, 4, 4, 1), "float32")
TRUTH[0, 0, 0:4, 0] = 1  # row 0
PRED = np.zeros((1, 4, 4, 1), "float32")
PRED[0, 0, 1:4, 0] = 1  # 3 of them
PRED[0, 1, 0:3, 0] = 1  # and 3 false positives


def test_dice_and_iou_of_two_known_masks():
    matrix = metrics.confusion(TRUTH, PRED, 2)
    # TP = 3, FP = 3, FN = 1: Dice = 6 / (6 + 3 + 1) = 0.6, IoU = 3 / 7
    assert matrix.tolist() == [[9, 3], [1, 3]]
    assert metrics.dice_per_class(matrix)[1] == pytest.approx(0.6)
    assert metrics.iou_per_class(matrix)[1] == pytest.approx(3 / 7)
    dice, iou = metrics.Dice(), metrics.IoU()
    dice.update_state(TRUTH, PRED)
    iou.update_state(TRUTH, PRED)
    assert float(dice.result()) == pytest.approx(0.6)
    assert float(iou.result()) == pytest.approx(3 / 7)


def test_probability_exactly_at_the_threshold_is_negative_everywhere():
    """Pixel accuracy (Keras), Dice and the written masks must agree on p == threshold."""
    truth = np.array([[0, 1, 1, 0]], "float32")[..., None]
    probs = np.array([[0.5, 0.5, 0.9, 0.1]], "float32")[..., None]
    assert metrics.predicted_labels(probs).tolist() == [[0, 0, 1, 0]]
    accuracy = keras.metrics.BinaryAccuracy(threshold=0.5)
    accuracy.update_state(truth, probs)
    assert float(accuracy.result()) == pytest.approx(0.75)  # only the 0.5 on a 1 is wrong
    dice = metrics.Dice()
    dice.update_state(truth, probs)
    assert float(dice.result()) == pytest.approx(2 / 3)  # TP 1, FN 1, FP 0


def test_multiclass_dice_metric_takes_argmax_and_skips_background():
    truth = np.array([[0, 1, 1, 2]])[..., None]
    probs = keras.ops.one_hot(np.array([[0, 1, 2, 2]]), 3)
    dice = metrics.Dice(num_classes=3)
    dice.update_state(truth, probs)
    # class 1: TP 1, FN 1 -> 2/3; class 2: TP 1, FP 1 -> 2/3
    assert float(dice.result()) == pytest.approx(2 / 3)


def test_soft_dice_and_tversky_losses_on_hard_masks():
    # soft Dice with smooth=0 on hard masks is 1 - hard Dice
    assert float(losses.DiceLoss(smooth=0.0)(TRUTH, PRED)) == pytest.approx(0.4)
    # Tversky: 1 - 3 / (3 + 0.3 * 3 + 0.7 * 1)
    tversky = losses.TverskyLoss(alpha=0.3, beta=0.7, smooth=0.0)(TRUTH, PRED)
    assert float(tversky) == pytest.approx(1 - 3 / 4.6)


def test_weighted_bce_beta_weights_the_positive_term():
    y = np.array([[1.0], [0.0]], "float32")
    p = np.array([[0.8], [0.4]], "float32")
    for beta in (0.5, 1.0, 3.0):
        expected = -(beta * math.log(0.8) + math.log(0.6)) / 2
        got = losses.WeightedBinaryCrossentropy(beta=beta)(y, p)
        assert float(got) == pytest.approx(expected, rel=1e-5)
    # beta = 1 is plain binary cross-entropy
    plain = keras.losses.BinaryCrossentropy()(y, p)
    assert float(losses.WeightedBinaryCrossentropy(1.0)(y, p)) == pytest.approx(float(plain), rel=1e-4)


def test_focal_loss_binary_and_sparse_multiclass():
    y = np.array([[1.0]], "float32")
    p = np.array([[0.8]], "float32")
    assert float(losses.FocalCrossentropy(gamma=2.0)(y, p)) == pytest.approx(
        -(0.2**2) * math.log(0.8), rel=1e-5)
    probs = np.array([[0.7, 0.2, 0.1]], "float32")
    got = losses.FocalCrossentropy(gamma=1.0)(np.array([[0]]), probs)
    assert float(got) == pytest.approx(-0.3 * math.log(0.7), rel=1e-5)


def test_crossentropy_dice_is_the_sum_of_its_parts():
    p = np.clip(PRED, 0.1, 0.9)
    ce = float(keras.losses.BinaryCrossentropy()(TRUTH, p))
    dice = float(losses.DiceLoss()(TRUTH, p))
    assert float(losses.CrossentropyDice(dice_weight=1.0)(TRUTH, p)) == pytest.approx(
        ce + dice, rel=1e-4)


def test_frequency_l2_of_a_constant_offset_and_parseval():
    y = np.zeros((1, 8, 8, 1), "float32")
    # a constant offset d = 0.5 on 8x8 has one (DC) coefficient, orthonormal value sqrt(64) d = 4;
    # |4|^2 = 16 averaged over the 64 coefficients: 0.25
    assert float(losses.FrequencyL2()(y, y + 0.5)) == pytest.approx(0.25)
    rng = np.random.default_rng(0)
    a, b = rng.random((2, 3, 8, 8, 2), "float32")
    # Parseval: unweighted frequency L2 = pixel MSE
    assert float(losses.FrequencyL2()(a, b)) == pytest.approx(float(np.mean((a - b) ** 2)), rel=1e-4)
    # weighting high frequencies can only add
    assert float(losses.FrequencyL2(high_frequency_weight=2.0)(a, b)) > float(np.mean((a - b) ** 2))


def test_psnr_of_a_known_noise_level():
    # a uniform error of 0.1 on [0, 1] images: MSE = 0.01, PSNR = 10 log10(1 / 0.01) = 20 dB
    clean = np.full((2, 16, 16, 1), 0.5, "float32")
    noisy = clean + 0.1
    assert metrics.psnr(clean, noisy) == pytest.approx(20.0)
    metric = metrics.PSNR(max_val=1.0)
    metric.update_state(clean, noisy)
    assert float(metric.result()) == pytest.approx(20.0, rel=1e-4)


def test_ssim_is_one_for_identical_images_and_loss_zero():
    rng = np.random.default_rng(1)
    x = rng.random((2, 16, 16, 1), "float32")
    metric = metrics.SSIM()
    metric.update_state(x, x)
    assert float(metric.result()) == pytest.approx(1.0, abs=1e-5)
    assert float(losses.SSIMLoss()(x, x)) == pytest.approx(0.0, abs=1e-5)
    assert float(losses.SSIMLoss()(x, 1 - x)) > 0.5


def test_psnr_and_ssim_accept_volumes():
    x = np.full((1, 4, 16, 16, 1), 0.5, "float32")
    metric = metrics.PSNR()
    metric.update_state(x, x + 0.01)
    assert float(metric.result()) == pytest.approx(40.0, rel=1e-4)


def test_regression_errors_per_output():
    y = np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]])
    p = np.array([[1.0, 1.0], [2.0, 3.0], [4.0, 2.0]])
    errors = metrics.regression_errors(y, p)
    assert errors["mae"].tolist() == pytest.approx([1 / 3, 1.0])
    assert errors["rmse"].tolist() == pytest.approx([math.sqrt(1 / 3), math.sqrt(3)])
    # R² = 1 - SS_res / SS_tot: output 0: 1 - 1/8; output 1: 1 - 9/8
    assert errors["r2"].tolist() == pytest.approx([7 / 8, -1 / 8])


def test_unknown_loss_names_suggest_close_ones():
    with pytest.raises(ConfigError, match=r"`task.loss` names an unknown loss.*Did you mean: dice"):
        losses.build_loss("dise", None, 1, False)


@pytest.mark.parametrize("loss_name", ["dice", "weighted_bce", "tversky", "focal", "ce_dice"])
def test_models_with_custom_losses_reload_in_safe_mode(tmp_path, loss_name):
    inputs = keras.Input((8, 8, 1))
    model = keras.Model(inputs, keras.layers.Conv2D(1, 1, activation="sigmoid")(inputs))
    model.compile(loss=losses.build_loss(loss_name, {"beta": 2.0}, 1, False),
                  metrics=[metrics.Dice(), metrics.IoU(), metrics.PSNR(), metrics.SSIM()])
    model.fit(np.zeros((2, 8, 8, 1)), np.zeros((2, 8, 8, 1)), verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras", safe_mode=True)
    assert type(loaded.loss).__name__ == type(model.loss).__name__
    assert loaded.loss.get_config() == model.loss.get_config()
