"""Bootstrap intervals: they bracket the estimate and have the width binomial theory predicts."""

import numpy as np

from cnnkit.tasks.bootstrap import bootstrap_ci, ci_section
from cnnkit.tasks.calibration import reliability


def test_accuracy_interval_matches_the_binomial_width_for_156_samples():
    correct = np.zeros(156)
    correct[:140] = 1  # accuracy 0.897
    low, high = bootstrap_ci(lambda i: {"accuracy": correct[i].mean()}, 156)["accuracy"]
    half = 1.96 * np.sqrt(0.897 * 0.103 / 156)  # about 0.048
    assert low < 0.897 < high
    assert abs((high - low) / 2 - half) < 0.01


def test_undefined_resamples_are_skipped_and_tiny_sets_get_no_interval():
    assert "auc" not in bootstrap_ci(lambda i: {"auc": None}, 10, rounds=50)
    assert ci_section(lambda i: {"a": 1.0}, 1) == {}
    assert set(ci_section(lambda i: {"a": 1.0}, 5)) == {"ci95", "bootstrap"}


def test_ece_of_a_calibrated_and_an_overconfident_classifier():
    y = np.array([0, 0, 0, 1])
    probs = np.tile([0.75, 0.25], (4, 1))  # confidence 0.75, accuracy 0.75
    assert reliability(y, probs)["ece"] < 1e-9
    overconfident = np.tile([0.99, 0.01], (4, 1))
    assert abs(reliability(y, overconfident)["ece"] - 0.24) < 1e-9
