"""FID, KID and the class report of samples: zero for a distribution against itself, growing
with the distance, and a histogram entropy that exposes mode collapse."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cnnkit.tasks.sample_metrics import class_report, frechet_distance, kernel_distance


@pytest.fixture(scope="module")
def features():
    rng = np.random.default_rng(0)
    return rng.standard_normal((2000, 8)), rng.standard_normal((2000, 8))


def test_fid_is_near_zero_for_the_same_distribution_and_grows_with_a_shift(features):
    a, b = features
    assert frechet_distance(a, b) < 0.1
    # Gaussians with equal covariance: FID is the squared distance of the means
    assert frechet_distance(a, b + 2.0) == pytest.approx(8 * 4.0, rel=0.05)


def test_kid_is_unbiased_near_zero_and_positive_for_different_samples(features):
    a, b = features
    assert abs(kernel_distance(a, b)) < 0.01
    assert kernel_distance(a, b * 3.0) > 1.0


def test_class_report_sees_collapse_and_agreement():
    uniform = np.eye(10)[np.arange(1000) % 10] * 0.9 + 0.01
    report = class_report(uniform, requested=np.arange(1000) % 10)
    assert report["class_entropy"] == pytest.approx(math.log(10))
    assert report["confident_fraction"] == 1.0 and report["class_agreement"] == 1.0
    collapsed = class_report(np.tile([0.5, 0.5] + [0.0] * 8, (100, 1)), requested=None)
    assert collapsed["class_histogram"][0] == 100 and collapsed["class_entropy"] == 0.0
    assert collapsed["confident_fraction"] == 0.0 and "class_agreement" not in collapsed


def test_fid_of_features_with_a_dead_unit_is_finite_and_quiet():
    import warnings

    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(200, 8)), rng.normal(0.5, 1.0, size=(200, 8))
    real[:, 3] = fake[:, 3] = 0.0  # a ReLU unit that never fires: singular covariances
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isfinite(frechet_distance(real, fake)) and frechet_distance(real, fake) > 0
